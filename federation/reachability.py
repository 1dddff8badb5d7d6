"""Which direct neighbours answer: a Ping over the peer port to each.

A neighbour that answered is asked again every `recheck_s` (five minutes), not every poll: with
31 provinces each the neighbour of every other, a Ping to each on a short timer would be most of
what an idle network does. One that did not answer is asked again after a backoff that doubles
from the poll interval up to `RETRY_CAP_S`; a neighbour new to the directory is asked at once
(`wake`).
"""

from __future__ import annotations

import asyncio
import contextlib
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

RECHECK_S = 300.0
RETRY_CAP_S = 60.0


@dataclass
class PeerState:
    reachable: bool = False
    last_ok_unix_ms: int | None = None
    last_error: str | None = None
    failures: int = 0
    next_probe_s: float = 0.0  # on the event loop's clock
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
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Probe the neighbours due now and any new to the directory (it changed)."""
        self._wake.set()

    def neighbours(self) -> list[pb.NodeEntry]:
        return [
            n
            for n in self._trust().nodes()
            if is_direct_neighbour(self._node_id, n.id) and n.status == pb.NODE_STATUS_ACTIVE
        ]

    async def _probe(self, node: pb.NodeEntry) -> None:
        state = self.peers.setdefault(node.id, PeerState())
        state.failures += 1  # undone below when it answers
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
        state.failures = 0

    async def probe_once(self, interval_s: float = 0.0, recheck_s: float = RECHECK_S) -> float:
        """Probe the neighbours that are due; the seconds until the next one is."""
        now = asyncio.get_running_loop().time()
        neighbours = self.neighbours()
        due = [
            n for n in neighbours if self.peers.setdefault(n.id, PeerState()).next_probe_s <= now
        ]
        await asyncio.gather(*(self._probe(n) for n in due))
        for n in due:
            state = self.peers[n.id]
            backoff_s = min(RETRY_CAP_S, interval_s * 2 ** min(state.failures - 1, 16))
            state.next_probe_s = now + (recheck_s if state.reachable else backoff_s)
        current = {n.id for n in neighbours}
        for gone in set(self.peers) - current:
            self.peers[gone].reachable = False
            self.peers[gone].next_probe_s = 0.0
        later = [self.peers[n].next_probe_s for n in current]
        return max(0.0, min(later) - now) if later else recheck_s

    async def run(self, interval_s: float, recheck_s: float = RECHECK_S) -> None:
        while True:
            self._wake.clear()
            wait_s = recheck_s
            try:
                wait_s = await self.probe_once(interval_s, recheck_s)
            except Exception:
                log.exception("probing peers failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait_s, 0.05))
