"""gRPC servicer for cross-border certificates on the client port."""

from __future__ import annotations

from typing import Any

import grpc

from identity.accounts import Accounts
from node.servers.auth import caller
from node.servers.rpc import unary
from services.certificates import Certificates
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc

__all__ = ["CertificatesService"]

Context = grpc.aio.ServicerContext[Any, Any]


class CertificatesService(cgrpc.CertificatesServicer):
    def __init__(self, accounts: Accounts, certificates: Certificates) -> None:
        self._a = accounts
        self._c = certificates

    @unary
    async def ListCertificates(
        self, request: cpb.ListCertificatesRequest, context: Context
    ) -> cpb.ListCertificatesResponse:
        return await self._c.list_certificates(await caller(self._a, context), request)

    @unary
    async def GetCertificate(
        self, request: cpb.CertificateRef, context: Context
    ) -> cpb.CertificateRecord:
        return await self._c.get(await caller(self._a, context), request)

    @unary
    async def VerifyCertificate(
        self, request: cpb.CertificateRef, context: Context
    ) -> cpb.Verification:
        return await self._c.verify(await caller(self._a, context), request)

    @unary
    async def DecideCertificate(
        self, request: cpb.DecideCertificateRequest, context: Context
    ) -> cpb.CertificateRecord:
        return await self._c.decide(await caller(self._a, context), request)

    @unary
    async def CancelCertificate(
        self, request: cpb.CancelCertificateRequest, context: Context
    ) -> cpb.CertificateRecord:
        return await self._c.cancel(await caller(self._a, context), request)

    @unary
    async def ReplaceCertificate(
        self, request: cpb.ReplaceCertificateRequest, context: Context
    ) -> cpb.CertificateRecord:
        return await self._c.replace(await caller(self._a, context), request)
