"""gRPC servicers for declarations: Declarations and AgencyWork on the client port. Each method
authenticates and hands over to services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from identity.accounts import Accounts
from node.servers.auth import caller
from node.servers.rpc import stream, unary
from services.declarations import Declarations
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc

Context = grpc.aio.ServicerContext[Any, Any]


class DeclarationsService(dgrpc.DeclarationsServicer):
    def __init__(
        self,
        accounts: Accounts,
        declarations: Declarations,
        statistics: Callable[[dpb.StatisticsRequest], Awaitable[dpb.Statistics]],
    ) -> None:
        self._a = accounts
        self._d = declarations
        self._statistics = statistics

    @unary
    async def Submit(self, request: dpb.SubmitRequest, context: Context) -> dpb.Declaration:
        return await self._d.submit(await caller(self._a, context), request.document)

    @unary
    async def Validate(self, request: dpb.SubmitRequest, context: Context) -> dpb.ValidationReport:
        return await self._d.validate_only(await caller(self._a, context), request.document)

    @unary
    async def Amend(self, request: dpb.AmendRequest, context: Context) -> dpb.Declaration:
        return await self._d.amend(
            await caller(self._a, context), request.declaration_id, request.document
        )

    @unary
    async def GetDeclaration(
        self, request: dpb.GetDeclarationRequest, context: Context
    ) -> dpb.Declaration:
        return await self._d.get(await caller(self._a, context), request.id)

    @unary
    async def ListDeclarations(
        self, request: dpb.ListDeclarationsRequest, context: Context
    ) -> dpb.ListDeclarationsResponse:
        return await self._d.list_declarations(await caller(self._a, context), request)

    @stream
    async def WatchDeclaration(
        self, request: dpb.WatchDeclarationRequest, context: Context
    ) -> AsyncIterator[dpb.DeclarationEvent]:
        async for event in self._d.watch(await caller(self._a, context), request.id):
            yield event

    @unary
    async def GetStatistics(
        self, request: dpb.StatisticsRequest, context: Context
    ) -> dpb.Statistics:
        await caller(self._a, context)
        return await self._statistics(request)


class AgencyWorkService(dgrpc.AgencyWorkServicer):
    def __init__(self, accounts: Accounts, declarations: Declarations) -> None:
        self._a = accounts
        self._d = declarations

    @unary
    async def ListWork(
        self, request: dpb.ListWorkRequest, context: Context
    ) -> dpb.ListWorkResponse:
        return await self._d.list_work(
            await caller(self._a, context), request.status, request.limit
        )

    @stream
    async def WatchWork(
        self, request: dpb.WatchWorkRequest, context: Context
    ) -> AsyncIterator[dpb.WorkItem]:
        async for item in self._d.watch_work(await caller(self._a, context)):
            yield item

    @unary
    async def Claim(self, request: dpb.ClaimRequest, context: Context) -> dpb.WorkItem:
        return await self._d.claim(await caller(self._a, context), request.work_id)

    @unary
    async def Decide(self, request: dpb.DecideRequest, context: Context) -> dpb.WorkItem:
        return await self._d.decide(await caller(self._a, context), request)


__all__ = ["AgencyWorkService", "DeclarationsService"]
