"""Finding messages for the operator console: the outbox (sent and relayed) and the inbox,
filtered by id, conversation, document type, peer (next or previous hop) and status."""

from __future__ import annotations

from dataclasses import dataclass

from storage.engine import Engine
from storage.outbox import MessageRecord

__all__ = ["MessageQuery", "MessageSearch"]


@dataclass(frozen=True)
class MessageQuery:
    message_id: str = ""
    conversation_id: str = ""
    document_type: str = ""
    peer: str = ""
    status: str = ""
    limit: int = 50


def _where(query: MessageQuery, peer_column: str) -> tuple[str, list[object]]:
    wanted = [
        ("message_id", query.message_id),
        ("conversation_id", query.conversation_id),
        ("document_type", query.document_type),
        (peer_column, query.peer),
        ("status", query.status),
    ]
    clauses: list[str] = []
    args: list[object] = []
    for column, value in wanted:
        if value:
            args.append(value)
            clauses.append(f"{column} = ${len(args) + 1}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


class MessageSearch:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def find(self, self_id: str, query: MessageQuery) -> list[MessageRecord]:
        """Newest first, at most `query.limit` of each table's."""
        where, args = _where(query, "next_hop")
        out = await self._db.fetch(
            f"SELECT * FROM outbox{where} ORDER BY seq DESC LIMIT $1", query.limit, *args
        )
        records = [
            MessageRecord(
                direction="out" if r["origin"] == self_id else "relay",
                message_id=r["message_id"],
                conversation_id=r["conversation_id"],
                origin=r["origin"],
                recipient=r["recipient"],
                peer=r["next_hop"],
                document_type=r["document_type"],
                status=r["status"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                created_at_unix_ms=r["created_at_unix_ms"],
                updated_at_unix_ms=r["updated_at_unix_ms"],
                sent_by=r["sent_by"],
                payload_size=r["payload_size"],
            )
            for r in out
        ]
        where, args = _where(query, "previous_hop")
        inbound = await self._db.fetch(
            f"SELECT * FROM inbox{where} ORDER BY seq DESC LIMIT $1", query.limit, *args
        )
        records += [
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
            )
            for r in inbound
        ]
        records.sort(key=lambda r: r.created_at_unix_ms, reverse=True)
        return records[: query.limit]

    async def traffic_by_day(self, since_ms: int) -> list[tuple[int, str, int]]:
        """(day number since the epoch, 'out' or 'in', messages) since `since_ms`."""
        out = await self._db.fetch(
            "SELECT created_at_unix_ms / 86400000 AS day, COUNT(*) AS n FROM outbox"
            " WHERE created_at_unix_ms >= $1 GROUP BY created_at_unix_ms / 86400000",
            since_ms,
        )
        inbound = await self._db.fetch(
            "SELECT received_at_unix_ms / 86400000 AS day, COUNT(*) AS n FROM inbox"
            " WHERE received_at_unix_ms >= $1 GROUP BY received_at_unix_ms / 86400000",
            since_ms,
        )
        return [(int(r["day"]), "out", int(r["n"])) for r in out] + [
            (int(r["day"]), "in", int(r["n"])) for r in inbound
        ]
