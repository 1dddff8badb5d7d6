"""Submits that arrive while a commit is under way are committed together, and each returns
only once its own envelopes are stored (federation/outbox.py); a commit that fails fails every
submit that was waiting for it, and none of their envelopes is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.envelope import Draft, Limits, verify
from core.signer import Signer
from core.trust import TrustView
from federation.outbox import Outbox, OutboxSettings
from storage.database import Database
from storage.outbox import Claimed
from swf.v1 import envelope_pb2 as pb
from tests.factories import NOW_MS, Federation


@pytest.fixture
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


@pytest.fixture
async def outbox(tmp_path: Path, cn: Federation) -> Outbox:
    trust = TrustView.build("CN-GD", cn.directory())
    db = await Database.open(f"sqlite:///{tmp_path}/node.db", base_dir=tmp_path)
    return Outbox(
        node_id="CN-GD",
        db=db,
        signer=Signer.of("CN-GD", cn.members["CN-GD"].signing_key),
        trust=lambda: trust,
        clock_ms=lambda: NOW_MS + 1,
        settings=OutboxSettings(max_message_bytes=1 << 20),
    )


def note(text: str) -> Draft:
    return Draft("CN-SH", "swnode.test.note", text.encode())


async def test_concurrent_submits_share_transactions_and_each_is_stored(outbox: Outbox) -> None:
    db: Database = outbox._db
    counters = db.engine.counters
    statements, transactions = counters.statements, counters.transactions
    ids = await asyncio.gather(*(outbox.submit([note(f"n{i}")]) for i in range(50)))
    # A few transactions, each one insert, rather than fifty.
    assert counters.statements - statements <= 5
    assert counters.transactions - transactions <= 5
    assert len({i for (i,) in ids}) == 50
    for (message_id,) in ids:
        row = await db.outbox.envelope(message_id)
        assert row is not None and row["status"] == "queued"
    await db.close()


async def test_a_failed_commit_fails_every_submit_waiting_for_it(outbox: Outbox) -> None:
    db: Database = outbox._db
    await db.close()  # the database is gone: the commit cannot happen
    results = await asyncio.gather(
        *(outbox.submit([note(f"n{i}")]) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, Exception) for r in results), results


async def test_the_drafts_of_a_group_commit_share_one_signature_and_each_verifies_alone(
    outbox: Outbox, cn: Federation
) -> None:
    db: Database = outbox._db
    ids = await asyncio.gather(*(outbox.submit([note(f"n{i}")]) for i in range(20)))
    envelopes = []
    for (message_id,) in ids:
        row = await db.outbox.envelope(message_id)
        assert row is not None
        envelopes.append(pb.Envelope.FromString(bytes(row["envelope"])))
    # The first submit is sealed alone; those that waited for its commit, together.
    assert len({e.signature.signature for e in envelopes}) < len(envelopes)
    assert max(e.signature.leaf_count for e in envelopes) > 1
    at_sh = TrustView.build("CN-SH", cn.directory())
    limits = Limits(max_message_bytes=1 << 20, clock_skew_ms=60_000)
    texts = set()
    for e in envelopes:  # no cache: each envelope verifies on its own
        accepted = verify(
            e, trust=at_sh, self_id="CN-SH", previous_hop="CN-GD", now_ms=NOW_MS + 2, limits=limits
        )
        texts.add(accepted.envelope.payload)
    assert texts == {f"n{i}".encode() for i in range(20)}
    await db.close()


class Stream:
    """Delivery as the outbox sees it (federation.outbox.Handover): one open stream to CN-SH
    with room for `room` messages, which takes them, or has closed by the time they are stored."""

    replica = "r1"
    lease_ms = 60_000

    def __init__(self, room: int, *, open_: bool = True) -> None:
        self.room, self.open = room, open_
        self.taken: list[str] = []

    def notify(self, peer: str) -> None:
        pass

    def room_to_take(self, peer: str) -> int:
        return self.room - len(self.taken) if peer == "CN-SH" else 0

    def take(self, peer: str, claimed: list[Claimed]) -> bool:
        if self.open:
            self.taken += [c.message_id for c in claimed]
        return self.open


async def test_an_open_stream_takes_what_fits_already_claimed_and_the_rest_is_queued(
    outbox: Outbox,
) -> None:
    db: Database = outbox._db
    stream = outbox.handover = Stream(3)
    ids = [
        mid for (mid,) in await asyncio.gather(*(outbox.submit([note(f"n{i}")]) for i in range(5)))
    ]
    taken = set(stream.taken)
    assert len(taken) == 3 and taken < set(ids)
    for mid in ids:
        row = await db.outbox.envelope(mid)
        assert row is not None
        if mid in taken:  # held for the stream as a claim would hold it
            assert (row["status"], row["claimed_by"], row["attempts"]) == ("sent", "r1", 1)
        else:
            assert row["status"] == "queued"
    # Another replica's claim gets only what no stream holds.
    claimed = await db.outbox.claim("CN-SH", "r2", NOW_MS + 2, 10, 60_000)
    assert {c.message_id for c in claimed} == set(ids) - taken
    await db.close()


async def test_what_a_stream_closed_meanwhile_did_not_take_is_due_again(outbox: Outbox) -> None:
    db: Database = outbox._db
    outbox.handover = Stream(10, open_=False)
    ids = [
        mid for (mid,) in await asyncio.gather(*(outbox.submit([note(f"n{i}")]) for i in range(4)))
    ]
    claimed = await db.outbox.claim("CN-SH", "r2", NOW_MS + 2, 10, 60_000)
    assert sorted(c.message_id for c in claimed) == sorted(ids)
    await db.close()
