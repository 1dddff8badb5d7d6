"""Calls to other nodes about identities, over the peer port: the national registry at the
central node, and logins forwarded to a party's home node."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from core.errors import SwnodeError
from core.grpc_status import from_rpc_error
from core.ids import federation_of
from core.trust import TrustView
from federation.channels import PeerChannels
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc

__all__ = ["RegistryClient"]


class RegistryClient:
    def __init__(
        self, node_id: str, channels: PeerChannels, trust: Callable[[], TrustView]
    ) -> None:
        self._node_id = node_id
        self._channels = channels
        self._trust = trust

    def _stub(self, node_id: str) -> igrpc.RegistryAsyncStub:
        route = self._channels.route_to(self._trust(), node_id)
        return igrpc.RegistryStub(self._channels.channel(route))

    @property
    def central(self) -> str:
        return federation_of(self._node_id)

    async def register(self, entry: ipb.RegistryEntry, timeout_s: float) -> ipb.RegistryDecision:
        try:
            decision: ipb.RegistryDecision = await self._stub(self.central).Register(
                entry, timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(self.central, exc)
            raise mismatch or from_rpc_error(exc, default_reason="registry.unreachable") from exc
        return decision

    async def update_status(self, entry: ipb.RegistryEntry, timeout_s: float) -> None:
        try:
            await self._stub(self.central).UpdateStatus(entry, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(self.central, exc)
            raise mismatch or from_rpc_error(exc, default_reason="registry.unreachable") from exc

    async def lookup(self, uscc: str, timeout_s: float = 5) -> ipb.EnterpriseProfile:
        try:
            profile: ipb.EnterpriseProfile = await self._stub(self.central).Lookup(
                ipb.LookupEnterpriseRequest(uscc=uscc), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(self.central, exc)
            raise mismatch or from_rpc_error(exc, default_reason="registry.unreachable") from exc
        return profile

    async def login(
        self, home: str, request: ipb.LoginRequest, timeout_s: float = 15
    ) -> ipb.Tokens:
        try:
            tokens: ipb.Tokens = await self._stub(home).Login(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            mismatch = self._channels.mismatch(home, exc)
            raise mismatch or from_rpc_error(exc, default_reason="login.home_unreachable") from exc
        except SwnodeError:
            raise
        return tokens
