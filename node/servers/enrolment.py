"""The client port's servicers: thin translations onto the identity layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from core.errors import FailedPrecondition
from identity.authority import Authority
from node.servers.rpc import unary
from swf.v1 import enrolment_pb2 as epb
from swf.v1 import enrolment_pb2_grpc as egrpc

__all__ = ["EnrolmentService"]

Context = grpc.aio.ServicerContext[Any, Any]


class EnrolmentService(egrpc.EnrolmentServicer):
    def __init__(
        self,
        node_id: str,
        authority: Authority | None,
        published: Callable[[], Awaitable[object]],
    ) -> None:
        self._node_id = node_id
        self._authority = authority
        self._published = published

    @unary
    async def Enrol(self, request: epb.EnrolRequest, context: Context) -> epb.EnrolResponse:
        if self._authority is None:
            raise FailedPrecondition(
                "enrol.not_central",
                f"{self._node_id} is a province node; enrol with your federation's central node",
            )
        response = await self._authority.enrol(request)
        await self._published()  # serve the new member at once, not at the next poll
        return response
