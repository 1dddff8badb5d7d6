"""Which direct neighbours answer: a Ping over the peer port to each, every poll interval."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from core.errors import SwnodeError
from core.grpc_status import from_rpc_error
from core.hops import is_direct_neighbour
from core.trust import TrustView
from federation.channels import PeerChannels
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2

__all__ = ["PeerState", "Reachability"]

log = logging.getLogger("swnode.reachability")


@dataclass
class PeerState:
    reachable: bool = False
    last_ok_unix_ms: int | None = None
    last_error: str | None = None
    rtt_ms: float | None = None  # the last Ping's round trip, when it was answered


class Reachability:
    def __init__(
        self,
        node_id: str,
        channels: PeerChannels,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
    ) -> None:
        self._node_id = node_id
        self._channels = channels
        self._trust = trust
        self._clock_ms = clock_ms
        self.peers: dict[str, PeerState] = {}

    def neighbours(self) -> list[pb.NodeEntry]:
        return [
            n
            for n in self._trust().nodes()
            if is_direct_neighbour(self._node_id, n.id) and n.status == pb.NODE_STATUS_ACTIVE
        ]

    async def _probe(self, node: pb.NodeEntry) -> None:
        state = self.peers.setdefault(node.id, PeerState())
        try:
            stub = self._channels.stub(self._channels.route_to(self._trust(), node.id))
            started = time.perf_counter()
            await stub.Ping(peer_pb2.PingRequest(), timeout=5)
            state.rtt_ms = (time.perf_counter() - started) * 1000
        except grpc.aio.AioRpcError as exc:
            state.reachable = False
            state.last_error = str(self._channels.mismatch(node.id, exc) or from_rpc_error(exc))
            return
        except SwnodeError as exc:
            state.reachable = False
            state.last_error = str(exc)
            return
        state.reachable = True
        state.last_ok_unix_ms = self._clock_ms()
        state.last_error = None

    async def probe_once(self) -> None:
        neighbours = self.neighbours()
        await asyncio.gather(*(self._probe(n) for n in neighbours))
        current = {n.id for n in neighbours}
        for gone in set(self.peers) - current:
            self.peers[gone].reachable = False

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.probe_once()
            except Exception:
                log.exception("probing peers failed")
            await asyncio.sleep(interval_s)
