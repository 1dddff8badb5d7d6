"""Messages received: for this node, or passed on toward their recipient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.engine import Engine, Row, Tx
from storage.outbox import MessageRecord

__all__ = ["WAITING_SQL", "InboxRow", "InboxStore"]


@dataclass(frozen=True)
class InboxRow:
    message_id: str
    conversation_id: str
    origin: str
    previous_hop: str
    recipient: str
    document_type: str
    envelope: bytes
    header_sha256: bytes
    payload_size: int
    receipt: bytes
    status: str  # received | relayed | processed
    # W3C traceparent of its receipt here (core/trace_context.py); "" for none.
    traceparent: str = ""


# What the dispatcher runs for each document type a service handles, every time messages arrive:
# it must read only that type's waiting messages (index inbox_waiting_by_type).
WAITING_SQL = (
    "SELECT * FROM inbox WHERE status = 'received' AND seq > $1 AND document_type = $3"
    " ORDER BY seq LIMIT $2"
)


def _in(ids: Sequence[str]) -> str:
    return ", ".join(f"${i}" for i in range(1, len(ids) + 1))


class InboxStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def receipts_for_txn(
        self, tx: Tx, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], bytes]:
        """The receipts already given for any of these (origin, message id)."""
        if not keys:
            return {}
        ids = sorted({m for _, m in keys})
        rows = await tx.fetch(
            f"SELECT origin, message_id, receipt FROM inbox WHERE message_id IN ({_in(ids)})",
            *ids,
        )
        wanted = set(keys)
        return {
            (r["origin"], r["message_id"]): bytes(r["receipt"])
            for r in rows
            if (r["origin"], r["message_id"]) in wanted
        }

    async def insert_txn(self, tx: Tx, rows: Sequence[InboxRow], now_ms: int) -> None:
        await tx.executemany(
            "INSERT INTO inbox (message_id, conversation_id, origin, previous_hop, recipient,"
            " document_type, envelope, header_sha256, payload_size, receipt, status,"
            " received_at_unix_ms, traceparent)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " ON CONFLICT (origin, message_id) DO NOTHING",
            [
                (
                    r.message_id,
                    r.conversation_id,
                    r.origin,
                    r.previous_hop,
                    r.recipient,
                    r.document_type,
                    r.envelope,
                    r.header_sha256,
                    r.payload_size,
                    r.receipt,
                    r.status,
                    now_ms,
                    r.traceparent,
                )
                for r in rows
            ],
        )

    async def get(self, message_id: str, origin: str | None = None) -> Row | None:
        """A received message; the first received, if several origins used this id."""
        if origin is not None:
            return await self._db.fetchrow(
                "SELECT * FROM inbox WHERE origin = $1 AND message_id = $2", origin, message_id
            )
        return await self._db.fetchrow(
            "SELECT * FROM inbox WHERE message_id = $1 ORDER BY seq LIMIT 1", message_id
        )

    async def received(self, document_type: str | None, after_seq: int, limit: int) -> list[Row]:
        """Messages for this node not yet processed, oldest first."""
        if document_type is None:
            return await self._db.fetch(
                "SELECT * FROM inbox WHERE status = 'received' AND seq > $1 ORDER BY seq LIMIT $2",
                after_seq,
                limit,
            )
        return await self._db.fetch(WAITING_SQL, after_seq, limit, document_type)

    async def mark_processed_txn(self, tx: Tx, keys: Sequence[tuple[str, str]]) -> None:
        """Messages, by (origin, message id), that this node has handled."""
        await tx.executemany(
            "UPDATE inbox SET status = 'processed'"
            " WHERE origin = $1 AND message_id = $2 AND status = 'received'",
            list(keys),
        )

    async def list(self, *, status: str | None, limit: int) -> list[MessageRecord]:
        where = "WHERE status = $2" if status else ""
        args: list[object] = [limit] + ([status] if status else [])
        rows = await self._db.fetch(
            f"SELECT * FROM inbox {where} ORDER BY seq DESC LIMIT $1", *args
        )
        return [
            MessageRecord(
                direction="in",
                message_id=r["message_id"],
                conversation_id=r["conversation_id"],
                origin=r["origin"],
                recipient=r["recipient"],
                peer=r["previous_hop"],
                document_type=r["document_type"],
                status=r["status"],
                attempts=0,
                last_error=None,
                created_at_unix_ms=r["received_at_unix_ms"],
                updated_at_unix_ms=r["received_at_unix_ms"],
                sent_by=None,
                payload_size=r["payload_size"],
                traceparent=r["traceparent"],
            )
            for r in rows
        ]

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM inbox"))
