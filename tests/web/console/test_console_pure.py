"""The console's pure parts: TOTP windows and replay, audit records and their export."""

from __future__ import annotations

import json

import pyotp
import pytest

from core.audit import audit_record, json_line
from core.errors import InvalidArgument
from identity.operators import validate_operator_name
from identity.totp import STEP_S, accepted_step, new_secret, provisioning_uri

NOW_S = 1_780_000_000.0


def code_at(secret: str, t: float) -> str:
    return pyotp.TOTP(secret).at(t)


def test_the_current_code_is_accepted_and_names_its_step() -> None:
    secret = new_secret()
    assert accepted_step(secret, code_at(secret, NOW_S), now_s=NOW_S, last_step=0) == int(
        NOW_S // STEP_S
    )


def test_one_step_either_side_is_accepted_two_are_not() -> None:
    secret = new_secret()
    for offset, ok in ((-2, False), (-1, True), (1, True), (2, False)):
        code = code_at(secret, NOW_S + offset * STEP_S)
        assert (accepted_step(secret, code, now_s=NOW_S, last_step=0) is not None) is ok, offset


def test_a_code_is_good_once() -> None:
    secret = new_secret()
    code = code_at(secret, NOW_S)
    step = accepted_step(secret, code, now_s=NOW_S, last_step=0)
    assert step is not None
    assert accepted_step(secret, code, now_s=NOW_S, last_step=step) is None
    # nor is the previous step's, once a later one was used
    earlier = code_at(secret, NOW_S - STEP_S)
    assert accepted_step(secret, earlier, now_s=NOW_S, last_step=step) is None


def test_malformed_and_wrong_codes_are_refused() -> None:
    secret = new_secret()
    right = code_at(secret, NOW_S)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for code in ("", "12345", "1234567", "abcdef", wrong):
        assert accepted_step(secret, code, now_s=NOW_S, last_step=0) is None
    assert accepted_step(secret, f" {right[:3]} {right[3:]} ", now_s=NOW_S, last_step=0)


def test_the_enrolment_uri_is_what_an_authenticator_reads() -> None:
    secret = new_secret()
    uri = provisioning_uri(secret, node_id="CN-GD", username="alice")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri and "alice%40CN-GD" in uri
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP) and parsed.now() == pyotp.TOTP(secret).now()


def test_operator_names_follow_the_rule() -> None:
    assert validate_operator_name("alice.ops") == "alice.ops"
    for bad in ("", "Alice", "1st", "a b", "x" * 65):
        with pytest.raises(InvalidArgument) as exc:
            validate_operator_name(bad)
        assert exc.value.reason == "operator.bad_name" and exc.value.field == "user"


def test_an_audit_record_names_who_what_which_and_how() -> None:
    record = audit_record(
        at_unix_ms=1_780_000_000_123,
        operator="alice",
        action="message.redrive",
        obj="m-1",
        outcome="ok",
        detail="was dead",
    )
    line = json_line(record)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {
        "at": "2026-05-28T20:26:40Z",
        "at_unix_ms": 1_780_000_000_123,
        "operator": "alice",
        "action": "message.redrive",
        "object": "m-1",
        "outcome": "ok",
        "detail": "was dead",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"action": "message.delete"}, "audit.bad_action"),
        ({"outcome": "maybe"}, "audit.bad_outcome"),
        ({"operator": ""}, "audit.no_operator"),
        ({"at_unix_ms": 0}, "audit.bad_time"),
    ],
)
def test_a_bad_audit_record_is_refused(change: dict[str, object], reason: str) -> None:
    fields: dict[str, object] = {
        "at_unix_ms": 1,
        "operator": "alice",
        "action": "login",
        "obj": "alice",
        "outcome": "ok",
    }
    with pytest.raises(InvalidArgument) as exc:
        audit_record(**{**fields, **change})  # type: ignore[arg-type]
    assert exc.value.reason == reason


def test_a_long_detail_is_cut() -> None:
    record = audit_record(
        at_unix_ms=1, operator="a", action="login", obj="a", outcome="failed", detail="x" * 2000
    )
    assert len(record.detail) == 500


def test_bars_share_the_width_and_the_tallest_reaches_the_top() -> None:
    from node.web.console.charts import BASELINE, bars

    drawn = bars([("a", 1.0), ("b", 4.0), ("c", 0.0)], width=300, top=20)
    assert [b.label for b in drawn] == ["a", "b", "c"]
    assert [b.x for b in drawn] == [15.0, 115.0, 215.0] and {b.width for b in drawn} == {70.0}
    tallest = drawn[1]
    assert tallest.y == 20 and tallest.y + tallest.height == BASELINE
    assert drawn[0].height == (BASELINE - 20) / 4 and drawn[2].height == 0
    assert bars([]) == []
    assert {b.height for b in bars([("x", 0.0), ("y", 0.0)])} == {0.0}
