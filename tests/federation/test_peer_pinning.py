"""Calls to a peer accept only the server certificate the directory lists for it.

An in-process peer server on 127.0.0.1 presents a certificate from the federation's real CA;
a caller holding a directory that lists another certificate for that node refuses it in the
handshake, with `peer.certificate_mismatch`, and the server's handler never runs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core.errors import Unauthenticated
from core.grpc_status import from_rpc_error
from core.signing import fingerprint
from core.trust import TrustView
from federation.channels import PeerChannels, Route
from federation.tls import TlsIdentity
from identity.ca import create_ca, issue_certificate, make_csr
from identity.keys import private_pem
from swf.v1 import directory_pb2 as pb
from swf.v1 import envelope_pb2 as epb
from swf.v1 import peer_pb2, peer_pb2_grpc

pytestmark = pytest.mark.network


def pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


@dataclass
class Ca:
    """A federation CA issuing certificates valid now (TLS checks the validity period)."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        self.cert = create_ca("CN", self.key, int(time.time() * 1000))
        self.der = self.cert.public_bytes(Encoding.DER)

    def issue(self, node_id: str) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_certificate(
            ca_key=self.key,
            ca_cert=self.cert,
            csr=make_csr(node_id, key, ["127.0.0.1"]),
            node_id=node_id,
            now_ms=int(time.time() * 1000),
        )
        return key, cert.public_bytes(Encoding.DER)

    def identity(self, key: ec.EllipticCurvePrivateKey, cert: bytes) -> TlsIdentity:
        return TlsIdentity(private_pem(key), pem(cert) + pem(self.der))


class Counting(peer_pb2_grpc.PeerServicer):
    """A peer port that counts every call and frame that reaches it."""

    def __init__(self) -> None:
        self.calls = 0

    async def GetDirectory(
        self, request: peer_pb2.GetDirectoryRequest, context: Any
    ) -> pb.DirectoryBundle:
        self.calls += 1
        return pb.DirectoryBundle()

    async def Exchange(self, request_iterator: Any, context: Any) -> AsyncIterator[epb.AckFrame]:
        async for _ in request_iterator:
            self.calls += 1
            yield epb.AckFrame()

    async def NotifyDirectory(
        self, request: peer_pb2.DirectoryNotice, context: Any
    ) -> peer_pb2.DirectoryNoticeAck:
        self.calls += 1
        return peer_pb2.DirectoryNoticeAck()

    async def Ping(self, request: peer_pb2.PingRequest, context: Any) -> peer_pb2.PingResponse:
        self.calls += 1
        return peer_pb2.PingResponse(node_id="CN-SH")


@dataclass
class Peer:
    ca: Ca
    endpoint: str
    servicer: Counting
    presented: bytes  # the DER certificate the server presents


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    """CN-SH's peer port, presenting a certificate CN's CA issued."""
    ca = Ca()
    key, cert = ca.issue("CN-SH")
    servicer = Counting()
    server = grpc.aio.server()
    peer_pb2_grpc.add_PeerServicer_to_server(servicer, server)
    identity = ca.identity(key, cert)
    port = server.add_secure_port(
        "127.0.0.1:0",
        grpc.ssl_server_credentials([identity.pair], pem(ca.der), require_client_auth=True),
    )
    await server.start()
    try:
        yield Peer(ca, f"127.0.0.1:{port}", servicer, cert)
    finally:
        await server.stop(None)


def trust_listing(peer: Peer, *certificates: bytes) -> TrustView:
    """CN-GD's view of a CN directory that lists `certificates` for CN-SH at the peer."""
    nodes = [
        pb.NodeEntry(
            id="CN-SH",
            role=pb.ROLE_PROVINCE,
            status=pb.NODE_STATUS_ACTIVE,
            peer_endpoint=peer.endpoint,
            tls_certificate=certificate,
        )
        for certificate in certificates
    ]
    return TrustView.build(
        "CN-GD", pb.Directory(federation="CN", version=1, nodes=nodes, ca_certificate=peer.ca.der)
    )


async def ping(channels: PeerChannels, route: Route) -> peer_pb2.PingResponse:
    try:
        answer: peer_pb2.PingResponse = await channels.stub(route).Ping(
            peer_pb2.PingRequest(), timeout=5
        )
    except grpc.aio.AioRpcError as exc:
        raise channels.mismatch(route.node_id, exc) or from_rpc_error(exc) from exc
    return answer


@pytest.fixture
async def channels(peer: Peer) -> AsyncIterator[PeerChannels]:
    key, cert = peer.ca.issue("CN-GD")
    held = PeerChannels(peer.ca.identity(key, cert), max_message_bytes=1024)
    try:
        yield held
    finally:
        await held.close()


async def test_the_listed_certificate_is_accepted(peer: Peer, channels: PeerChannels) -> None:
    route = channels.route_to(trust_listing(peer, peer.presented), "CN-SH")
    assert route.pinned and route.trusted == (peer.presented,)
    assert (await ping(channels, route)).node_id == "CN-SH"
    assert peer.servicer.calls == 1


async def test_another_certificate_from_the_same_ca_is_refused_before_any_call(
    peer: Peer, channels: PeerChannels
) -> None:
    # The directory lists CN-SH's new certificate (it re-enrolled); the server at its address
    # still presents the old one, which the same CA issued and which carries the right name.
    _, listed = peer.ca.issue("CN-SH")
    route = channels.route_to(trust_listing(peer, listed), "CN-SH")
    with pytest.raises(Unauthenticated) as refused:
        await ping(channels, route)
    assert refused.value.reason == "peer.certificate_mismatch"
    assert "CN-SH" in refused.value.message
    assert fingerprint(listed) in refused.value.message
    assert peer.servicer.calls == 0


async def test_any_of_several_listed_certificates_is_accepted(
    peer: Peer, channels: PeerChannels
) -> None:
    # Room for key rotation: a route trusts every certificate listed for the node.
    _, other = peer.ca.issue("CN-SH")
    route = Route("CN-SH", peer.endpoint, (other, peer.presented), pinned=True)
    assert (await ping(channels, route)).node_id == "CN-SH"


async def test_a_bootstrap_route_trusts_the_ca(peer: Peer, channels: PeerChannels) -> None:
    route = Route.bootstrap("CN-SH", peer.endpoint, peer.ca.der)
    assert not route.pinned
    assert (await ping(channels, route)).node_id == "CN-SH"
