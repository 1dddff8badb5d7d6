"""One submission, every agency.

A declarant submits a document once at its node. It is validated (core/validation.py) and, for
goods, assessed for duty and tax (core/tariff.py); then it is stored with one work item for each
agency the routing rules name, in one transaction. Agencies claim and decide their own work
items (services/agency_work.py); after each decision the declaration's status follows from every
agency's review (core/declaration_status.py), and every transition is recorded with who, what
and when. The declarant reads it all, or watches it happen, through the same node.

Watchers and agency work streams are woken in-process and also re-read storage every second, so
that a change made by another replica reaches them too.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from google.protobuf.message import Message
from opentelemetry.trace import Tracer

from core import access
from core import declaration_status as ds
from core.access import Claims
from core.arguments import day_range_ms, page_number, page_size
from core.documents import unwrap
from core.envelope import new_message_id
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    quote,
)
from core.logistics import declaration_refs
from core.tariff import Tariff, TariffLineMissing, assess
from core.tariff import to_proto as assessment_proto
from core.validation import Problem, refused, to_proto, validate
from federation.tracing import current_traceparent, default_tracer
from services.agencies import GOODS, PAYMENT, declaring_party, submit_roles
from services.agency_work import AgencyWork, ApprovalHook
from services.declaration_records import (
    assessment_json,
    declaration_proto,
    event_proto,
    review_proto,
)
from services.watch_signal import WatchSignal
from storage.database import Database
from storage.declarations import DeclarationRow, Event, WorkRow
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import documents_pb2 as docs

__all__ = ["Checked", "Declarations"]


def _problem(field: str, rule: str, message: str) -> Problem:
    return Problem(field=field, rule=rule, message=message, element="")


@dataclass(frozen=True)
class Checked:
    document_type: str
    message: Message
    problems: list[Problem]
    assessment: dpb.Assessment | None


class Declarations(AgencyWork):
    """Submission, amendment and reading for declarants; the agencies' side is AgencyWork's
    (services/agency_work.py)."""

    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        clock_ms: Callable[[], int],
        routing: Mapping[str, tuple[str, ...]],
        tariff: Tariff,
        tracer: Tracer | None = None,
    ) -> None:
        self.node_id = node_id
        self.tracer = tracer or default_tracer()
        self._db = db
        self._clock_ms = clock_ms
        self._routing = routing
        self._tariff = tariff
        self._watch_signal = WatchSignal()
        # Called inside the transaction that approves a declaration (e.g. to issue the
        # certificate an approved application asks for, all or nothing with the approval).
        self.approval_hooks: list[ApprovalHook] = []

    def _new_id(self) -> str:
        return new_message_id(self._clock_ms(), os.urandom(10))

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever a declaration or its work changes in this process."""
        self._watch_signal.listeners.append(callback)

    # -- submission --------------------------------------------------------------------------

    def _authorize_submit(self, claims: Claims, document_type: str, message: Message) -> None:
        if claims.party_kind != "enterprise":
            raise PermissionDenied(
                "declaration.not_enterprise", "only enterprises submit documents"
            )
        roles = submit_roles(document_type)
        if not claims.has_any(roles):
            raise PermissionDenied(
                "auth.missing_role",
                f"submitting a {document_type} needs one of the roles {', '.join(roles)}",
            )
        path, uscc = declaring_party(document_type, message)
        if uscc and uscc != claims.party:
            raise PermissionDenied(
                "declaration.not_your_party",
                f"{path}: {uscc} is not your enterprise ({claims.party})",
                field=path,
            )

    async def check(self, claims: Claims | None, document: dpb.Document) -> Checked:
        """Every problem of a document (format, cross-field, tariff, payment), and for goods the
        duty and tax assessment."""
        document_type, message = unwrap(document)
        problems = list(validate(message))
        assessment = None
        if document_type == GOODS and not problems:
            assert isinstance(message, docs.GoodsDeclaration)
            try:
                assessment = assessment_proto(assess(message, self._tariff))
            except TariffLineMissing as exc:
                problems.extend(exc.problems)
        if document_type == PAYMENT and not problems and claims is not None:
            assert isinstance(message, docs.DutyPayment)
            problems += await self._check_payment(claims, message)
        return Checked(document_type, message, problems, assessment)

    async def _check_payment(self, claims: Claims, payment: docs.DutyPayment) -> list[Problem]:
        target = await self._db.declarations.get(payment.declaration_id)
        if target is None or target.party_id != claims.party or target.document_type != GOODS:
            return [
                _problem(
                    "declaration_id",
                    "payment_unknown_declaration",
                    f"no goods declaration {payment.declaration_id} of {claims.party} here",
                )
            ]
        if target.status != ds.Status.AWAITING_PAYMENT:
            return [
                _problem(
                    "declaration_id",
                    "payment_not_due",
                    f"declaration {target.id} is {target.status}, not awaiting payment",
                )
            ]
        if await self._pending_payment(claims.party, target):
            return [
                _problem(
                    "declaration_id",
                    "payment_pending",
                    f"a payment of declaration {target.id} is already under review; wait for "
                    "its decision",
                )
            ]
        owed = json.loads(target.assessment)
        if (
            Decimal(payment.amount.amount) != Decimal(owed["total"])
            or payment.amount.currency != owed["currency"]
        ):
            return [
                _problem(
                    "amount",
                    "payment_amount_mismatch",
                    f"the payment order is {owed['total']} {owed['currency']}",
                )
            ]
        return []

    async def _pending_payment(self, party: str, target: DeclarationRow) -> bool:
        """Whether a payment of `target` submitted since it is still undecided."""
        before: tuple[int, str] | None = None
        while True:
            page = await self._db.declarations.list_for_party(
                party,
                status="",
                document_type=PAYMENT,
                from_ms=target.created_at_unix_ms,
                to_ms=self._clock_ms() + 1,
                before=before,
                limit=200,
            )
            for row in page:
                paid = dpb.Document.FromString(row.document).duty_payment.declaration_id
                if paid == target.id and ds.Status(row.status) not in ds.FINAL:
                    return True
            if len(page) < 200:
                return False
            before = (page[-1].created_at_unix_ms, page[-1].id)

    async def validate_only(self, claims: Claims, document: dpb.Document) -> dpb.ValidationReport:
        return to_proto((await self.check(claims, document)).problems)

    async def submit(self, claims: Claims, document: dpb.Document) -> dpb.Declaration:
        checked = await self.check(claims, document)
        document_type, assessment = checked.document_type, checked.assessment
        self._authorize_submit(claims, document_type, checked.message)
        if checked.problems:
            raise refused(checked.problems)
        agencies = await self._agencies_for(document_type)
        validated = ds.check("validate", ds.Status.SUBMITTED)
        routed = ds.check("route", validated)
        now_ms = self._clock_ms()
        row = DeclarationRow(
            id=self._new_id(),
            party_id=claims.party,
            submitted_by=claims.actor,
            document_type=document_type,
            document=document.SerializeToString(deterministic=True),
            status=routed,
            revision=0,
            assessment=assessment_json(assessment),
            payment_due=bool(assessment and assessment.payment_due),
            created_at_unix_ms=now_ms,
            updated_at_unix_ms=now_ms,
            decided_at_unix_ms=None,
            traceparent=current_traceparent(),
        )
        async with self._db.transaction() as tx:
            await self._db.declarations.insert_txn(tx, row)
            await self._db.logistics.index_declaration_txn(tx, row.id, claims.party, _refs(checked))
            await self._db.declarations.add_events_txn(
                tx,
                row.id,
                [
                    Event("submit", "", ds.Status.SUBMITTED, claims.actor),
                    Event("validate", ds.Status.SUBMITTED, validated, "node"),
                    Event(
                        "route",
                        validated,
                        routed,
                        "node",
                        note=f"to {', '.join(agencies)}",
                    ),
                ],
                now_ms,
            )
            await self._db.declarations.add_work_txn(
                tx, [self._work(row.id, a, 1) for a in agencies], now_ms
            )
        await self._watch_signal.notify()
        return await self.view(row.id)

    def _work(self, declaration_id: str, agency: str, round_: int) -> WorkRow:
        return WorkRow.new(self._new_id(), declaration_id, agency, round_)

    async def _agencies_for(self, document_type: str) -> tuple[str, ...]:
        agencies = self._routing.get(document_type, ())
        if not agencies:
            raise FailedPrecondition(
                "routing.none",
                f"no agency is configured for {document_type} at {self.node_id} ([routing])",
            )
        for agency in agencies:
            party = await self._db.parties.get(agency)
            if party is None or party.kind != "agency":
                raise FailedPrecondition(
                    "routing.agency_missing",
                    f"{document_type} is routed to {agency}, which is not an agency of "
                    f"{self.node_id}; the operator adds it with `swnode agency add`",
                )
        return agencies

    async def amend(
        self, claims: Claims, declaration_id: str, document: dpb.Document
    ) -> dpb.Declaration:
        current = await self._own(claims, declaration_id)
        checked = await self.check(claims, document)
        document_type = checked.document_type
        if document_type != current.document_type:
            raise InvalidArgument(
                "amend.other_type",
                f"document: an amendment must be a {current.document_type}",
                field="document",
            )
        self._authorize_submit(claims, document_type, checked.message)
        if checked.problems:
            raise refused(checked.problems)
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            locked = await self._db.declarations.lock_txn(tx, declaration_id)
            assert locked is not None
            status = ds.check("amend", ds.Status(locked.status))
            reviews = await self._db.declarations.round_txn(tx, declaration_id, locked.revision + 1)
            asked = [w.agency for w in reviews if w.review == ds.Review.NEEDS_INFORMATION]
            revision = locked.revision + 1
            await self._db.declarations.update_txn(
                tx,
                declaration_id,
                status=status,
                now_ms=now_ms,
                document=document.SerializeToString(deterministic=True),
                revision=revision,
            )
            await self._db.logistics.index_declaration_txn(
                tx, declaration_id, claims.party, _refs(checked)
            )
            await self._db.declarations.add_events_txn(
                tx,
                declaration_id,
                [
                    Event(
                        "amend",
                        locked.status,
                        status,
                        claims.actor,
                        note=f"revision {revision}, back to {', '.join(asked)}",
                    )
                ],
                now_ms,
            )
            await self._db.declarations.add_work_txn(
                tx, [self._work(declaration_id, a, revision + 1) for a in asked], now_ms
            )
        await self._watch_signal.notify()
        return await self.view(declaration_id)

    # -- reading -----------------------------------------------------------------------------

    async def _own(self, claims: Claims, declaration_id: str) -> DeclarationRow:
        row = await self._db.declarations.get(declaration_id)
        if row is None or row.party_id != claims.party:
            raise NotFound(
                "declaration.unknown",
                f"id: no declaration {quote(declaration_id)} of {claims.party} at {self.node_id}",
                field="id",
            )
        return row

    async def get(self, claims: Claims, declaration_id: str) -> dpb.Declaration:
        await self._own(claims, declaration_id)
        return await self.view(declaration_id)

    async def view(self, declaration_id: str, *, history: bool = True) -> dpb.Declaration:
        row = await self._db.declarations.get(declaration_id)
        assert row is not None
        out = declaration_proto(row, self.node_id)
        for w in await self._db.declarations.work_for(declaration_id):
            out.reviews.append(review_proto(w))
        if history:
            out.history.extend(
                event_proto(e) for e in await self._db.declarations.events(declaration_id)
            )
        return out

    async def list_declarations(
        self, claims: Claims, req: dpb.ListDeclarationsRequest
    ) -> dpb.ListDeclarationsResponse:
        size = page_size(req.page_size, default=50)
        before = None
        if req.page_token:
            created, _, last_id = req.page_token.partition(":")
            if not last_id:
                raise InvalidArgument(
                    "list.page_token", "page_token: not from this list", field="page_token"
                )
            before = (page_number(created), last_id)
        from_ms, to_ms = day_range_ms(req.from_date, req.to_date)
        rows = await self._db.declarations.list_for_party(
            claims.party,
            status=req.status,
            document_type=req.document_type,
            from_ms=from_ms,
            to_ms=to_ms,
            before=before,
            limit=size + 1,
        )
        more = len(rows) > size
        rows = rows[:size]
        out = dpb.ListDeclarationsResponse(
            declarations=[declaration_proto(r, self.node_id) for r in rows]
        )
        if more:
            out.next_page_token = f"{rows[-1].created_at_unix_ms}:{rows[-1].id}"
        return out

    async def watch(
        self, claims: Claims, declaration_id: str
    ) -> AsyncIterator[dpb.DeclarationEvent]:
        """The declaration's history, then each new transition, until it reaches a final
        status."""
        await self._own(claims, declaration_id)
        last = 0
        while True:
            access.still_good(claims, self._clock_ms())
            for e in await self._db.declarations.events(declaration_id, last):
                last = e["seq"]
                yield event_proto(e)
                if e["to_status"] in ds.FINAL:
                    return
            await self._watch_signal.wait()


def _refs(checked: Checked) -> list[tuple[str, str]]:
    """The containers and bills of lading a declaration names, for timelines by either."""
    return [(k.kind, k.value) for k in declaration_refs(checked.document_type, checked.message)]
