"""gRPC servicer for statistics between nodes: StatisticsPeer on the peer port, where a province
gives its figures to its own central node (docs/DECLARATIONS.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from core.errors import PermissionDenied
from core.ids import federation_of
from core.trust import TrustView
from node.servers.peer import peer_certificate
from node.servers.rpc import unary
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc

__all__ = ["StatisticsPeerService"]

Context = grpc.aio.ServicerContext[Any, Any]


class StatisticsPeerService(dgrpc.StatisticsPeerServicer):
    """Peer port: a province gives its figures to its own central node."""

    def __init__(
        self,
        node_id: str,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        own: Callable[[dpb.StatisticsRequest], Awaitable[dpb.Statistics]],
    ) -> None:
        self._node_id = node_id
        self._trust = trust
        self._clock_ms = clock_ms
        self._own = own

    @unary
    async def GetStatistics(
        self, request: dpb.StatisticsRequest, context: Context
    ) -> dpb.Statistics:
        node = self._trust().authenticate_peer(peer_certificate(context), self._clock_ms())
        if node.id != federation_of(self._node_id):
            raise PermissionDenied(
                "statistics.not_central", "only this federation's central node asks for figures"
            )
        return await self._own(
            dpb.StatisticsRequest(from_date=request.from_date, to_date=request.to_date)
        )
