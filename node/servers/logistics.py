"""gRPC servicers for logistics status: Logistics on the client port, LogisticsPeer on the peer
port (timelines read across the federation). Each method authenticates and hands over to
services (a peer's query is first verified as signed, services/sharing.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from core.errors import PermissionDenied
from core.trust import TrustView
from identity.accounts import Accounts
from node.servers.auth import caller
from node.servers.peer import peer_certificate
from node.servers.rpc import stream, unary
from services.logistics import Logistics
from services.sharing import Sharing
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc

Context = grpc.aio.ServicerContext[Any, Any]


class LogisticsService(lgrpc.LogisticsServicer):
    def __init__(self, accounts: Accounts, logistics: Logistics) -> None:
        self._a = accounts
        self._l = logistics

    @unary
    async def ReportEvents(
        self, request_iterator: AsyncIterator[lpb.ReportEventsRequest], context: Context
    ) -> lpb.ReportEventsResponse:
        return await self._l.report_stream(await caller(self._a, context), request_iterator)

    @unary
    async def GetTimeline(self, request: lpb.TimelineRequest, context: Context) -> lpb.Timeline:
        return await self._l.timeline(await caller(self._a, context), request)

    @unary
    async def ListMyEvents(
        self, request: lpb.ListMyEventsRequest, context: Context
    ) -> lpb.ListMyEventsResponse:
        return await self._l.my_events(await caller(self._a, context), request)

    @stream
    async def WatchTimeline(
        self, request: lpb.TimelineRequest, context: Context
    ) -> AsyncIterator[lpb.TimelineUpdate]:
        async for update in self._l.watch(await caller(self._a, context), request):
            yield update


class LogisticsPeerService(lgrpc.LogisticsPeerServicer):
    """Peer port: another node of the federation asks on a party's behalf, with a signed query
    (docs/LOGISTICS.md §6)."""

    def __init__(
        self,
        *,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        sharing: Sharing,
        logistics: Logistics,
    ) -> None:
        self._trust = trust
        self._clock_ms = clock_ms
        self._s = sharing
        self._l = logistics

    async def _query(
        self, request: lpb.SignedQuery, context: Context, action: str
    ) -> lpb.PeerQuery:
        node = self._trust().authenticate_peer(peer_certificate(context), self._clock_ms())
        return await self._s.verify(request, node.id, action)

    @unary
    async def FindDeclarations(self, request: lpb.SignedQuery, context: Context) -> lpb.PeerEvents:
        return await self._l.find_declarations(
            await self._query(request, context, "find_declarations")
        )

    @unary
    async def QueryEvents(self, request: lpb.SignedQuery, context: Context) -> lpb.PeerEvents:
        return await self._l.query_events(await self._query(request, context, "query_events"))

    @stream
    async def WatchEvents(
        self, request: lpb.SignedQuery, context: Context
    ) -> AsyncIterator[lpb.PeerEvents]:
        query = await self._query(request, context, "watch_events")
        async for answer in self._l.watch_events(query):
            trust = self._trust()
            if not trust.is_active(query.from_node):  # revoked while it watches
                raise PermissionDenied("peer.revoked", f"node {query.from_node} has been revoked")
            trust.require_valid(self._clock_ms())
            yield answer

    @unary
    async def ListDatasets(
        self, request: lpb.SignedQuery, context: Context
    ) -> lpb.ListDatasetsResponse:
        await self._query(request, context, "list_datasets")
        return await self._s.local_datasets()

    @unary
    async def RequestAccess(self, request: lpb.SignedQuery, context: Context) -> lpb.AccessRequest:
        return await self._s.accept_request(await self._query(request, context, "request_access"))

    @unary
    async def ListRequests(
        self, request: lpb.SignedQuery, context: Context
    ) -> lpb.ListRequestsResponse:
        query = await self._query(request, context, "list_requests")
        return await self._s.requests_of(query)


__all__ = ["LogisticsPeerService", "LogisticsService"]
