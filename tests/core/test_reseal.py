"""The rule for sealing an undelivered message again with the current key (core.reseal)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core import reseal
from core.key_lifetimes import Lifetime
from core.reseal import Candidate, Decision, refusal_reason, should_reseal

NOW = 1_800_000_000_000
RETIRED = Lifetime(retired_at=NOW - 1)
VALID = Lifetime(not_before=NOW - 10)
ROW = Candidate("CN-GD", "failed", "CN-SH unreachable [peer.unreachable]", NOW + 60_000, "old")


def decide(row: Candidate, *, current: Lifetime | None = VALID, sealed: Lifetime | None = RETIRED,
           key: str = "new") -> bool:  # fmt: skip
    return should_reseal(
        row, self_id="CN-GD", current_key_id=key, current=current, sealed=sealed, now_ms=NOW
    )


def test_a_waiting_message_sealed_with_a_retired_key_is_sealed_again() -> None:
    assert decide(ROW)
    assert decide(replace(ROW, status="queued"))


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (replace(ROW, origin="CN-ZJ"), "relayed: its origin's to reseal"),
        (replace(ROW, status="sent"), "in flight: its ack decides"),
        (replace(ROW, status="delivered"), "delivered"),
        (replace(ROW, status="dead", last_error="refused [envelope.bad_type]"), "dead otherwise"),
        (replace(ROW, expires_at_unix_ms=NOW), "expired"),
        (replace(ROW, sealed_key_id="new"), "sealed with the current key"),
    ],
)
def test_what_is_left_as_it_is(row: Candidate, why: str) -> None:
    assert not decide(row), why


def test_the_keys_decide() -> None:
    assert not decide(ROW, sealed=VALID)  # the sealing key still verifies (an overlap)
    assert not decide(ROW, current=None)  # the directory does not list the current key yet
    assert not decide(ROW, current=RETIRED)  # a replica still on a retired key
    # A peer said the sealing key is retired, before this node's directory did.
    refused = replace(ROW, status="dead", last_error="CN-SH refused: retired [key.retired]")
    assert decide(refused, sealed=VALID)
    assert decide(refused, sealed=None)


def test_the_reason_is_read_from_the_end_of_the_error() -> None:
    assert refusal_reason("CN-SH refused: the key was retired [key.retired]") == "key.retired"
    assert refusal_reason("bad receipt from CN-SH: [x] unknown") == ""
    assert refusal_reason("") == ""


def test_a_message_in_flight_is_looked_at_again() -> None:
    def judged(row: Candidate) -> Decision:
        return reseal.decide(
            row, self_id="CN-GD", current_key_id="new", current=VALID, sealed=RETIRED, now_ms=NOW
        )

    assert judged(ROW) is Decision.RESEAL
    assert judged(replace(ROW, status="sent")) is Decision.LATER
    assert judged(replace(ROW, status="sent", sealed_key_id="new")) is Decision.KEEP
    assert judged(replace(ROW, status="acknowledged")) is Decision.KEEP
