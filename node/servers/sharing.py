"""gRPC servicer for the data sharing pool: DataSharing on the client port (datasets, access
requests, grants and the access log). Each method authenticates and hands over to
services/sharing.py."""

from __future__ import annotations

from typing import Any

import grpc

from identity.accounts import Accounts
from node.servers.auth import caller
from node.servers.rpc import unary
from services.sharing import Sharing
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc

__all__ = ["DataSharingService"]

Context = grpc.aio.ServicerContext[Any, Any]


class DataSharingService(lgrpc.DataSharingServicer):
    def __init__(self, accounts: Accounts, sharing: Sharing) -> None:
        self._a = accounts
        self._s = sharing

    @unary
    async def ListDatasets(
        self, request: lpb.ListDatasetsRequest, context: Context
    ) -> lpb.ListDatasetsResponse:
        return await self._s.list_datasets(await caller(self._a, context), request)

    @unary
    async def PublishDataset(
        self, request: lpb.PublishDatasetRequest, context: Context
    ) -> lpb.Dataset:
        return await self._s.publish(await caller(self._a, context), request)

    @unary
    async def RequestAccess(
        self, request: lpb.RequestAccessRequest, context: Context
    ) -> lpb.AccessRequest:
        return await self._s.request_access(await caller(self._a, context), request)

    @unary
    async def ListRequests(
        self, request: lpb.ListRequestsRequest, context: Context
    ) -> lpb.ListRequestsResponse:
        return await self._s.list_requests(await caller(self._a, context), request)

    @unary
    async def Grant(self, request: lpb.GrantRequest, context: Context) -> lpb.AccessRequest:
        return await self._s.decide_request(
            await caller(self._a, context),
            request.request_id,
            "grant",
            valid_until_ms=request.valid_until_unix_ms,
        )

    @unary
    async def Refuse(self, request: lpb.RefuseRequest, context: Context) -> lpb.AccessRequest:
        return await self._s.decide_request(
            await caller(self._a, context), request.request_id, "refuse", reason=request.reason
        )

    @unary
    async def RevokeGrant(
        self, request: lpb.RevokeGrantRequest, context: Context
    ) -> lpb.AccessRequest:
        return await self._s.decide_request(
            await caller(self._a, context), request.request_id, "revoke", reason=request.reason
        )

    @unary
    async def AccessLog(
        self, request: lpb.AccessLogRequest, context: Context
    ) -> lpb.AccessLogResponse:
        return await self._s.access_log(await caller(self._a, context), request)
