"""The peer port's servicer: translates between gRPC and the federation layer, nothing more."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from core.errors import FailedPrecondition, PermissionDenied, Unauthenticated
from core.ids import federation_of
from core.trust import TrustView
from federation.inbound import Inbound
from identity.authority import Authority
from identity.directory_serving import DirectoryServing
from node.servers.rpc import stream, unary
from swf.v1 import directory_pb2 as pb
from swf.v1 import envelope_pb2 as epb
from swf.v1 import peer_pb2, peer_pb2_grpc

__all__ = ["PeerService", "peer_certificate"]

Context = grpc.aio.ServicerContext[Any, Any]


def peer_certificate(context: Context) -> bytes:
    """The DER certificate the caller presented in the mutual TLS handshake."""
    pems = list(context.auth_context().get("x509_pem_cert", ()))
    if not pems:
        raise Unauthenticated("peer.no_certificate", "the peer port needs a client certificate")
    return ssl.PEM_cert_to_DER_cert(pems[0].decode())


class PeerService(peer_pb2_grpc.PeerServicer):
    def __init__(
        self,
        *,
        node_id: str,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        authority: Authority | None,
        inbound: Inbound,
        directory_notice: Callable[[peer_pb2.DirectoryNotice], bool] = lambda _: False,
    ) -> None:
        self._node_id = node_id
        self._trust = trust
        self._clock_ms = clock_ms
        self._authority = authority
        self._inbound = inbound
        self._directory_notice = directory_notice
        self._serving = DirectoryServing(authority, trust) if authority is not None else None

    def authenticate(self, context: Context) -> pb.NodeEntry:
        return self._trust().authenticate_neighbour(peer_certificate(context), self._clock_ms())

    @unary
    async def GetDirectory(
        self, request: peer_pb2.GetDirectoryRequest, context: Context
    ) -> pb.DirectoryBundle:
        caller = self._trust().authenticate_directory_reader(
            peer_certificate(context), self._clock_ms()
        )
        if self._authority is None or self._serving is None:
            raise FailedPrecondition(
                "directory.not_central",
                f"{self._node_id} is a province node; fetch the directory from the central node",
            )
        member = federation_of(caller) == federation_of(self._node_id)
        # A member holds a version above any published here: this central was restored from an
        # older backup; it publishes above it first (PROTOCOL.md §2.9).
        restored = member and request.have_version > self._trust().version
        if restored and await self._authority.note_member_version(request.have_version):
            await self._serving.refresh()
        return await self._serving.answer(member=member, have_digest=request.have_digest)

    @stream
    async def Exchange(
        self, request_iterator: AsyncIterator[epb.EnvelopeFrame], context: Context
    ) -> AsyncIterator[epb.AckFrame]:
        peer = self.authenticate(context)
        async for frame in request_iterator:
            trust = self._trust()
            if not trust.is_active(peer.id):
                raise PermissionDenied("peer.revoked", f"node {peer.id} has been revoked")
            trust.require_valid(self._clock_ms())
            acks = await self._inbound.accept(
                peer.id, list(frame.envelopes), traceparents=list(frame.traceparents)
            )
            yield epb.AckFrame(acks=acks)

    @unary
    async def NotifyDirectory(
        self, request: peer_pb2.DirectoryNotice, context: Context
    ) -> peer_pb2.DirectoryNoticeAck:
        peer = self.authenticate(context)
        if peer.role != pb.ROLE_CENTRAL or peer.id == self._node_id:
            raise PermissionDenied(
                "directory.notice_not_central",
                f"{peer.id} is not a central node; only a central tells of a new directory",
            )
        self._directory_notice(request)
        return peer_pb2.DirectoryNoticeAck()

    @unary
    async def Ping(self, request: peer_pb2.PingRequest, context: Context) -> peer_pb2.PingResponse:
        self.authenticate(context)
        return peer_pb2.PingResponse(
            node_id=self._node_id,
            directory_version=self._trust().version,
            now_unix_ms=self._clock_ms(),
        )
