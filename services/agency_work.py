"""The agencies' side of a declaration: their work items, claimed and decided.

Each agency the routing names gets one work item per round; its users list, watch and claim
them, and decide (accept, reject, ask for information, require an inspection, release). After
each decision the declaration's status follows from every agency's review of the round
(core/declaration_status.py `next_status`); an approval runs the approval hooks in its
transaction (e.g. issuing a certificate), and an approved payment clears the goods declaration
it pays for. Only a user of one of this node's agencies sees or decides its work items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from opentelemetry import trace
from opentelemetry.trace import Link, Tracer

from core import access
from core import declaration_status as ds
from core.access import Claims
from core.arguments import page_size
from core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, quote
from federation.tracing import context_of
from services.agencies import GOODS, PAYMENT
from services.declaration_records import decision_note, work_item_proto
from services.watch_signal import WatchSignal
from storage.database import Database
from storage.declarations import DeclarationRow, Event, WorkRow
from storage.engine import Tx
from swf.v1 import declarations_pb2 as dpb

__all__ = ["AgencyWork", "ApprovalHook"]

# Called inside the transaction that approves a declaration.
ApprovalHook = Callable[[Tx, DeclarationRow, str, str], Awaitable[None]]


class AgencyWork:
    """Work items and decisions; services/declarations.py `Declarations` sets up what it holds."""

    node_id: str
    approval_hooks: list[ApprovalHook]
    _db: Database
    _clock_ms: Callable[[], int]
    _watch_signal: WatchSignal
    tracer: Tracer

    def _agency(self, claims: Claims) -> str:
        if not access.is_local(claims, access.AGENCIES, self.node_id):
            raise PermissionDenied(
                "work.not_agency",
                f"{claims.actor} is not a user of an agency of {self.node_id}; "
                "only this node's agencies see and decide its work items",
            )
        return claims.party

    async def _item(self, w: WorkRow) -> dpb.WorkItem:
        row = await self._db.declarations.get(w.declaration_id)
        assert row is not None
        return work_item_proto(w, row)

    async def list_work(self, claims: Claims, status: str, limit: int) -> dpb.ListWorkResponse:
        agency = self._agency(claims)
        W = ds.WorkStatus
        statuses = {"": [W.OPEN], W.OPEN: [W.OPEN], W.CLAIMED: [W.CLAIMED], W.DECIDED: [W.DECIDED]}
        chosen = statuses.get(status, list(W))
        rows = await self._db.declarations.agency_work(
            agency, chosen, page_size(limit, default=100, field="limit")
        )
        return dpb.ListWorkResponse(items=[await self._item(w) for w in rows])

    async def work_item(self, claims: Claims, work_id: str) -> dpb.WorkItem:
        """One work item of the caller's agency (another agency's answers as one that does not
        exist), as ListWork shows it."""
        agency = self._agency(claims)
        w = await self._db.declarations.work(work_id)
        if w is None or w.agency != agency:
            raise NotFound(
                "work.unknown",
                f"work_id: no work item {quote(work_id)} for {agency}",
                field="work_id",
            )
        return await self._item(w)

    async def watch_work(self, claims: Claims) -> AsyncIterator[dpb.WorkItem]:
        agency = self._agency(claims)
        sent: set[str] = set()
        while True:
            access.still_good(claims, self._clock_ms())
            for w in await self._db.declarations.agency_work(agency, [ds.WorkStatus.OPEN], 500):
                if w.id not in sent:
                    sent.add(w.id)
                    yield await self._item(w)
            await self._watch_signal.wait()

    async def claim(self, claims: Claims, work_id: str) -> dpb.WorkItem:
        agency = self._agency(claims)
        return await self.claim_as(agency, claims.actor, work_id)

    async def claim_as(self, agency: str, actor: str, work_id: str) -> dpb.WorkItem:
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            w = await self._db.declarations.work_txn(tx, work_id)
            if w is None or w.agency != agency:
                raise NotFound(
                    "work.unknown",
                    f"work_id: no work item {quote(work_id)} for {agency}",
                    field="work_id",
                )
            status = ds.WORK.next(ds.WorkStatus(w.status), "claim")
            if status is None:
                raise FailedPrecondition(
                    "work.claimed", f"work item {work_id} is {w.status} (by {w.claimed_by})"
                )
            await self._db.declarations.update_work_txn(
                tx,
                work_id,
                status=status,
                review=ds.Review.CLAIMED,
                now_ms=now_ms,
                claimed_by=actor,
            )
        await self._watch_signal.notify()
        got = await self._db.declarations.work(work_id)
        assert got is not None
        return await self._item(got)

    async def decide(self, claims: Claims, req: dpb.DecideRequest) -> dpb.WorkItem:
        agency = self._agency(claims)
        return await self.decide_as(agency, claims.actor, req)

    async def decide_as(self, agency: str, actor: str, req: dpb.DecideRequest) -> dpb.WorkItem:
        """Decide in a span of the declaration's own trace (the submission's, stored with it),
        linked to the request that decides, so that what an approval starts (a certificate on
        its way abroad) is part of the declaration's journey."""
        w = await self._db.declarations.work(req.work_id)
        declaration = await self._db.declarations.get(w.declaration_id) if w else None
        caller = trace.get_current_span().get_span_context()
        with self.tracer.start_as_current_span(
            "swnode.decide",
            context=context_of(declaration.traceparent) if declaration else None,
            links=[Link(caller)] if caller.is_valid else [],
            attributes={
                "swnode.node": self.node_id,
                "swnode.agency": agency,
                "swnode.declaration_id": w.declaration_id if w else "",
                "swnode.decision": dpb.Decision.Name(req.decision),
            },
        ):
            return await self._decide_as(agency, actor, req)

    async def _decide_as(self, agency: str, actor: str, req: dpb.DecideRequest) -> dpb.WorkItem:
        decision = {
            dpb.DECISION_ACCEPT: "accept",
            dpb.DECISION_REJECT: "reject",
            dpb.DECISION_REQUEST_INFORMATION: "request_information",
            dpb.DECISION_REQUIRE_INSPECTION: "require_inspection",
            dpb.DECISION_RELEASE: "release",
        }.get(req.decision)
        if decision is None:
            raise InvalidArgument("work.bad_decision", "decision: required", field="decision")
        if decision in ("reject", "request_information") and not req.reason.strip():
            raise InvalidArgument(
                "work.reason_required",
                f"reason: required to {decision.replace('_', ' ')}",
                field="reason",
            )
        now_ms = self._clock_ms()
        paid: str | None = None
        async with self._db.transaction() as tx:
            w = await self._db.declarations.work_txn(tx, req.work_id)
            if w is None or w.agency != agency:
                raise NotFound(
                    "work.unknown",
                    f"work_id: no work item {quote(req.work_id)} for {agency}",
                    field="work_id",
                )
            declaration = await self._db.declarations.lock_txn(tx, w.declaration_id)
            assert declaration is not None
            review = ds.review_after(ds.Review(w.review), decision)
            status = ds.work_after(ds.WorkStatus(w.status), review)
            await self._db.declarations.update_work_txn(
                tx,
                w.id,
                status=status,
                review=review,
                now_ms=now_ms,
                claimed_by=w.claimed_by or actor,
                decided_by=actor,
                reason=req.reason,
                note=req.note,
            )
            reviews = await self._db.declarations.round_txn(
                tx, w.declaration_id, declaration.revision + 1
            )
            current = ds.Status(declaration.status)
            outcome = ds.next_status(
                current,
                [ds.Review(r.review) for r in reviews],
                goods=declaration.document_type == GOODS,
                payment_due=declaration.payment_due,
            )
            events = [
                Event(
                    f"agency_{decision}",
                    current,
                    current,
                    actor,
                    agency,
                    decision_note(req.reason, req.note),
                )
            ]
            if outcome.transition is not None:
                events.append(Event(outcome.transition, current, outcome.status, "node"))
                await self._db.declarations.update_txn(
                    tx,
                    w.declaration_id,
                    status=outcome.status,
                    now_ms=now_ms,
                    decided=outcome.status in ds.FINAL,
                )
            await self._db.declarations.add_events_txn(tx, w.declaration_id, events, now_ms)
            if outcome.status is ds.Status.APPROVED and outcome.transition is not None:
                for hook in self.approval_hooks:
                    await hook(tx, declaration, agency, actor)
            if (
                declaration.document_type == PAYMENT
                and outcome.status is ds.Status.APPROVED
                and outcome.transition is not None
            ):
                payment = dpb.Document.FromString(declaration.document).duty_payment
                paid = payment.declaration_id
                await self._pay_txn(tx, paid, actor, now_ms)
        await self._watch_signal.notify()
        got = await self._db.declarations.work(req.work_id)
        assert got is not None
        return await self._item(got)

    async def _pay_txn(self, tx: Tx, goods_id: str, actor: str, now_ms: int) -> None:
        """A confirmed payment clears the goods declaration it pays for; confirming a payment
        of one no longer awaiting payment is refused (the tax agency rejects it instead)."""
        target = await self._db.declarations.lock_txn(tx, goods_id)
        assert target is not None, "a payment is checked against its declaration at submission"
        cleared = ds.check("pay", ds.Status(target.status))
        await self._db.declarations.update_txn(
            tx, goods_id, status=cleared, now_ms=now_ms, decided=True
        )
        await self._db.declarations.add_events_txn(
            tx,
            goods_id,
            [
                Event(
                    "pay",
                    target.status,
                    cleared,
                    actor,
                    "tax",
                    "payment confirmed",
                )
            ],
            now_ms,
        )

    async def open_work(self, limit: int = 200) -> list[WorkRow]:
        return await self._db.declarations.open_work(limit)

    async def document_of(self, w: WorkRow) -> tuple[str, dpb.Document]:
        row = await self._db.declarations.get(w.declaration_id)
        assert row is not None
        return row.document_type, dpb.Document.FromString(row.document)
