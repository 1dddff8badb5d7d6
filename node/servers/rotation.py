"""The central's `Rotation` servicer on the peer port: a member asks to list a new key of its
own (docs/PROTOCOL.md §2.9). It authenticates the caller and hands over; the authority decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from core.errors import FailedPrecondition, PermissionDenied
from core.ids import federation_of
from core.trust import TrustView
from identity.authority import Authority
from identity.rotation_requests import renew_requested, rotate_requested
from node.servers.peer import peer_certificate
from node.servers.rpc import unary
from swf.v1 import peer_pb2, peer_pb2_grpc

__all__ = ["RotationService"]

Context = grpc.aio.ServicerContext[Any, Any]


class RotationService(peer_pb2_grpc.RotationServicer):
    def __init__(
        self,
        *,
        node_id: str,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        authority: Authority | None,
    ) -> None:
        self._node_id = node_id
        self._trust = trust
        self._clock_ms = clock_ms
        self._authority = authority

    @unary
    async def RotateKey(
        self, request: peer_pb2.RotateKeyRequest, context: Context
    ) -> peer_pb2.RotateKeyResponse:
        authority = self._authority_for(context)
        return await rotate_requested(authority, self._caller(context), request)

    @unary
    async def RenewCertificate(
        self, request: peer_pb2.RenewCertificateRequest, context: Context
    ) -> peer_pb2.RenewCertificateResponse:
        # A member whose certificate is a retired CA's may still ask for a new one (§2.9).
        authority = self._authority_for(context, retired_ca_ok=True)
        return await renew_requested(authority, self._caller(context, retired_ca_ok=True), request)

    def _caller(self, context: Context, *, retired_ca_ok: bool = False) -> str:
        trust, now = self._trust(), self._clock_ms()
        return trust.authenticate_peer(
            peer_certificate(context), now, retired_ca_ok=retired_ca_ok
        ).id

    def _authority_for(self, context: Context, *, retired_ca_ok: bool = False) -> Authority:
        caller = self._caller(context, retired_ca_ok=retired_ca_ok)
        if self._authority is None:
            raise FailedPrecondition(
                "rotate.not_central",
                f"{self._node_id} is a province node; keys are rotated at the central node",
            )
        if federation_of(caller) != federation_of(self._node_id):
            raise PermissionDenied(
                "peer.cross_border", f"{caller} is not a member of {self._node_id}"
            )
        return self._authority
