"""The peer port takes mutual TLS only, and only from the certificate the directory lists."""

from __future__ import annotations

from functools import partial

import grpc
import pytest
from cryptography import x509

from core.directory import verify_directory
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.factories import Federation
from tests.harness import Network, credentials, handshake_completes, refusal_of

pytestmark = pytest.mark.network


def ping(channel: grpc.Channel) -> peer_pb2.PingResponse:
    response: peer_pb2.PingResponse = peer_pb2_grpc.PeerStub(channel).Ping(
        peer_pb2.PingRequest(), timeout=5
    )
    return response


def test_a_member_completes_the_handshake(shared_network: Network) -> None:
    with shared_network.peer_channel("CN-GD", as_node="CN-SH") as channel:
        assert handshake_completes(channel, timeout_s=5)
        assert ping(channel).node_id == "CN-GD"


def test_a_client_without_a_certificate_is_refused_in_the_handshake(
    shared_network: Network,
) -> None:
    anonymous = credentials(root_ca_der=shared_network.ca_der("CN"))
    with shared_network.channel("CN-GD", anonymous) as channel:
        assert not handshake_completes(channel)
        refused = refusal_of(partial(ping, channel))
    assert refused.code == grpc.StatusCode.UNAVAILABLE
    assert refused.reason is None  # never reached the node's handlers


def test_a_certificate_from_an_untrusted_ca_is_refused_in_the_handshake(
    shared_network: Network,
) -> None:
    # A CA of the same name, "swnode CN federation CA", with its own key: not CN's CA.
    rogue = Federation("CN")
    impostor = rogue.issue("CN-SH")
    creds = credentials(
        root_ca_der=shared_network.ca_der("CN"),
        key=impostor.tls_key,
        chain=[impostor.certificate, rogue.ca_der],
    )
    for target in ("CN", "CN-GD", "SG"):
        with shared_network.channel(target, creds) as channel:
            assert not handshake_completes(channel), target
            refused = refusal_of(partial(ping, channel))
        assert refused.code == grpc.StatusCode.UNAVAILABLE, target
        assert refused.reason is None


def test_the_right_ca_but_not_the_listed_certificate_is_unauthenticated(
    shared_network: Network,
) -> None:
    key, cert = shared_network.issue_with_real_ca("CN-SH")
    ca = shared_network.ca_der("CN")
    creds = credentials(root_ca_der=ca, key=key, chain=[cert, ca])
    for target in ("CN", "CN-GD", "SG"):
        if target == "SG":
            creds = credentials(root_ca_der=shared_network.ca_der("SG"), key=key, chain=[cert, ca])
        with shared_network.channel(target, creds) as channel:
            assert handshake_completes(channel, timeout_s=5), target
            refused = refusal_of(partial(ping, channel))
        assert refused.code == grpc.StatusCode.UNAUTHENTICATED, target
        assert refused.reason == "peer.certificate_mismatch", target
        assert "CN-SH" in refused.details


def test_a_certificate_for_a_node_not_in_the_directory_is_unknown(
    shared_network: Network,
) -> None:
    key, cert = shared_network.issue_with_real_ca("CN-ZJ")
    ca = shared_network.ca_der("CN")
    stranger = credentials(root_ca_der=ca, key=key, chain=[cert, ca])
    with shared_network.channel("CN-GD", stranger) as channel:
        refused = refusal_of(partial(ping, channel))
    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "peer.unknown")


def test_a_province_fetches_the_signed_directory_from_its_central(
    shared_network: Network,
) -> None:
    with shared_network.peer_channel("CN", as_node="CN-GD") as channel:
        bundle = peer_pb2_grpc.PeerStub(channel).GetDirectory(
            peer_pb2.GetDirectoryRequest(), timeout=5
        )
    key = shared_network.keys("CN").directory_public
    assert key is not None
    directory = verify_directory(bundle.own, directory_key=key, federation="CN")
    assert sorted(n.id for n in directory.nodes) == ["CN", "CN-GD", "CN-SH"]
    assert [a.federation for a in directory.trusted_federations] == ["SG"]
    assert x509.load_der_x509_certificate(directory.ca_certificate).subject.rfc4514_string() == (
        shared_network.keys("CN").ca_cert.subject.rfc4514_string()  # type: ignore[union-attr]
    )
    sg_key = shared_network.keys("SG").directory_public
    assert sg_key is not None
    [foreign] = bundle.foreign
    assert verify_directory(foreign, directory_key=sg_key, federation="SG").federation == "SG"


def test_a_province_does_not_serve_the_directory(shared_network: Network) -> None:
    with shared_network.peer_channel("CN-SH", as_node="CN-GD") as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        refused = refusal_of(lambda: stub.GetDirectory(peer_pb2.GetDirectoryRequest(), timeout=5))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.reason == "directory.not_central"


def test_an_echoed_digest_is_answered_not_modified_and_a_foreign_central_is_tagged_apart(
    shared_network: Network,
) -> None:
    with shared_network.peer_channel("CN", as_node="CN-GD") as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        whole = stub.GetDirectory(peer_pb2.GetDirectoryRequest(), timeout=5)
        again = stub.GetDirectory(peer_pb2.GetDirectoryRequest(have_digest=whole.digest), timeout=5)
        stale = stub.GetDirectory(peer_pb2.GetDirectoryRequest(have_digest=b"x" * 32), timeout=5)
    assert len(whole.digest) == 32 and not whole.not_modified
    assert again.not_modified and again.digest == whole.digest
    assert not again.HasField("own") and not again.foreign
    assert again.ByteSize() < 64 < whole.ByteSize()
    assert not stale.not_modified and stale.own == whole.own and stale.digest == whole.digest
    # SG's answer holds no foreign directories, so a member's digest is not SG's.
    with shared_network.peer_channel("CN", as_node="SG") as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        borrowed = stub.GetDirectory(
            peer_pb2.GetDirectoryRequest(have_digest=whole.digest), timeout=5
        )
        own = stub.GetDirectory(
            peer_pb2.GetDirectoryRequest(have_digest=borrowed.digest), timeout=5
        )
    assert not borrowed.not_modified and not borrowed.foreign and borrowed.own == whole.own
    assert borrowed.digest != whole.digest and own.not_modified
