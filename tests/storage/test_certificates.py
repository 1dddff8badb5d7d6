"""Certificates storage on both backends (storage/certificates.py), as services/certificates.py
uses it: numbers are handed out once per prefix, without gaps, also to replicas numbering at
once; a certificate is found by its issuing country, number and side, and a number is stored once
per side (a resent certificate keeps the first); a status change keeps what it does not change;
the history reads back in order; listings filter and put the newest first; replicas changing one
certificate take turns."""

from __future__ import annotations

import asyncio
from typing import Any

from core.outbox_status import Event
from storage.certificates import CertificateRow
from storage.database import Database
from storage.engine import Tx
from storage.outbox import Change
from tests.storage.conftest import SecondReplicaWaits, abandoned
from tests.storage.test_outbox import LEASE_MS, message, queue

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"
OTHER = "91310000MA1FL8TQ3B"
NUMBER = "RCEP-CN-GD-2027-000001"


def certificate(number: str = NUMBER, *, side: str = "issued", **kw: Any) -> CertificateRow:
    values: dict[str, Any] = {
        "issuing_country": "CN",
        "number": number,
        "side": side,
        "kind": "origin",
        "status": "pending_delivery",
        "certificate": b"\x0a\x16" + number.encode() + b"\x00\xff",
        "envelope": None if side == "issued" else b"envelope of " + number.encode(),
        "exporter_uscc": USCC,
        "issuing_body": "ccpit",
        "importing_country": "SG",
        "message_id": f"msg-{number}",
        "replaced_by": "",
        "import_declaration": "",
    }
    values.update(kw)
    return CertificateRow(**values)


async def store(db: Database, *rows: CertificateRow, now_ms: int = NOW) -> list[bool]:
    async with db.transaction() as tx:
        return [await db.certificates.insert_txn(tx, r, now_ms) for r in rows]


async def history(
    db: Database, number: str = NUMBER, side: str = "issued"
) -> list[tuple[str, ...]]:
    return [
        (e["status"], e["actor"], e["node"], e["note"])
        for e in await db.certificates.events("CN", number, side)
    ]


async def add_event(
    db: Database, status: str, *, number: str = NUMBER, side: str = "issued", at_ms: int = NOW
) -> None:
    async with db.transaction() as tx:
        await db.certificates.add_event_txn(
            tx,
            "CN",
            number,
            side,
            status=status,
            actor="ccpit/li",
            node="CN-GD",
            note="",
            at_ms=at_ms,
        )


# -- numbers ---------------------------------------------------------------------------------


async def next_number(db: Database, prefix: str) -> int:
    async with db.transaction() as tx:
        return await db.certificates.next_number_txn(tx, prefix)


async def test_numbers_count_per_prefix_and_an_abandoned_issue_leaves_no_gap(
    db: Database,
) -> None:
    assert [await next_number(db, "RCEP-CN-GD-2027") for _ in range(3)] == [1, 2, 3]
    assert await next_number(db, "EPHYTO-CN-GD-2027") == 1
    assert await next_number(db, "RCEP-CN-GD-2028") == 1

    async def number(tx: Tx) -> None:
        assert await db.certificates.next_number_txn(tx, "RCEP-CN-GD-2027") == 4

    await abandoned(db, number)
    assert await next_number(db, "RCEP-CN-GD-2027") == 4


async def test_replicas_numbering_at_once_never_hand_out_a_number_twice(
    db: Database, other_db: Database
) -> None:
    got = await asyncio.gather(
        *(next_number(replica, "CO-CN-GD-2027") for _ in range(10) for replica in (db, other_db))
    )
    assert sorted(got) == list(range(1, 21))


# -- certificates by number ------------------------------------------------------------------


async def test_a_certificate_reads_back_by_country_number_and_side(db: Database) -> None:
    issued = certificate()
    received = certificate(side="received", status="delivered", issuing_body="sg-customs")
    assert await store(db, issued, received) == [True, True]
    assert await db.certificates.get("CN", NUMBER, "issued") == issued
    assert await db.certificates.get("CN", NUMBER, "received") == received
    assert await db.certificates.get("SG", NUMBER, "issued") is None
    assert await db.certificates.get("CN", "RCEP-CN-GD-2027-000002", "issued") is None
    async with db.transaction() as tx:
        assert await db.certificates.lock_txn(tx, "CN", NUMBER, "received") == received
        assert await db.certificates.lock_txn(tx, "CN", "nope", "received") is None


async def test_a_number_is_stored_once_per_side_and_the_first_stands(db: Database) -> None:
    first = certificate(side="received", status="delivered")
    assert await store(db, first) == [True]
    # The same certificate resent (or a forgery reusing its number): refused, nothing changes.
    again = certificate(
        side="received", status="rejected", certificate=b"other", envelope=b"other envelope"
    )
    assert await store(db, again, now_ms=NOW + 5) == [False]
    assert await db.certificates.get("CN", NUMBER, "received") == first
    # Another country's certificate with the same number is another certificate.
    assert await store(db, certificate(side="received", issuing_country="SG")) == [True]


async def test_a_status_change_keeps_what_it_does_not_change(db: Database) -> None:
    await store(db, certificate(side="received", status="delivered"))
    async with db.transaction() as tx:
        await db.certificates.set_status_txn(
            tx, "CN", NUMBER, "received", "used", NOW + 1, import_declaration="decl-1"
        )
    used = await db.certificates.get("CN", NUMBER, "received")
    assert used is not None
    assert (used.status, used.import_declaration, used.replaced_by) == ("used", "decl-1", "")
    async with db.transaction() as tx:
        await db.certificates.set_status_txn(
            tx, "CN", NUMBER, "received", "replaced", NOW + 2, replaced_by="RCEP-CN-GD-2027-000002"
        )
    replaced = await db.certificates.get("CN", NUMBER, "received")
    assert replaced is not None
    assert (replaced.status, replaced.import_declaration, replaced.replaced_by) == (
        "replaced",
        "decl-1",
        "RCEP-CN-GD-2027-000002",
    )
    assert replaced.certificate == certificate(side="received").certificate
    # The issued side of the same number is untouched.
    assert await db.certificates.get("CN", NUMBER, "issued") is None


async def test_a_status_change_and_its_history_commit_together_or_not_at_all(
    db: Database,
) -> None:
    await store(db, certificate())
    await add_event(db, "issued")

    async def deliver(tx: Tx) -> None:
        await db.certificates.set_status_txn(tx, "CN", NUMBER, "issued", "delivered", NOW + 1)
        await db.certificates.add_event_txn(
            tx,
            "CN",
            NUMBER,
            "issued",
            status="delivered",
            actor="node",
            node="CN-GD",
            note="end-to-end receipt from SG",
            at_ms=NOW + 1,
        )

    await abandoned(db, deliver)
    row = await db.certificates.get("CN", NUMBER, "issued")
    assert row is not None and row.status == "pending_delivery"
    assert [h[0] for h in await history(db)] == ["issued"]
    async with db.transaction() as tx:
        await deliver(tx)
    row = await db.certificates.get("CN", NUMBER, "issued")
    assert row is not None and row.status == "delivered"
    assert await history(db) == [
        ("issued", "ccpit/li", "CN-GD", ""),
        ("delivered", "node", "CN-GD", "end-to-end receipt from SG"),
    ]


async def test_history_reads_back_in_order_for_one_certificate_and_side(db: Database) -> None:
    await store(db, certificate(), certificate(side="received"), certificate("CO-CN-GD-2027-1"))
    for n, status in enumerate(["issued", "delivered", "accepted", "used"]):
        await add_event(db, status, at_ms=NOW + n)
    await add_event(db, "delivered", side="received")
    await add_event(db, "issued", number="CO-CN-GD-2027-1")
    events = await db.certificates.events("CN", NUMBER, "issued")
    assert [e["status"] for e in events] == ["issued", "delivered", "accepted", "used"]
    assert [e["at_unix_ms"] for e in events] == [NOW, NOW + 1, NOW + 2, NOW + 3]
    assert [h[0] for h in await history(db, side="received")] == ["delivered"]
    assert await db.certificates.events("SG", NUMBER, "issued") == []


# -- listings --------------------------------------------------------------------------------


async def test_settled_are_pending_certificates_whose_message_was_delivered_or_died(
    db: Database,
) -> None:
    """What the certificates service moves on: pending ones whose message has an outcome,
    however many others still wait for a window that is down."""
    waiting = [certificate(f"w{n}", message_id=f"m-{n:04d}") for n in range(1, 6)]
    done = certificate("d1", message_id="m-0006")
    died = certificate("x1", message_id="m-0007")
    already = certificate("a1", message_id="m-0008", status="delivered")
    await store(db, *waiting, now_ms=NOW)
    await store(db, done, died, already, now_ms=NOW + 1)
    await queue(db, [message(n) for n in range(1, 9)])
    await db.outbox.claim("CN-SH", "r1", NOW, 8, LEASE_MS)
    await db.outbox.transition(
        Event.DELIVERY_RECEIPT, [Change("m-0006"), Change("m-0008")], NOW + 2
    )
    await db.outbox.transition(
        Event.PERMANENT_FAILURE, [Change("m-0007", "SG refused: too large")], NOW + 2
    )
    settled = await db.certificates.settled(limit=2)
    assert [(s.row.number, s.outcome, s.error) for s in settled] == [
        ("d1", "delivered", ""),
        ("x1", "dead", "SG refused: too large"),
    ]
    assert await db.certificates.settled(limit=1) == settled[:1]


async def test_listings_filter_by_side_exporter_body_and_status_newest_first(
    db: Database,
) -> None:
    await store(db, certificate("n1"), now_ms=NOW)
    await store(db, certificate("n2", exporter_uscc=OTHER, status="delivered"), now_ms=NOW + 1)
    await store(db, certificate("n3", issuing_body="ciq"), now_ms=NOW + 2)
    await store(db, certificate("n4", status="delivered"), now_ms=NOW + 3)
    await store(db, certificate("r1", side="received", issuing_body="sg-customs"), now_ms=NOW + 4)

    async def numbers(
        side: str = "issued",
        *,
        exporter: str | None = None,
        body: str | None = None,
        status: str = "",
        limit: int = 100,
    ) -> list[str]:
        rows = await db.certificates.listing(
            side=side, exporter_uscc=exporter, issuing_body=body, status=status, limit=limit
        )
        return [r.number for r in rows]

    assert await numbers() == ["n4", "n3", "n2", "n1"]
    assert await numbers(exporter=USCC) == ["n4", "n3", "n1"]
    assert await numbers(body="ccpit") == ["n4", "n2", "n1"]
    assert await numbers(body="ccpit", status="delivered") == ["n4", "n2"]
    assert await numbers(exporter=USCC, status="delivered", limit=1) == ["n4"]
    assert await numbers(exporter=USCC, limit=2) == ["n4", "n3"]
    assert await numbers("received") == ["r1"]
    assert await numbers("received", status="delivered") == []
    assert await numbers(exporter="nobody") == []


# -- replicas take turns ---------------------------------------------------------------------


async def test_a_second_replica_changing_a_certificate_waits_for_the_first(
    db: Database, second_replica_waits: SecondReplicaWaits
) -> None:
    """A cancellation and a delivery at once on two replicas: the second sees the first's."""
    await store(db, certificate())

    async def lock(on: Database, tx: Tx) -> CertificateRow | None:
        return await on.certificates.lock_txn(tx, "CN", NUMBER, "issued")

    async def cancel(on: Database, tx: Tx) -> None:
        await on.certificates.set_status_txn(tx, "CN", NUMBER, "issued", "cancelled", NOW + 1)

    seen = await second_replica_waits(lock, cancel)
    assert seen is not None and seen.status == "cancelled"
