"""A CA rotation in real TLS handshakes (PROTOCOL.md §2.9): a certificate from the new CA,
presented with the cross certificate, is accepted by a peer port that trusts only the old CA, by
one that trusts both, and by one that trusts only the new; without the cross certificate a peer
holding only the old CA refuses it in the handshake."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from federation.tls import TlsIdentity, chain_for, peer_channel_credentials, peer_port_credentials
from identity.ca import create_ca, cross_certify, issue_certificate, make_csr
from identity.keys import private_pem
from swf.v1 import peer_pb2, peer_pb2_grpc

pytestmark = pytest.mark.network


def now_ms() -> int:
    return int(time.time() * 1000)


class Rotation:
    """The old CA, the new one, and the cross certificate between them."""

    def __init__(self) -> None:
        self.old_key = ec.generate_private_key(ec.SECP256R1())
        self.old = create_ca("CN", self.old_key, now_ms())
        self.new_key = ec.generate_private_key(ec.SECP256R1())
        self.new = create_ca("CN", self.new_key, now_ms())
        self.cross = cross_certify(
            old_key=self.old_key, old_cert=self.old, new_cert=self.new, now_ms=now_ms()
        )

    def issue(
        self, node_id: str, *, new: bool
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_certificate(
            ca_key=self.new_key if new else self.old_key,
            ca_cert=self.new if new else self.old,
            csr=make_csr(node_id, key, ["127.0.0.1"]),
            node_id=node_id,
            now_ms=now_ms(),
        )
        return key, cert


class Pong(peer_pb2_grpc.PeerServicer):
    """A peer port that answers Ping only."""

    async def GetDirectory(self, request: Any, context: Any) -> Any:
        raise NotImplementedError

    def Exchange(self, request_iterator: Any, context: Any) -> Any:
        raise NotImplementedError

    async def NotifyDirectory(self, request: Any, context: Any) -> Any:
        raise NotImplementedError

    async def Ping(self, request: peer_pb2.PingRequest, context: Any) -> peer_pb2.PingResponse:
        return peer_pb2.PingResponse(node_id="CN-SH")


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


@pytest.fixture
def rotation() -> Rotation:
    return Rotation()


async def ping(rotation: Rotation, trusted: list[x509.Certificate], client: TlsIdentity) -> bool:
    """Whether CN-SH's peer port, accepting callers of the CAs `trusted`, answers `client`."""
    key, cert = rotation.issue("CN-SH", new=False)
    server_identity = TlsIdentity(private_pem(key), chain_for(cert, [rotation.old]))
    server = grpc.aio.server()
    peer_pb2_grpc.add_PeerServicer_to_server(Pong(), server)
    port = server.add_secure_port(
        "127.0.0.1:0",
        peer_port_credentials(server_identity, lambda: [der(c) for c in trusted]),
    )
    await server.start()
    channel = grpc.aio.secure_channel(
        f"127.0.0.1:{port}",
        peer_channel_credentials(client, [der(cert)]),
        options=[("grpc.ssl_target_name_override", "cn-sh.swnode")],
    )
    refused: grpc.StatusCode | None = None
    try:
        await peer_pb2_grpc.PeerStub(channel).Ping(peer_pb2.PingRequest(), timeout=5)
    except grpc.aio.AioRpcError as exc:
        refused = exc.code()
    finally:
        await channel.close(None)
        await server.stop(None)
    # A refusal in the handshake ends the call UNAVAILABLE; nothing else may go wrong.
    assert refused in (None, grpc.StatusCode.UNAVAILABLE), refused
    return refused is None


def new_caller(rotation: Rotation, cas: list[x509.Certificate]) -> TlsIdentity:
    key, cert = rotation.issue("CN-GD", new=True)
    return TlsIdentity(private_pem(key), chain_for(cert, cas))


async def test_the_chain_presented_is_the_leaf_and_the_cross_certificate(
    rotation: Rotation,
) -> None:
    _, cert = rotation.issue("CN-GD", new=True)
    chain = x509.load_pem_x509_certificates(
        chain_for(cert, [rotation.new, rotation.old, rotation.cross])
    )
    assert chain == [cert, rotation.cross]
    _, old = rotation.issue("CN-GD", new=False)
    chain = x509.load_pem_x509_certificates(
        chain_for(old, [rotation.new, rotation.old, rotation.cross])
    )
    assert chain == [old, rotation.old]


@pytest.mark.parametrize(
    "trusted", [["old"], ["old", "new"], ["new"]], ids=["old CA", "both", "new CA"]
)
async def test_a_new_ca_certificate_with_the_cross_certificate_is_accepted(
    rotation: Rotation, trusted: list[str]
) -> None:
    cas = [rotation.old if name == "old" else rotation.new for name in trusted]
    caller = new_caller(rotation, [rotation.new, rotation.old, rotation.cross])
    assert await ping(rotation, cas, caller)


async def test_without_the_cross_certificate_a_peer_of_the_old_ca_refuses(
    rotation: Rotation,
) -> None:
    caller = new_caller(rotation, [rotation.new])
    assert not await ping(rotation, [rotation.old], caller)
    # ...and a peer that trusts only the new CA refuses a certificate of the old one.
    key, cert = rotation.issue("CN-GD", new=False)
    old_caller = TlsIdentity(private_pem(key), chain_for(cert, [rotation.old]))
    assert not await ping(rotation, [rotation.new], old_caller)
