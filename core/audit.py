"""An operator action as the audit log keeps it: who, when, what, on which object, and how it
ended. Pure: the console builds a record from what it was handed (the clock's reading
included) and storage/audit.py appends it; the export is one JSON object per line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import InvalidArgument

__all__ = ["ACTIONS", "OUTCOMES", "AuditRecord", "audit_record", "json_line"]

# Every action the console takes, by a stable name (docs/OPERATIONS.md lists them).
ACTIONS = frozenset(
    {
        "login",
        "logout",
        "password.change",
        "messages.search",
        "message.view",
        "message.redrive",
        "message.evidence",
        "party.add",
        "party.suspend",
        "party.resume",
        "node.revoke",
        "audit.export",
        "operator.reset",
        "operator.remove",
    }
)
OUTCOMES = frozenset({"ok", "refused", "failed"})
_MAX_DETAIL = 500
_MAX_NAME = 200  # an operator's or an object's name, as typed (a refused login's user name)


@dataclass(frozen=True)
class AuditRecord:
    at_unix_ms: int
    operator: str
    action: str
    object: str
    outcome: str
    detail: str = ""


def audit_record(
    *, at_unix_ms: int, operator: str, action: str, obj: str, outcome: str, detail: str = ""
) -> AuditRecord:
    """A record, checked: a known action and outcome, a name for who did it, a short detail
    (a refusal's reason code and message; never a password or a code)."""
    if action not in ACTIONS:
        raise InvalidArgument("audit.bad_action", f"action: {action!r} is not an audit action")
    if outcome not in OUTCOMES:
        raise InvalidArgument("audit.bad_outcome", f"outcome: {outcome!r} is not ok/refused/failed")
    if not operator:
        raise InvalidArgument("audit.no_operator", "operator: must name who acted")
    if at_unix_ms <= 0:
        raise InvalidArgument("audit.bad_time", "at_unix_ms: must be a time after the epoch")
    return AuditRecord(
        at_unix_ms=at_unix_ms,
        operator=operator[:_MAX_NAME],
        action=action,
        object=obj[:_MAX_NAME],
        outcome=outcome,
        detail=detail[:_MAX_DETAIL],
    )


def json_line(record: AuditRecord) -> str:
    """One line of the export: the record with its time also in ISO 8601 (UTC)."""
    return (
        json.dumps(
            {
                "at": datetime.fromtimestamp(record.at_unix_ms // 1000, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "at_unix_ms": record.at_unix_ms,
                "operator": record.operator,
                "action": record.action,
                "object": record.object,
                "outcome": record.outcome,
                "detail": record.detail,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n"
    )
