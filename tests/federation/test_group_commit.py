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
