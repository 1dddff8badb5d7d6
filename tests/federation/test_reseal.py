"""Undelivered messages sealed with a key retired since are sealed again with the current one,
under the same id, on real storage of either backend (federation/reseal.py): at start, after a
key switch, and when a peer refuses one for a retired key; the rest of the outbox stays as it
was."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core import algorithms
from core.envelope import Draft
from core.outbox_status import Event
from core.signer import Signer
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from federation.delivery import Answered
from federation.outbox import Outbox, OutboxSettings
from federation.reseal import Resealer
from storage.database import Database
from storage.outbox import Change
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from tests.factories import NOW_MS, Federation


@dataclass
class Running:
    """What the resealer reads of a node: its signer, trust view and clock."""

    signer: Signer
    trust: TrustView
    clock_ms: Callable[[], int] = lambda: NOW_MS


@dataclass
class Woken:
    """Delivery queues as the resealer sees them: the hops it woke."""

    hops: list[str] = field(default_factory=list)
    listeners: list[Callable[[Answered], None]] = field(default_factory=list)

    def notify(self, peer: str) -> None:
        self.hops.append(peer)


@dataclass
class Setup:
    db: Database
    old: Signer
    new: Signer
    trust: TrustView
    outbox: Outbox


@pytest.fixture
async def setup(engine_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    cn = Federation("CN", ["CN-GD", "CN-SH"])
    old = Signer.of("CN-GD", cn.members["CN-GD"].signing_key)
    new = Signer.of("CN-GD", algorithms.generate(cn.profile.key_algorithm))
    directory = cn.directory()
    (entry,) = [n for n in directory.nodes if n.id == "CN-GD"]
    entry.signing_keys[0].retired_at_unix_ms = NOW_MS - 1  # retired at once (`--now`)
    entry.signing_keys.append(
        dpb.PublicKey(
            key_id=key_id("CN-GD", PURPOSE_SIGNING, raw_public(new.key)),
            public_key=raw_public(new.key),
            not_before_unix_ms=NOW_MS - 1,
        )
    )
    trust = TrustView.build("CN-GD", directory)
    db = await Database.open(engine_url, base_dir=tmp_path)
    outbox = Outbox(
        node_id="CN-GD",
        db=db,
        signer=old,
        trust=lambda: trust,
        clock_ms=lambda: NOW_MS - 1000,  # sealed before the retirement
        settings=OutboxSettings(max_message_bytes=1 << 20),
    )
    yield Setup(db, old, new, trust, outbox)
    await db.close()


async def sealed_key(db: Database, message_id: str) -> tuple[str, str]:
    row = await db.outbox.envelope(message_id)
    assert row is not None
    env = pb.Envelope.FromString(bytes(row["envelope"]))
    assert pb.Header.FromString(env.header).message_id == message_id
    return env.signature.key_id, str(row["status"])


async def test_waiting_messages_are_sealed_again_once(setup: Setup) -> None:
    # More than a page of them (federation/reseal.py reads 200 at a time).
    ids = await setup.outbox.submit([Draft("CN-SH", "swnode.test.note", b"n") for _ in range(450)])
    woken = Woken()
    resealer = Resealer("CN-GD", setup.db, Running(setup.new, setup.trust), woken)
    assert await resealer.reseal() == 450
    for message_id in ids:
        assert await sealed_key(setup.db, message_id) == (setup.new.key_id, "queued")
        # The envelope it replaced is kept, so that a receipt for it still counts.
        assert len(await setup.db.outbox.versions(message_id)) == 1
    assert woken.hops == ["CN-SH"]
    assert await resealer.reseal() == 0  # nothing left sealed with the retired key

    # A replica still on the retired key seals nothing again.
    more = await setup.outbox.submit([Draft("CN-SH", "swnode.test.note", b"m")])
    behind = Resealer("CN-GD", setup.db, Running(setup.old, setup.trust), Woken())
    assert await behind.reseal() == 0
    assert await sealed_key(setup.db, more[0]) == (setup.old.key_id, "queued")


async def test_a_message_refused_for_a_retired_key_is_queued_again(setup: Setup) -> None:
    retired, other = await setup.outbox.submit(
        [Draft("CN-SH", "swnode.test.note", b"r"), Draft("CN-SH", "swnode.test.note", b"o")]
    )
    async with setup.db.transaction() as tx:  # both sent, then refused for good
        await setup.db.outbox.transition_txn(
            tx, Event.CLAIM, [Change(retired), Change(other)], NOW_MS
        )
    await setup.db.outbox.transition(
        Event.PERMANENT_FAILURE,
        [
            Change(retired, "CN-SH refused: the key was retired [key.retired]"),
            Change(other, "CN-SH refused: not a type it takes [submit.unsupported_type]"),
        ],
        NOW_MS,
    )
    woken = Woken()
    resealer = Resealer("CN-GD", setup.db, Running(setup.new, setup.trust), woken)
    (listener,) = woken.listeners
    listener(Answered(peer="CN-SH", delivered=[], acknowledged=[], failed=[], dead=[retired]))
    assert await resealer.reseal([retired, other]) == 1
    assert await sealed_key(setup.db, retired) == (setup.new.key_id, "queued")
    assert await sealed_key(setup.db, other) == (setup.old.key_id, "dead")
    row = await setup.db.outbox.envelope(retired)
    assert row is not None and row["last_error"] is None


async def test_a_message_in_flight_is_sealed_again_once_its_attempt_fails(setup: Setup) -> None:
    (message_id,) = await setup.outbox.submit([Draft("CN-SH", "swnode.test.note", b"f")])
    async with setup.db.transaction() as tx:  # a connection attempt to a peer that is down
        await setup.db.outbox.transition_txn(tx, Event.CLAIM, [Change(message_id)], NOW_MS)
    resealer = Resealer("CN-GD", setup.db, Running(setup.new, setup.trust), Woken())
    assert await resealer.reseal() == 0
    assert resealer.in_flight == {message_id}
    await setup.db.outbox.transition(
        Event.TRANSIENT_FAILURE, [Change(message_id, "down [peer.unreachable]", NOW_MS)], NOW_MS
    )
    assert await resealer.reseal(sorted(resealer.in_flight)) == 1
    assert resealer.in_flight == set()
    assert await sealed_key(setup.db, message_id) == (setup.new.key_id, "queued")


async def test_nothing_is_sealed_again_before_the_directory_lists_the_new_key(
    setup: Setup,
) -> None:
    (message_id,) = await setup.outbox.submit([Draft("CN-SH", "swnode.test.note", b"u")])
    cn = Federation("CN", ["CN-GD", "CN-SH"])  # a directory that does not list the new key
    running = Running(setup.new, TrustView.build("CN-GD", cn.directory()))
    resealer = Resealer("CN-GD", setup.db, running, Woken())
    assert await resealer.reseal() == 0
    assert await sealed_key(setup.db, message_id) == (setup.old.key_id, "queued")
    running.trust = setup.trust  # the next poll brings it
    assert await resealer.reseal() == 1
