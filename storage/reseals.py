"""Sealing an outgoing message again with the node's current key (core.reseal): the rows that
may need it, and the swap of envelope, the one it replaces kept with the earlier versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.outbox_status import Event, Status, from_states, target
from core.reseal import RETIRED
from storage.engine import OUTBOX_CHANNEL, Engine, Tx
from storage.status_sql import literal

__all__ = ["ResealRow", "ResealStore"]

# Waiting, and in flight (looked at again once its attempt ends: core.reseal.waits_in_flight).
_WAITING = f"{literal(Status.QUEUED)}, {literal(Status.FAILED)}, {literal(Status.SENT)}"
_DEAD = literal(Status.DEAD)


@dataclass(frozen=True)
class ResealRow:
    seq: int
    message_id: str
    next_hop: str
    status: str
    last_error: str
    expires_at_unix_ms: int
    envelope: bytes
    header_sha256: bytes


class ResealStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def candidates(
        self,
        origin: str,
        now_ms: int,
        *,
        after_seq: int = 0,
        limit: int = 500,
        message_ids: Sequence[str] | None = None,
    ) -> list[ResealRow]:
        """`origin`'s messages not expired that are waiting or in flight, or dead as refused for
        a retired key, oldest first from after `after_seq`, at most `limit`; only `message_ids`
        if given."""
        only = ""
        if message_ids is not None:
            if not message_ids:
                return []
            marks = ", ".join(f"${i}" for i in range(6, 6 + len(message_ids)))
            only = f" AND message_id IN ({marks})"
        rows = await self._db.fetch(
            "SELECT seq, message_id, next_hop, status, last_error, expires_at_unix_ms, envelope,"
            " header_sha256 FROM outbox WHERE origin = $1 AND expires_at_unix_ms > $2"
            f" AND (status IN ({_WAITING}) OR (status = {_DEAD} AND last_error LIKE $3))"
            f" AND seq > $4{only} ORDER BY seq LIMIT $5",
            origin,
            now_ms,
            f"%[{RETIRED}]",
            after_seq,
            limit,
            *(message_ids or ()),
        )
        return [
            ResealRow(
                int(r["seq"]),
                r["message_id"],
                r["next_hop"],
                r["status"],
                r["last_error"] or "",
                int(r["expires_at_unix_ms"]),
                bytes(r["envelope"]),
                bytes(r["header_sha256"]),
            )
            for r in rows
        ]

    async def reseal_txn(
        self,
        tx: Tx,
        message_id: str,
        was_sha256: bytes,
        envelope: bytes,
        header_sha256: bytes,
        now_ms: int,
    ) -> bool:
        """Replace the envelope whose header hash is `was_sha256` (so that a replica or a
        redrive that got there first wins) and queue the message at once; False if it moved."""
        sources = from_states(Event.RESEAL)
        marks = ", ".join(f"${i}" for i in range(4, 4 + len(sources)))
        await tx.execute(
            "INSERT INTO outbox_versions (message_id, header_sha256, envelope, replaced_at_unix_ms)"
            " SELECT message_id, header_sha256, envelope, $3 FROM outbox"
            f" WHERE message_id = $1 AND header_sha256 = $2 AND status IN ({marks})"
            " ON CONFLICT (message_id, header_sha256) DO NOTHING",
            message_id,
            was_sha256,
            now_ms,
            *sources,
        )
        marks = ", ".join(f"${i}" for i in range(7, 7 + len(sources)))
        changed = await tx.execute(
            "UPDATE outbox SET envelope = $3, header_sha256 = $4, status = $5,"
            " next_attempt_at_unix_ms = 0, updated_at_unix_ms = $6, last_error = NULL,"
            " claimed_by = NULL"
            f" WHERE message_id = $1 AND header_sha256 = $2 AND status IN ({marks})",
            message_id,
            was_sha256,
            envelope,
            header_sha256,
            target(Event.RESEAL).value,
            now_ms,
            *sources,
        )
        if tx.dialect == "postgresql":
            await tx.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
        return changed == 1
