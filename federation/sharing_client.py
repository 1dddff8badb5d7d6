"""Asking other nodes of the federation, on a party's behalf, for what they hold about logistics
and the sharing pool (`swf.v1.LogisticsPeer` on their peer port).

Every call carries a query signed by the node's `Signer` (core/signer.py), the one its outbox
and inbound side seal with (core/sharing.py; docs LOGISTICS.md §6): mutual TLS says which node
asks, the signature binds the party, its user, the keys, purpose, time and a nonce, so that the
node asked can check it and record it in the owner's access log.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

import grpc

from core.errors import Unavailable
from core.grpc_status import from_rpc_error
from core.sharing import NONCE_BYTES, sign_query
from core.signer import Signer
from core.trust import TrustView
from federation.channels import PeerChannels
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc

__all__ = ["SharingPeers"]

T = TypeVar("T")


class SharingPeers:
    def __init__(
        self,
        *,
        node_id: str,
        channels: PeerChannels,
        trust: Callable[[], TrustView],
        signer: Signer,
        clock_ms: Callable[[], int],
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
    ) -> None:
        self.node_id = node_id
        self._channels = channels
        self._trust = trust
        self._signer = signer
        self._clock_ms = clock_ms
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s

    def use_signer(self, signer: Signer) -> None:
        """Sign queries with `signer` from now on (a key rotation, PROTOCOL.md §2.9)."""
        self._signer = signer

    def new_nonce(self) -> bytes:
        return os.urandom(NONCE_BYTES)

    def query(self, to_node: str, action: str, template: lpb.PeerQuery) -> lpb.PeerQuery:
        """`template` addressed to `to_node` for `action`, stamped with this node, the time and
        a fresh nonce."""
        query = lpb.PeerQuery()
        query.CopyFrom(template)
        query.action = action
        query.from_node = self.node_id
        query.to_node = to_node
        query.issued_at_unix_ms = self._clock_ms()
        query.nonce = self.new_nonce()
        return query

    async def _stub(self, node: str) -> lgrpc.LogisticsPeerAsyncStub:
        route = self._channels.route_to(self._trust(), node)
        try:
            channel = await self._channels.ready(route, self._connect_timeout_s)
        except Unavailable as exc:
            raise Unavailable("sharing.unreachable", exc.message) from None
        return lgrpc.LogisticsPeerStub(channel)

    def _signed(self, node: str, action: str, template: lpb.PeerQuery) -> lpb.SignedQuery:
        query = self.query(node, action, template)
        return sign_query(query, self._signer.key, self._signer.key_id)

    async def _unary(
        self,
        node: str,
        action: str,
        template: lpb.PeerQuery,
        call: Callable[[lgrpc.LogisticsPeerAsyncStub, lpb.SignedQuery, float], Awaitable[T]],
    ) -> T:
        """One signed query for `action` to `node`; a failure as the node's reason, or
        `sharing.unreachable` when it gave none."""
        signed = self._signed(node, action, template)
        stub = await self._stub(node)
        try:
            return await call(stub, signed, self._timeout_s)
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(node, exc)
            raise mismatch or from_rpc_error(exc, default_reason="sharing.unreachable") from exc

    async def find_declarations(self, node: str, template: lpb.PeerQuery) -> lpb.PeerEvents:
        return await self._unary(
            node, "find_declarations", template, lambda s, q, t: s.FindDeclarations(q, timeout=t)
        )

    async def query_events(self, node: str, template: lpb.PeerQuery) -> lpb.PeerEvents:
        return await self._unary(
            node, "query_events", template, lambda s, q, t: s.QueryEvents(q, timeout=t)
        )

    async def watch_events(
        self, node: str, template: lpb.PeerQuery
    ) -> AsyncGenerator[lpb.PeerEvents, None]:
        """The node's answers as entries arrive there, until the call fails or is cancelled."""
        call = (await self._stub(node)).WatchEvents(self._signed(node, "watch_events", template))
        try:
            async for answer in call:
                yield answer
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(node, exc)
            raise mismatch or from_rpc_error(exc, default_reason="sharing.unreachable") from exc
        finally:
            call.cancel()

    async def list_datasets(self, node: str, template: lpb.PeerQuery) -> lpb.ListDatasetsResponse:
        return await self._unary(
            node, "list_datasets", template, lambda s, q, t: s.ListDatasets(q, timeout=t)
        )

    async def request_access(self, node: str, template: lpb.PeerQuery) -> lpb.AccessRequest:
        return await self._unary(
            node, "request_access", template, lambda s, q, t: s.RequestAccess(q, timeout=t)
        )

    async def list_requests(self, node: str, template: lpb.PeerQuery) -> lpb.ListRequestsResponse:
        return await self._unary(
            node, "list_requests", template, lambda s, q, t: s.ListRequests(q, timeout=t)
        )
