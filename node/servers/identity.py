"""gRPC servicers for identity: Identity on the client port, Registry on the peer port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from core.errors import PermissionDenied
from core.ids import federation_of
from core.trust import TrustView
from identity.accounts import Accounts
from identity.tokens import Claims
from node.servers.auth import caller, source_address
from node.servers.peer import peer_certificate
from node.servers.rpc import unary
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc

__all__ = ["IdentityService", "RegistryService", "principal"]

Context = grpc.aio.ServicerContext[Any, Any]


def principal(claims: Claims, verified_by: str) -> ipb.Principal:
    return ipb.Principal(
        subject=claims.subject,
        party=claims.party,
        party_kind=claims.party_kind,
        user=claims.user,
        home_node=claims.issuer,
        roles=list(claims.roles),
        party_roles=list(claims.party_roles),
        token_id=claims.token_id,
        expires_at_unix_ms=claims.expires_at_ms,
        verified_by=verified_by,
    )


class IdentityService(igrpc.IdentityServicer):
    def __init__(self, accounts: Accounts) -> None:
        self._a = accounts

    @unary
    async def RegisterEnterprise(
        self, request: ipb.RegisterEnterpriseRequest, context: Context
    ) -> ipb.Registration:
        return await self._a.registrations.register_enterprise(request, source_address(context))

    @unary
    async def GetRegistration(
        self, request: ipb.GetRegistrationRequest, context: Context
    ) -> ipb.Registration:
        return await self._a.registrations.registration(request.uscc)

    @unary
    async def Login(self, request: ipb.LoginRequest, context: Context) -> ipb.Tokens:
        forwarded = ipb.LoginRequest(
            party=request.party, user=request.user, password=request.password
        )
        return await self._a.sessions.login(forwarded, source_address(context))

    @unary
    async def Refresh(self, request: ipb.RefreshRequest, context: Context) -> ipb.Tokens:
        return await self._a.sessions.refresh(request.refresh_token)

    @unary
    async def Logout(self, request: ipb.LogoutRequest, context: Context) -> ipb.LogoutResponse:
        return await self._a.logout(await caller(self._a, context))

    @unary
    async def WhoAmI(self, request: ipb.WhoAmIRequest, context: Context) -> ipb.Principal:
        return principal(await caller(self._a, context), self._a.node_id)

    @unary
    async def AddUser(self, request: ipb.AddUserRequest, context: Context) -> ipb.User:
        return await self._a.users.add_user(await caller(self._a, context), request)

    @unary
    async def DisableUser(self, request: ipb.DisableUserRequest, context: Context) -> ipb.User:
        return await self._a.users.disable_user(await caller(self._a, context), request)

    @unary
    async def EnableUser(self, request: ipb.EnableUserRequest, context: Context) -> ipb.User:
        return await self._a.users.enable_user(await caller(self._a, context), request)

    @unary
    async def ListUsers(
        self, request: ipb.ListUsersRequest, context: Context
    ) -> ipb.ListUsersResponse:
        return await self._a.users.list_users(await caller(self._a, context))

    @unary
    async def LookupEnterprise(
        self, request: ipb.LookupEnterpriseRequest, context: Context
    ) -> ipb.EnterpriseProfile:
        return await self._a.national_registry.lookup(request.uscc)


class RegistryService(igrpc.RegistryServicer):
    """Peer port: only members of this federation may ask."""

    def __init__(
        self, accounts: Accounts, trust: Callable[[], TrustView], clock_ms: Callable[[], int]
    ) -> None:
        self._a = accounts
        self._trust = trust
        self._clock_ms = clock_ms

    def _member(self, context: Context) -> str:
        node = self._trust().authenticate_peer(peer_certificate(context), self._clock_ms())
        if federation_of(node.id) != federation_of(self._a.node_id):
            raise PermissionDenied(
                "registry.foreign", "the registry answers members of its own federation only"
            )
        return node.id

    @unary
    async def Register(self, request: ipb.RegistryEntry, context: Context) -> ipb.RegistryDecision:
        caller_id = self._member(context)
        if request.home_node != caller_id:
            raise PermissionDenied(
                "registry.not_home", "a node registers enterprises for itself only"
            )
        return await self._a.national_registry.register(request)

    @unary
    async def UpdateStatus(
        self, request: ipb.RegistryEntry, context: Context
    ) -> ipb.RegistryDecision:
        return await self._a.national_registry.update(self._member(context), request)

    @unary
    async def Lookup(
        self, request: ipb.LookupEnterpriseRequest, context: Context
    ) -> ipb.EnterpriseProfile:
        self._member(context)
        return await self._a.national_registry.lookup(request.uscc)

    @unary
    async def Login(self, request: ipb.LoginRequest, context: Context) -> ipb.Tokens:
        via = self._member(context)
        forwarded = ipb.LoginRequest(
            party=request.party,
            user=request.user,
            password=request.password,
            via_node=via,
            source=f"{via}:{request.source}",
        )
        return await self._a.sessions.login(forwarded, forwarded.source)
