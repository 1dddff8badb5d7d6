"""Declarations as callers see them: a stored row, its history and its assessment turned into
the API's messages, and the note an agency's decision leaves in the history."""

from __future__ import annotations

import json
from collections.abc import Mapping

from storage.declarations import DeclarationRow, WorkRow
from swf.v1 import declarations_pb2 as dpb

__all__ = [
    "assessment_json",
    "assessment_of",
    "decision_note",
    "declaration_proto",
    "event_proto",
    "review_proto",
    "work_item_proto",
]


def decision_note(reason: str, note: str) -> str:
    """What the history says of an agency's decision: its reason and its note, both kept
    (a history event has one note field; the review keeps them apart)."""
    return " — ".join(part for part in (reason.strip(), note.strip()) if part)


def assessment_json(a: dpb.Assessment | None) -> str:
    if a is None:
        return ""
    return json.dumps(
        {
            "customs_value": a.customs_value,
            "duty": a.duty,
            "vat": a.vat,
            "total": a.total,
            "currency": a.currency,
            "payment_due": a.payment_due,
        },
        sort_keys=True,
    )


def assessment_of(text: str) -> dpb.Assessment | None:
    if not text:
        return None
    return dpb.Assessment(**json.loads(text))


def declaration_proto(row: DeclarationRow, node: str) -> dpb.Declaration:
    return dpb.Declaration(
        id=row.id,
        document_type=row.document_type,
        document=dpb.Document.FromString(row.document),
        status=row.status,
        party=row.party_id,
        submitted_by=row.submitted_by,
        node=node,
        assessment=assessment_of(row.assessment),
        revision=row.revision,
        created_at_unix_ms=row.created_at_unix_ms,
        updated_at_unix_ms=row.updated_at_unix_ms,
    )


def event_proto(e: Mapping[str, object]) -> dpb.DeclarationEvent:
    return dpb.DeclarationEvent(
        seq=int(e["seq"]),  # type: ignore[call-overload]
        declaration_id=str(e["declaration_id"]),
        transition=str(e["transition"]),
        from_status=str(e["from_status"]),
        to_status=str(e["to_status"]),
        actor=str(e["actor"]),
        agency=str(e["agency"]),
        note=str(e["note"]),
        at_unix_ms=int(e["at_unix_ms"]),  # type: ignore[call-overload]
    )


def review_proto(w: WorkRow) -> dpb.AgencyReview:
    """One agency's review of a declaration, as the declaration shows it."""
    return dpb.AgencyReview(
        agency=w.agency,
        status=w.review,
        reason=w.reason,
        note=w.note,
        decided_by=w.decided_by,
        decided_at_unix_ms=w.decided_at_unix_ms or 0,
        round=w.round,
    )


def work_item_proto(w: WorkRow, row: DeclarationRow) -> dpb.WorkItem:
    """A work item as its agency sees it, with the declaration it is about."""
    return dpb.WorkItem(
        id=w.id,
        declaration_id=w.declaration_id,
        agency=w.agency,
        document_type=row.document_type,
        document=dpb.Document.FromString(row.document),
        status=w.status,
        claimed_by=w.claimed_by,
        round=w.round,
        party=row.party_id,
        assessment=assessment_of(row.assessment),
        created_at_unix_ms=w.created_at_unix_ms,
        decision=w.review,
    )
