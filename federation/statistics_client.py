"""Asking the provinces of this federation for their figures (`swf.v1.StatisticsPeer` on their
peer port), for a central answering for the whole federation (docs/DECLARATIONS.md)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from core.grpc_status import from_rpc_error
from core.ids import Role, federation_of, role_of
from core.trust import TrustView
from federation.channels import PeerChannels
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc

__all__ = ["StatisticsPeers"]


class StatisticsPeers:
    def __init__(
        self,
        *,
        node_id: str,
        channels: PeerChannels,
        trust: Callable[[], TrustView],
        timeout_s: float = 10.0,
    ) -> None:
        self._node_id = node_id
        self._channels = channels
        self._trust = trust
        self._timeout_s = timeout_s

    def provinces(self) -> list[str]:
        """The active provinces of this node's federation, as the directory lists them."""
        trust = self._trust()
        return [
            n.id
            for n in trust.nodes()
            if federation_of(n.id) == federation_of(self._node_id)
            and role_of(n.id) is Role.PROVINCE
            and trust.is_active(n.id)
        ]

    async def ask(self, node: str, request: dpb.StatisticsRequest) -> dpb.Statistics:
        """`node`'s own figures (UNAVAILABLE with a reason when it cannot answer)."""
        channel = self._channels.channel(self._channels.route_to(self._trust(), node))
        try:
            answer: dpb.Statistics = await dgrpc.StatisticsPeerStub(channel).GetStatistics(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(node, exc)
            raise mismatch or from_rpc_error(exc, default_reason="peer.unreachable") from exc
        return answer
