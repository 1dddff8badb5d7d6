"""The data sharing pool: where sharing is the rule and not sharing the exception, under
authorization (docs/LOGISTICS.md).

Each node holds the datasets its parties publish (an operator's reported events are published
for it by the node, open to the federation's agencies), the access requests made to them and the
grants they became, and the log of every access. The catalog and a party's own requests are
read across the federation by asking every node (a signed peer query, federation/
sharing_client.py); a request for access goes to the node that holds the dataset, where its
owner grants or refuses it, and may later revoke it. Whether a party may read a dataset is
decided by core/sharing.py `evaluate`, here given the grants from storage and the clock; every
decision on a query, allowed or refused, is written to the owner's access log
(services/logistics.py does it for timelines).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from core.access import Claims
from core.arguments import page_number, page_size
from core.envelope import new_message_id
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SwnodeError,
    quote,
)
from core.ids import federation_of
from core.logistics import (
    EVENT_FIELDS,
    EVENTS_DATASET,
    OPERATOR_KINDS,
    events_dataset,
    parse_dataset_id,
)
from core.logistics import dataset_id as make_dataset_id
from core.parties import ADMIN
from core.sharing import (
    OPEN_TO_AGENCIES,
    POLICIES,
    Decision,
    GrantRecord,
    GrantStatus,
    Requester,
    after,
    check_dataset,
    check_request,
    evaluate,
    status_at,
    verify_query,
)
from core.trust import TrustView
from federation.sharing_client import SharingPeers
from storage.database import Database
from storage.sharing import AccessRow, DatasetRow, GrantRow
from swf.v1 import logistics_pb2 as lpb

__all__ = ["EVENTS_DESCRIPTION", "POLICY", "STATUS", "Sharing", "ask_all"]

log = logging.getLogger("swnode.sharing")

T = TypeVar("T")

STATUS = {
    GrantStatus.PENDING: lpb.ACCESS_STATUS_PENDING,
    GrantStatus.GRANTED: lpb.ACCESS_STATUS_GRANTED,
    GrantStatus.REFUSED: lpb.ACCESS_STATUS_REFUSED,
    GrantStatus.REVOKED: lpb.ACCESS_STATUS_REVOKED,
    GrantStatus.EXPIRED: lpb.ACCESS_STATUS_EXPIRED,
}
POLICY = {name: number for number, name in POLICIES.items()}
EVENTS_DESCRIPTION = (
    "Logistics events reported by {party} at {node}: gate in and out, loading, discharge, "
    "departure, arrival, transshipment, customs release, inspection"
)


async def ask_all(
    nodes: Sequence[str], ask: Callable[[str], Awaitable[T]]
) -> tuple[dict[str, T], list[str]]:
    """Ask every node at once: the answers by node, and the nodes that did not answer."""

    async def one(node: str) -> T | None:
        try:
            return await ask(node)
        except SwnodeError as exc:
            log.warning("%s did not answer: %s", node, exc)
            return None

    got = await asyncio.gather(*(one(n) for n in nodes))
    answers = {n: a for n, a in zip(nodes, got, strict=True) if a is not None}
    return answers, [n for n, a in zip(nodes, got, strict=True) if a is None]


class Sharing:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        peers: SharingPeers,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        skew_ms: int,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self.peers = peers
        self._trust = trust
        self._clock_ms = clock_ms
        self.skew_ms = skew_ms

    # -- who and where -----------------------------------------------------------------------

    def template(self, claims: Claims, *, purpose: str = "") -> lpb.PeerQuery:
        """What every query made on the caller's behalf says about it."""
        return lpb.PeerQuery(
            party=f"{claims.issuer}/{claims.party}",
            party_kind=claims.party_kind,
            user=claims.subject,
            purpose=purpose,
        )

    def local_query(self, action: str, template: lpb.PeerQuery) -> lpb.PeerQuery:
        """A query this node answers itself: the same fields as one it signs for a peer."""
        return self.peers.query(self.node_id, action, template)

    def federation_nodes(self) -> list[str]:
        """Every other active node of this node's federation: whom a federated read asks."""
        trust = self._trust()
        federation = federation_of(self.node_id)
        return sorted(
            n.id
            for n in trust.nodes()
            if federation_of(n.id) == federation and n.id != self.node_id and trust.is_active(n.id)
        )

    def _at_home(self, claims: Claims, what: str) -> None:
        if claims.issuer != self.node_id:
            raise FailedPrecondition(
                "sharing.not_home",
                f"{what} is done at {claims.party}'s home node {claims.issuer}, where its "
                "datasets are held",
            )

    @staticmethod
    def _admin(claims: Claims, what: str) -> None:
        if ADMIN not in claims.roles:
            raise PermissionDenied("auth.missing_role", f"{what} needs the role {ADMIN}")

    # -- the signed peer query ---------------------------------------------------------------

    async def verify(self, signed: lpb.SignedQuery, caller: str, action: str) -> lpb.PeerQuery:
        """A peer's signed query (docs/LOGISTICS.md §6, steps 1-7 in core/sharing.py), whose
        nonce this node has not seen from that peer (step 8)."""
        now_ms = self._clock_ms()
        query = verify_query(
            signed,
            trust=self._trust(),
            caller=caller,
            self_id=self.node_id,
            action=action,
            now_ms=now_ms,
            skew_ms=self.skew_ms,
        )
        # 8. Not answered before: a nonce is kept until its query is too old anyway.
        if not await self._db.sharing.use_nonce(
            caller, query.nonce, query.issued_at_unix_ms + 2 * self.skew_ms, now_ms
        ):
            raise FailedPrecondition(
                "query.replayed", f"{caller} sent this query (its nonce) before"
            )
        return query

    # -- datasets ----------------------------------------------------------------------------

    def events_row(self, party_id: str) -> DatasetRow:
        """The dataset of an operator's reported events, as the node publishes it."""
        return DatasetRow(
            id=events_dataset(self.node_id, party_id),
            owner=party_id,
            name=EVENTS_DATASET,
            kind="logistics_events",
            description=EVENTS_DESCRIPTION.format(party=party_id, node=self.node_id),
            fields=EVENT_FIELDS,
            policy=OPEN_TO_AGENCIES,
            published_by="node",
        )

    async def publish_operator_datasets(self) -> None:
        """At start: every operator of this node has its events dataset in the catalog."""
        now_ms = self._clock_ms()
        for party_id in await self._db.logistics.operator_parties(sorted(OPERATOR_KINDS)):
            await self._db.sharing.ensure_dataset(self.events_row(party_id), now_ms)

    async def _dataset(self, dataset_id: str) -> DatasetRow:
        """A dataset held here; an operator's events dataset is published on first mention."""
        row = await self._db.sharing.dataset(dataset_id)
        if row is not None:
            return row
        parts = parse_dataset_id(dataset_id)
        if parts is not None and parts[0] == self.node_id and parts[2] == EVENTS_DATASET:
            party = await self._db.parties.get(parts[1])
            if party is not None and party.kind in OPERATOR_KINDS:
                await self._db.sharing.ensure_dataset(
                    self.events_row(party.party_id), self._clock_ms()
                )
                found = await self._db.sharing.dataset(dataset_id)
                assert found is not None
                return found
        raise NotFound(
            "dataset.unknown", f"dataset: no dataset {quote(dataset_id)}", field="dataset"
        )

    def dataset_proto(self, d: DatasetRow) -> lpb.Dataset:
        return lpb.Dataset(
            id=d.id,
            owner=f"{self.node_id}/{d.owner}",
            name=d.name,
            description=d.description,
            fields=list(d.fields),
            policy=POLICY.get(d.policy, lpb.SHARING_POLICY_UNSPECIFIED),
            kind=d.kind,
            published_by=d.published_by,
            created_at_unix_ms=d.created_at_unix_ms,
            updated_at_unix_ms=d.updated_at_unix_ms,
            node=self.node_id,
        )

    async def local_datasets(self) -> lpb.ListDatasetsResponse:
        rows = await self._db.sharing.datasets()
        return lpb.ListDatasetsResponse(
            datasets=[self.dataset_proto(d) for d in rows], nodes=[self.node_id]
        )

    async def list_datasets(
        self, claims: Claims, req: lpb.ListDatasetsRequest
    ) -> lpb.ListDatasetsResponse:
        out = await self.local_datasets()
        if req.local:
            return out
        template = self.template(claims)
        answers, missing = await ask_all(
            self.federation_nodes(), lambda n: self.peers.list_datasets(n, template)
        )
        for node, answer in sorted(answers.items()):
            out.datasets.extend(d for d in answer.datasets if d.node == node)
            out.nodes.append(node)
        out.missing.extend(missing)
        return out

    async def publish(self, claims: Claims, req: lpb.PublishDatasetRequest) -> lpb.Dataset:
        self._at_home(claims, "publishing a dataset")
        self._admin(claims, "publishing a dataset")
        name, description, fields, policy = check_dataset(req)
        dataset_id = make_dataset_id(self.node_id, claims.party, name)
        kind = "catalog"
        if name == EVENTS_DATASET:
            if claims.party_kind not in OPERATOR_KINDS:
                raise InvalidArgument(
                    "dataset.invalid",
                    f"name: {EVENTS_DATASET} is the name of an operator's reported events",
                    field="name",
                )
            kind = "logistics_events"
            fields = fields or EVENT_FIELDS
        now_ms = self._clock_ms()
        await self._db.sharing.publish(
            DatasetRow(
                id=dataset_id,
                owner=claims.party,
                name=name,
                kind=kind,
                description=description,
                fields=fields,
                policy=policy,
                published_by=claims.actor,
            ),
            now_ms,
        )
        return self.dataset_proto(await self._dataset(dataset_id))

    # -- deciding and logging access ---------------------------------------------------------

    async def decide(
        self, dataset: DatasetRow, requester: Requester, now_ms: int, *, declared: str = ""
    ) -> Decision:
        """May `requester` read `dataset` now? (The caller logs the decision.)"""
        grants = await self._db.sharing.grants_for(dataset.id, requester.address)
        return evaluate(
            dataset=dataset.id,
            owner=f"{self.node_id}/{dataset.owner}",
            policy=dataset.policy,
            requester=requester,
            grants=[
                GrantRecord(
                    id=g.id,
                    status=g.status,
                    valid_from_ms=g.valid_from_unix_ms,
                    valid_until_ms=g.valid_until_unix_ms,
                    decided_at_ms=g.decided_at_unix_ms,
                    revoked_at_ms=g.revoked_at_unix_ms,
                )
                for g in grants
            ],
            now_ms=now_ms,
            declared=declared,
        )

    async def log(self, entries: Sequence[AccessRow]) -> None:
        await self._db.sharing.log(entries)

    async def access_log(self, claims: Claims, req: lpb.AccessLogRequest) -> lpb.AccessLogResponse:
        self._at_home(claims, "reading the access log")
        size = page_size(req.page_size, default=100)
        before = 0
        if req.page_token:
            before = page_number(req.page_token, what="log")
        if req.dataset:
            await self._owned(claims, req.dataset)
        rows = await self._db.sharing.access_log(
            claims.party, dataset_id=req.dataset, before_seq=before, limit=size + 1
        )
        out = lpb.AccessLogResponse(
            entries=[
                lpb.AccessLogEntry(
                    seq=r.seq,
                    at_unix_ms=r.at_unix_ms,
                    dataset=r.dataset_id,
                    party=r.party,
                    party_kind=r.party_kind,
                    user=r.user_name,
                    via_node=r.via_node,
                    action=r.action,
                    key=r.query_key,
                    purpose=r.purpose,
                    allowed=r.allowed,
                    reason=r.reason,
                    detail=r.detail,
                    rows=r.rows_given,
                    nonce=r.nonce,
                )
                for r in rows[:size]
            ]
        )
        if len(rows) > size:
            out.next_page_token = str(rows[size - 1].seq)
        return out

    async def _owned(self, claims: Claims, dataset_id: str) -> DatasetRow:
        row = await self._db.sharing.dataset(dataset_id)
        if row is None or row.owner != claims.party:
            raise NotFound(
                "dataset.unknown",
                f"dataset: no dataset {quote(dataset_id)} of {claims.party} at {self.node_id}",
                field="dataset",
            )
        return row

    # -- requests and grants -----------------------------------------------------------------

    def request_proto(self, g: GrantRow) -> lpb.AccessRequest:
        record = GrantRecord(g.id, g.status, g.valid_from_unix_ms, g.valid_until_unix_ms)
        return lpb.AccessRequest(
            id=g.id,
            dataset=g.dataset_id,
            requester=g.requester,
            requester_kind=g.requester_kind,
            requested_by=g.requested_by,
            purpose=g.purpose,
            valid_from_unix_ms=g.valid_from_unix_ms,
            valid_until_unix_ms=g.valid_until_unix_ms,
            status=STATUS[status_at(record, self._clock_ms())],
            decided_by=g.decided_by,
            reason=g.reason,
            created_at_unix_ms=g.created_at_unix_ms,
            decided_at_unix_ms=g.decided_at_unix_ms,
            revoked_at_unix_ms=g.revoked_at_unix_ms,
            node=self.node_id,
        )

    async def request_access(
        self, claims: Claims, req: lpb.RequestAccessRequest
    ) -> lpb.AccessRequest:
        """Ask for access: recorded at the dataset's node, for its owner to decide."""
        parts = parse_dataset_id(req.dataset)
        if parts is None:
            raise NotFound(
                "dataset.unknown",
                f"dataset: {quote(req.dataset)} is no dataset id (NODE/PARTY/NAME)",
                field="dataset",
            )
        check_request(
            req.purpose, req.valid_from_unix_ms, req.valid_until_unix_ms, self._clock_ms()
        )
        template = self.template(claims, purpose=req.purpose)
        template.access.CopyFrom(req)
        node = parts[0]
        if node == self.node_id:
            return await self.accept_request(self.local_query("request_access", template))
        if (
            federation_of(node) != federation_of(self.node_id)
            or node not in self.federation_nodes()
        ):
            raise NotFound(
                "dataset.unknown",
                f"dataset: {node} is no active node of this federation",
                field="dataset",
            )
        return await self.peers.request_access(node, template)

    async def accept_request(self, query: lpb.PeerQuery) -> lpb.AccessRequest:
        """At the dataset's node: record a request (from a local party, or from a peer on a
        party's behalf) as pending."""
        req = query.access
        dataset = await self._dataset(req.dataset)
        now_ms = self._clock_ms()
        purpose, start, until = check_request(
            req.purpose, req.valid_from_unix_ms, req.valid_until_unix_ms, now_ms
        )
        row = GrantRow(
            id=new_message_id(now_ms, os.urandom(10)),
            dataset_id=dataset.id,
            owner=dataset.owner,
            requester=query.party,
            requester_kind=query.party_kind,
            requested_by=query.user,
            via_node=query.from_node,
            purpose=purpose,
            valid_from_unix_ms=start,
            valid_until_unix_ms=until,
            status=GrantStatus.PENDING,
            created_at_unix_ms=now_ms,
        )
        await self._db.sharing.add_request(row)
        log.info("access to %s asked by %s via %s", dataset.id, query.party, query.from_node)
        return self.request_proto(row)

    async def requests_of(
        self, query: lpb.PeerQuery, dataset: str = ""
    ) -> lpb.ListRequestsResponse:
        """A party's own requests held here."""
        rows = await self._db.sharing.requested_by(query.party, dataset)
        return lpb.ListRequestsResponse(requests=[self.request_proto(r) for r in rows])

    async def list_requests(
        self, claims: Claims, req: lpb.ListRequestsRequest
    ) -> lpb.ListRequestsResponse:
        if req.incoming:
            self._at_home(claims, "reading the requests made to your datasets")
            rows = await self._db.sharing.incoming(claims.party, req.dataset)
            return lpb.ListRequestsResponse(requests=[self.request_proto(r) for r in rows])
        template = self.template(claims)
        out = await self.requests_of(self.local_query("list_requests", template), req.dataset)
        answers, missing = await ask_all(
            self.federation_nodes(), lambda n: self.peers.list_requests(n, template)
        )
        for answer in answers.values():
            out.requests.extend(
                r for r in answer.requests if not req.dataset or r.dataset == req.dataset
            )
        ordered = sorted(out.requests, key=lambda r: (-r.created_at_unix_ms, r.id))
        return lpb.ListRequestsResponse(requests=ordered, missing=missing)

    async def decide_request(
        self,
        claims: Claims,
        request_id: str,
        action: str,
        *,
        reason: str = "",
        valid_until_ms: int = 0,
    ) -> lpb.AccessRequest:
        """The owner grants, refuses or revokes (at its home node, as an administrator)."""
        self._at_home(claims, f"to {action} access")
        self._admin(claims, f"to {action} access")
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            row = await self._db.sharing.request_txn(tx, request_id)
            if row is None or row.owner != claims.party:
                raise NotFound(
                    "sharing.unknown_request",
                    f"request_id: no request {quote(request_id)} for a dataset of {claims.party}",
                    field="request_id",
                )
            status = after(row.status, action)
            until = None
            if action == "grant" and valid_until_ms:
                if not now_ms < valid_until_ms <= row.valid_until_unix_ms:
                    raise InvalidArgument(
                        "sharing.bad_request",
                        "valid_until_unix_ms: a grant may shorten the period asked for, not "
                        "lengthen it, and ends in the future",
                        field="valid_until_unix_ms",
                    )
                until = valid_until_ms
            await self._db.sharing.decide_txn(
                tx,
                request_id,
                status=status,
                by=claims.actor,
                reason=reason,
                now_ms=now_ms,
                valid_until_ms=until,
            )
        log.info("%s: %s %s for %s", row.dataset_id, claims.subject, status, row.requester)
        got = await self._db.sharing.request(request_id)
        assert got is not None
        return self.request_proto(got)
