"""The operator console's audit log (migration 0012): appended to, read newest first, exported."""

from __future__ import annotations

from core.audit import AuditRecord
from storage.engine import Engine, Row

__all__ = ["AuditStore"]


def _record(row: Row) -> AuditRecord:
    return AuditRecord(
        at_unix_ms=row["at_unix_ms"],
        operator=row["operator"],
        action=row["action"],
        object=row["object"],
        outcome=row["outcome"],
        detail=row["detail"],
    )


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def append(self, record: AuditRecord) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (at_unix_ms, operator, action, object, outcome, detail)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            record.at_unix_ms,
            record.operator,
            record.action,
            record.object,
            record.outcome,
            record.detail,
        )

    async def latest(self, limit: int) -> list[AuditRecord]:
        rows = await self._db.fetch("SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1", limit)
        return [_record(r) for r in rows]

    async def all(self) -> list[AuditRecord]:
        """Oldest first, as an export reads."""
        rows = await self._db.fetch("SELECT * FROM audit_log ORDER BY seq")
        return [_record(r) for r in rows]
