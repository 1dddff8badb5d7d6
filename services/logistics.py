"""Clearance and logistics status for the whole journey (docs/LOGISTICS.md).

Operators (terminals, airport cargo stations, railway stations, trucking companies) report
events at their home node; each is checked (core/logistics.py) and stored once per operator and
event id, in the operator's dataset of the sharing pool.

A timeline is read at whichever node the party is logged in, in two rounds over every node of
the federation (this one answers itself, the others a signed peer query):

1. `find_declarations`: which of the party's own declarations name the key (for a declaration
   id: which containers and bill of lading it names). These are the party's *basis*: cargo it
   declared is its own to follow, at every node.
2. `query_events`: each node answers the events it holds about the keys, dataset by dataset,
   where the party may read them (core/sharing.py `evaluate`: owner, open to agencies, own
   declared cargo, or a grant in its period), withholding the others with the reason; and the
   statuses of the party's own declarations naming the keys. Each decision, allowed or refused,
   goes to the owner's access log at that node.

The answers are merged into one timeline (core/logistics.py `merge`). A node that does not
answer is listed as missing. When the party may read nothing at all of what exists, the timeline
is refused with PERMISSION_DENIED and the reason.

Watching a timeline keeps one `watch_events` stream open to every node, each resuming from the
cursors of its last answer; a node wakes its watchers when an operator reports, and re-reads
storage every second so that what another replica stores reaches them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence

from core import access
from core.access import Claims
from core.arguments import page_number, page_size
from core.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    SwnodeError,
)
from core.logistics import (
    MAX_EVENTS_PER_MESSAGE,
    OPERATOR_KINDS,
    Key,
    check_key,
    entry_identity,
    events_dataset,
    kind_name,
    merge,
    mode_name,
    same_event,
    validate_events,
)
from core.sharing import Requester
from core.validation import refused
from federation.tasks import Tasks
from services.sharing import Sharing, ask_all
from services.watch_signal import WatchSignal
from storage.database import Database
from storage.logistics import EventRow
from storage.sharing import AccessRow, DatasetRow
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb

__all__ = ["MAX_ENTRIES_PER_KEY", "Logistics"]

log = logging.getLogger("swnode.logistics")

# Entries one node gives per key in one answer: the newest.
MAX_ENTRIES_PER_KEY = 5000


def _event_proto(row: EventRow, node: str) -> lpb.LogisticsEvent:
    return lpb.LogisticsEvent(
        event_id=row.event_id,
        kind=lpb.EventKind.Value("EVENT_KIND_" + row.kind.upper()),
        occurred_at_unix_ms=row.occurred_at_unix_ms,
        place=row.place,
        container=row.container,
        bill_of_lading=row.bill_of_lading,
        conveyance=row.conveyance,
        mode=docs.TransportMode.Value("TRANSPORT_MODE_" + row.mode.upper()),
        remarks=row.remarks,
        reporter=f"{node}/{row.party_id}",
        reported_by=row.reported_by,
        recorded_at_unix_ms=row.recorded_at_unix_ms,
        seq=row.seq,
    )


def _keys(query: lpb.PeerQuery) -> list[Key]:
    return [k for k in (Key.from_proto(p) for p in query.keys) if k is not None]


class Logistics:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        sharing: Sharing,
        clock_ms: Callable[[], int],
        skew_ms: int,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._sharing = sharing
        self._clock_ms = clock_ms
        self._skew_ms = skew_ms
        self._watch_signal = WatchSignal()

    # -- reporting ---------------------------------------------------------------------------

    def _operator(self, claims: Claims) -> None:
        if not access.is_local(claims, OPERATOR_KINDS, self.node_id):
            raise PermissionDenied(
                "logistics.not_operator",
                f"{claims.actor} is not a user of a logistics operator of {self.node_id}; "
                f"operators ({', '.join(sorted(OPERATOR_KINDS))}) report events at their node",
            )

    async def report(
        self, claims: Claims, events: Sequence[lpb.LogisticsEvent], first_index: int = 0
    ) -> tuple[int, int]:
        """Check and store the events of one message, all or none: (stored, duplicates)."""
        self._operator(claims)
        if len(events) > MAX_EVENTS_PER_MESSAGE:
            raise ResourceExhausted(
                "event.too_many",
                f"events: {len(events)} in one message; at most {MAX_EVENTS_PER_MESSAGE} "
                "(send more messages on the stream)",
                field="events",
            )
        now_ms = self._clock_ms()
        problems = validate_events(
            events, now_ms=now_ms, skew_ms=self._skew_ms, first_index=first_index
        )
        if problems:
            raise refused(problems, events=True)
        stored = duplicates = 0
        async with self._db.transaction() as tx:
            await self._db.sharing.ensure_dataset_txn(
                tx, self._sharing.events_row(claims.party), now_ms
            )
            for i, event in enumerate(events):
                row = EventRow(
                    party_id=claims.party,
                    event_id=event.event_id,
                    kind=kind_name(event.kind),
                    occurred_at_unix_ms=event.occurred_at_unix_ms,
                    place=event.place,
                    container=event.container,
                    bill_of_lading=event.bill_of_lading,
                    conveyance=event.conveyance,
                    mode=mode_name(event.mode),
                    remarks=event.remarks,
                    reported_by=claims.actor,
                    recorded_at_unix_ms=now_ms,
                )
                earlier = await self._db.logistics.insert_txn(tx, row)
                if earlier is None:
                    stored += 1
                elif same_event(_event_proto(earlier, self.node_id), event):
                    duplicates += 1
                else:
                    path = f"events[{first_index + i}].event_id"
                    raise AlreadyExists(
                        "event.conflict",
                        f"{path}: {event.event_id} was reported before, with other content "
                        f"(recorded {earlier.recorded_at_unix_ms}); report a new event instead",
                        field=path,
                    )
        if stored:
            await self._watch_signal.notify()
        return stored, duplicates

    async def report_stream(
        self, claims: Claims, requests: AsyncIterator[lpb.ReportEventsRequest]
    ) -> lpb.ReportEventsResponse:
        """Every message of a ReportEvents call, in order; the first refusal ends it."""
        self._operator(claims)
        out = lpb.ReportEventsResponse(dataset=events_dataset(self.node_id, claims.party))
        index = 0
        async for request in requests:
            stored, duplicates = await self.report(claims, list(request.events), index)
            index += len(request.events)
            out.stored += stored
            out.duplicates += duplicates
        return out

    async def my_events(
        self, claims: Claims, req: lpb.ListMyEventsRequest
    ) -> lpb.ListMyEventsResponse:
        """The caller's party's own reports, newest first; the same rule as reporting."""
        self._operator(claims)
        size = page_size(req.page_size, default=100)
        if req.since_unix_ms < 0:
            raise InvalidArgument(
                "list.since", "since_unix_ms: 0 or a moment after 1970", field="since_unix_ms"
            )
        before = page_number(req.page_token, what="list") if req.page_token else 0
        rows = await self._db.logistics.reported_by(
            claims.party,
            container=req.container,
            bill_of_lading=req.bill_of_lading,
            since_ms=req.since_unix_ms,
            before_seq=before,
            limit=size + 1,
        )
        out = lpb.ListMyEventsResponse(events=[_event_proto(r, self.node_id) for r in rows[:size]])
        if len(rows) > size:
            out.next_page_token = str(rows[size - 1].seq)
        return out

    # -- answering (for this node's own parties, and for peers) ------------------------------

    async def _own_declarations(self, key: Key, requester: Requester) -> list[str]:
        """The requester's declarations held here that are the key or name it."""
        if requester.kind != "enterprise":
            return []
        if key.kind == "declaration_id":
            row = await self._db.declarations.get(key.value)
            return [row.id] if row is not None and row.party_id == requester.party_id else []
        return await self._db.logistics.declarations_naming(key.kind, key.value, requester.party_id)

    async def find_declarations(self, query: lpb.PeerQuery) -> lpb.PeerEvents:
        """The requester's declarations held here naming the keys, with what each names."""
        requester = Requester(query.party, query.party_kind)
        out = lpb.PeerEvents()
        seen: set[str] = set()
        for key in _keys(query):
            for declaration_id in await self._own_declarations(key, requester):
                if declaration_id in seen:
                    continue
                seen.add(declaration_id)
                refs = await self._db.logistics.refs_of(declaration_id)
                out.declarations.append(
                    lpb.DeclarationRefs(
                        declaration_id=declaration_id,
                        keys=[Key(kind, value).to_proto() for kind, value in refs],
                    )
                )
        return out

    async def _declaration_entries(
        self, declaration_id: str, after_seq: int
    ) -> list[lpb.TimelineEntry]:
        row = await self._db.declarations.get(declaration_id)
        assert row is not None
        return [
            lpb.TimelineEntry(
                at_unix_ms=int(e["at_unix_ms"]),
                node=self.node_id,
                declaration=lpb.DeclarationStatus(
                    declaration_id=declaration_id,
                    document_type=row.document_type,
                    transition=str(e["transition"]),
                    from_status=str(e["from_status"]),
                    to_status=str(e["to_status"]),
                    actor=str(e["actor"]),
                    agency=str(e["agency"]),
                    note=str(e["note"]),
                    seq=int(e["seq"]),
                ),
            )
            for e in await self._db.declarations.events(declaration_id, after_seq)
        ]

    async def query_events(self, query: lpb.PeerQuery) -> lpb.PeerEvents:
        """What this node holds about the query's keys that the requester may read; every
        decision on a dataset, allowed or refused, is written to its owner's access log."""
        now_ms = self._clock_ms()
        requester = Requester(query.party, query.party_kind)
        # Cursors first: what is stored after them reaches a watcher in its next answer.
        out = lpb.PeerEvents(
            event_seq=await self._db.logistics.last_seq(),
            declaration_seq=await self._db.logistics.last_declaration_seq(),
        )
        basis: dict[Key, str] = {}
        for b in query.basis:
            key = Key.from_proto(b.key)
            if key is not None:
                basis.setdefault(key, f"{b.node}:{b.declaration_id}")
        datasets: dict[str, DatasetRow] = {}
        entries: list[lpb.TimelineEntry] = []
        logged: list[AccessRow] = []
        for key in _keys(query):
            own = await self._own_declarations(key, requester)
            for declaration_id in own:
                entries += await self._declaration_entries(
                    declaration_id, query.after_declaration_seq
                )
            if key.kind == "declaration_id":
                continue
            rows = await self._db.logistics.for_key(
                key.kind,
                key.value,
                after_seq=query.after_event_seq,
                limit=MAX_ENTRIES_PER_KEY + 1,
            )
            if len(rows) > MAX_ENTRIES_PER_KEY:
                out.truncated = True
                rows = rows[-MAX_ENTRIES_PER_KEY:]
            declared = f"{self.node_id}:{own[0]}" if own else basis.get(key, "")
            by_party: dict[str, list[EventRow]] = {}
            for row in rows:
                by_party.setdefault(row.party_id, []).append(row)
            for party_id, party_rows in by_party.items():
                dataset = datasets.get(party_id)
                if dataset is None:
                    dataset = datasets[party_id] = await self._events_dataset(party_id)
                decision = await self._sharing.decide(dataset, requester, now_ms, declared=declared)
                logged.append(
                    AccessRow(
                        at_unix_ms=now_ms,
                        dataset_id=dataset.id,
                        owner=dataset.owner,
                        party=requester.address,
                        party_kind=requester.kind,
                        user_name=query.user,
                        via_node=query.from_node,
                        action=query.action,
                        query_key=key.text(),
                        purpose=query.purpose,
                        allowed=decision.allowed,
                        reason=decision.reason,
                        detail=decision.detail,
                        rows_given=len(party_rows) if decision.allowed else 0,
                        nonce=query.nonce.hex(),
                    )
                )
                if decision.allowed:
                    entries += [
                        lpb.TimelineEntry(
                            at_unix_ms=r.occurred_at_unix_ms,
                            node=self.node_id,
                            dataset=dataset.id,
                            event=_event_proto(r, self.node_id),
                        )
                        for r in party_rows
                    ]
                elif not any(w.dataset == dataset.id for w in out.withheld):
                    out.withheld.append(
                        lpb.Withheld(
                            node=self.node_id,
                            dataset=dataset.id,
                            reason=decision.reason,
                            message=decision.message,
                        )
                    )
        await self._sharing.log(logged)
        out.entries.extend(merge([entries]))
        return out

    async def _events_dataset(self, party_id: str) -> DatasetRow:
        row = await self._db.sharing.dataset(events_dataset(self.node_id, party_id))
        return row if row is not None else self._sharing.events_row(party_id)

    async def watch_events(self, query: lpb.PeerQuery) -> AsyncGenerator[lpb.PeerEvents, None]:
        """Answers to `query` for what is stored after its cursors, as it arrives."""
        current = lpb.PeerQuery()
        current.CopyFrom(query)
        while True:
            answer = await self.query_events(current)
            if answer.entries or answer.withheld:
                yield answer
            current.after_event_seq = max(current.after_event_seq, answer.event_seq)
            current.after_declaration_seq = max(
                current.after_declaration_seq, answer.declaration_seq
            )
            await self._watch_signal.wait()

    # -- the timeline, for a party logged in here --------------------------------------------

    async def _ask(
        self, action: str, template: lpb.PeerQuery
    ) -> tuple[dict[str, lpb.PeerEvents], list[str]]:
        """Every node of the federation's answer to `action` (this one's own first)."""
        local: Callable[[lpb.PeerQuery], Awaitable[lpb.PeerEvents]]
        remote: Callable[[str, lpb.PeerQuery], Awaitable[lpb.PeerEvents]]
        if action == "find_declarations":
            local, remote = self.find_declarations, self._sharing.peers.find_declarations
        else:
            local, remote = self.query_events, self._sharing.peers.query_events

        async def ask(node: str) -> lpb.PeerEvents:
            if node == self.node_id:
                return await local(self._sharing.local_query(action, template))
            return await remote(node, template)

        return await ask_all([self.node_id, *self._sharing.federation_nodes()], ask)

    async def _plan(
        self, claims: Claims, req: lpb.TimelineRequest
    ) -> tuple[lpb.PeerQuery, list[Key]]:
        """Round 1: the query for round 2 (its keys and the party's basis)."""
        key = check_key(req.key)
        template = self._sharing.template(claims, purpose=req.purpose.strip() or "timeline")
        template.keys.append(key.to_proto())
        found: dict[str, lpb.PeerEvents] = {}
        if claims.party_kind == "enterprise":  # only enterprises declare
            found, _ = await self._ask("find_declarations", template)
        keys = [key]
        for node, answer in sorted(found.items()):
            for d in answer.declarations:
                if key.kind == "declaration_id":
                    if d.declaration_id != key.value:
                        continue
                    named = [k for k in (Key.from_proto(p) for p in d.keys) if k is not None]
                    keys += [k for k in named if k not in keys]
                else:
                    named = [key]
                for k in named:
                    template.basis.append(
                        lpb.Basis(node=node, declaration_id=d.declaration_id, key=k.to_proto())
                    )
        if key.kind == "declaration_id" and not any(
            d.declaration_id == key.value for a in found.values() for d in a.declarations
        ):
            raise NotFound(
                "declaration.unknown",
                f"key.declaration_id: no declaration {key.value} of {claims.party} at any "
                "node that answered",
                field="key.declaration_id",
            )
        del template.keys[:]
        template.keys.extend(k.to_proto() for k in keys)
        return template, keys

    async def _round(self, template: lpb.PeerQuery) -> tuple[dict[str, lpb.PeerEvents], list[str]]:
        return await self._ask("query_events", template)

    @staticmethod
    def _refuse_if_nothing(
        entries: Sequence[lpb.TimelineEntry], withheld: Sequence[lpb.Withheld]
    ) -> None:
        """A timeline that shows nothing while datasets about its keys exist is refused, with
        the strongest reason: a revoked grant, an expired one, or none."""
        if entries or not withheld:
            return
        reasons = {w.reason for w in withheld}
        text = "nothing about this key may be shown to you: " + "; ".join(
            w.message for w in withheld
        )
        if "sharing.grant_revoked" in reasons:
            raise PermissionDenied("sharing.grant_revoked", text)
        if "sharing.grant_expired" in reasons:
            raise PermissionDenied("sharing.grant_expired", text)
        raise PermissionDenied("sharing.no_grant", text)

    async def timeline(self, claims: Claims, req: lpb.TimelineRequest) -> lpb.Timeline:
        template, keys = await self._plan(claims, req)
        answers, missing = await self._round(template)
        return self._timeline(keys, answers, missing)

    def _timeline(
        self, keys: Sequence[Key], answers: dict[str, lpb.PeerEvents], missing: Sequence[str]
    ) -> lpb.Timeline:
        entries = merge(a.entries for a in answers.values())
        withheld = [w for _, a in sorted(answers.items()) for w in a.withheld]
        self._refuse_if_nothing(entries, withheld)
        return lpb.Timeline(
            keys=[k.to_proto() for k in keys],
            entries=entries,
            withheld=withheld,
            nodes=sorted(answers),
            missing=list(missing),
            truncated=any(a.truncated for a in answers.values()),
        )

    async def watch(
        self, claims: Claims, req: lpb.TimelineRequest
    ) -> AsyncIterator[lpb.TimelineUpdate]:
        """The timeline so far, then each new entry from any node as it arrives."""
        template, keys = await self._plan(claims, req)
        answers, missing = await self._round(template)
        first = self._timeline(keys, answers, missing)
        sent = {entry_identity(e) for e in first.entries}
        yield lpb.TimelineUpdate(
            entries=first.entries, withheld=first.withheld, missing=first.missing
        )
        queue: asyncio.Queue[lpb.TimelineUpdate] = asyncio.Queue()
        nodes = [self.node_id, *self._sharing.federation_nodes()]
        async with Tasks("timeline watch") as followers:
            for node in nodes:
                followers.start(
                    f"follow-{node}", self._follow(node, template, answers.get(node), queue)
                )
            while True:
                access.still_good(claims, self._clock_ms())
                try:  # a second at most, as the other watches wake, to ask the rule again
                    update = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    continue
                fresh = [e for e in update.entries if entry_identity(e) not in sent]
                sent.update(entry_identity(e) for e in fresh)
                if fresh or update.withheld or update.missing:
                    yield lpb.TimelineUpdate(
                        entries=merge([fresh]), withheld=update.withheld, missing=update.missing
                    )

    async def _follow(
        self,
        node: str,
        template: lpb.PeerQuery,
        last: lpb.PeerEvents | None,
        queue: asyncio.Queue[lpb.TimelineUpdate],
    ) -> None:
        """One node's new entries for a watcher, from the cursors of its last answer, until
        cancelled; a node that fails is asked again, at growing intervals up to 10 s."""
        query = lpb.PeerQuery()
        query.CopyFrom(template)
        if last is not None:
            query.after_event_seq, query.after_declaration_seq = (
                last.event_seq,
                last.declaration_seq,
            )
        else:
            query.after_event_seq = query.after_declaration_seq = 0
        delay_s, reported_missing = 1.0, False
        while True:
            try:
                stream = (
                    self.watch_events(self._sharing.local_query("watch_events", query))
                    if node == self.node_id
                    else self._sharing.peers.watch_events(node, query)
                )
                async with contextlib.aclosing(stream) as answers:
                    async for answer in answers:
                        delay_s, reported_missing = 1.0, False
                        query.after_event_seq = max(query.after_event_seq, answer.event_seq)
                        query.after_declaration_seq = max(
                            query.after_declaration_seq, answer.declaration_seq
                        )
                        await queue.put(
                            lpb.TimelineUpdate(entries=answer.entries, withheld=answer.withheld)
                        )
            except SwnodeError as exc:
                log.info("watching %s: %s; asking again in %.0f s", node, exc, delay_s)
                if not reported_missing:
                    reported_missing = True
                    await queue.put(lpb.TimelineUpdate(missing=[node]))
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 10.0)
