"""`swnode conformance` against real nodes (every clause passes) and against a deliberately faulty
double of a node (exactly the clause that names its fault fails)."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any, cast

import grpc
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from conformance import runner
from core.errors import SwnodeError
from core.grpc_status import REASON_KEY, TABLE
from core.ids import tls_name
from core.trust import TrustView
from federation.tls import peer_channel_credentials
from identity.keys import cert_pem, private_pem
from swf.v1 import envelope_pb2 as pb
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.harness import Network, NetworkFactory, NetworkSpec, swnode
from tests.messages import received_from, submit, wait_statuses

pytestmark = [pytest.mark.network, pytest.mark.slow]

Fault = Callable[[pb.AckFrame], pb.AckFrame]


@pytest.fixture(scope="module")
def network(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(provinces=2, foreign=1, foreign_provinces=True))


def failing(results: list[runner.Result]) -> list[str]:
    return [r.section for r in results if not r.passed]


def test_every_clause_passes_against_swnode(network: Network) -> None:
    for node_id in ("CN-GD", "CN"):
        target = network.config(node_id).peer_endpoint
        results = runner.run(runner.connect(target, network.root))
        assert failing(results) == [], runner.render(results, as_json=False)
        # SG calls CN-GD, SG-01 calls CN: nothing is left out.
        assert [r.section for r in results if r.skipped] == []
    done = swnode(
        "conformance", "--target", network.config("CN-GD").peer_endpoint,
        "--dir", str(network.root), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(r["passed"] for r in json.loads(done.stdout))


class Double(peer_pb2_grpc.PeerServicer):
    """CN-GD as the runner sees it: its listed certificate, its peer authentication, and every
    call passed on to the real CN-GD as CN-SH, each AckFrame changed by `fault` on the way
    back."""

    def __init__(self, network: Network, fault: Fault) -> None:
        self.fault = fault
        self.trust = TrustView.build(
            "CN-GD",
            runner.fetch_directory(network.root, "CN", "CN-SH"),
            {"SG": runner.fetch_directory(network.root, "SG", "SG")},
        )
        gd = network.keys("CN-GD")
        assert gd.tls_cert is not None
        self.channel = grpc.secure_channel(
            network.config("CN-GD").peer_endpoint,
            peer_channel_credentials(
                network.keys("CN-SH").tls_identity(), [gd.tls_cert.public_bytes(Encoding.DER)]
            ),
            options=[("grpc.ssl_target_name_override", tls_name("CN-GD"))],
        )
        self.stub = peer_pb2_grpc.PeerStub(self.channel)

    def _check_caller(self, context: grpc.ServicerContext) -> None:
        """Peer authentication as CN-GD does it (§2.6), with CN-GD's view of the directories."""
        pem = cast(bytes, next(iter(context.auth_context().get("x509_pem_cert", [b""]))))
        try:
            self.trust.authenticate_neighbour(
                ssl.PEM_cert_to_DER_cert(pem.decode()), int(time.time() * 1000)
            )
        except SwnodeError as exc:
            context.set_trailing_metadata(((REASON_KEY, exc.reason),))
            context.abort(TABLE[exc.kind], exc.message)

    def _forward(self, call: Callable[[], Any], context: grpc.ServicerContext) -> Any:
        try:
            return call()
        except grpc.RpcError as exc:
            failed = cast(grpc.Call, exc)
            context.set_trailing_metadata(failed.trailing_metadata() or ())
            context.abort(failed.code(), failed.details() or "")

    def Ping(self, request: peer_pb2.PingRequest, context: grpc.ServicerContext) -> Any:
        self._check_caller(context)
        return self._forward(lambda: self.stub.Ping(request, timeout=5), context)

    def GetDirectory(
        self, request: peer_pb2.GetDirectoryRequest, context: grpc.ServicerContext
    ) -> Any:
        self._check_caller(context)
        return self._forward(lambda: self.stub.GetDirectory(request, timeout=5), context)

    def NotifyDirectory(
        self, request: peer_pb2.DirectoryNotice, context: grpc.ServicerContext
    ) -> Any:
        self._check_caller(context)
        return self._forward(lambda: self.stub.NotifyDirectory(request, timeout=5), context)

    def Exchange(
        self, request_iterator: Iterator[pb.EnvelopeFrame], context: grpc.ServicerContext
    ) -> Iterator[pb.AckFrame]:
        self._check_caller(context)
        for frame in self.stub.Exchange(request_iterator, timeout=10):
            yield self.fault(frame)


@contextmanager
def double(network: Network, fault: Fault) -> Iterator[str]:
    gd, sg_ca = network.keys("CN-GD"), network.keys("SG").ca_cert
    assert gd.tls_cert is not None and gd.ca_cert is not None and sg_ca is not None
    server = grpc.server(futures.ThreadPoolExecutor(4))
    service = Double(network, fault)
    peer_pb2_grpc.add_PeerServicer_to_server(service, server)
    credentials = grpc.ssl_server_credentials(
        [(private_pem(gd.tls_key), cert_pem(gd.tls_cert) + cert_pem(gd.ca_cert))],
        root_certificates=cert_pem(gd.ca_cert) + cert_pem(sg_ca),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)
        service.channel.close()


def reversed_acks(frame: pb.AckFrame) -> pb.AckFrame:
    return pb.AckFrame(acks=list(reversed(frame.acks)))


def wrong_receipt_signatures(frame: pb.AckFrame) -> pb.AckFrame:
    out = pb.AckFrame()
    out.CopyFrom(frame)
    for ack in out.acks:
        if ack.HasField("receipt"):
            sig = ack.receipt.signature.signature
            ack.receipt.signature.signature = bytes([sig[0] ^ 1]) + sig[1:]
    return out


@pytest.mark.parametrize(
    ("fault", "clause"),
    [
        (lambda frame: frame, None),
        (reversed_acks, runner.CLAUSES[6][0]),
        (wrong_receipt_signatures, runner.CLAUSES[7][0]),
    ],
    ids=["faithful", "acks-reversed", "receipts-signed-wrong"],
)  # fmt: skip
def test_a_faulty_node_fails_exactly_the_clause_of_its_fault(
    network: Network, fault: Fault, clause: str | None
) -> None:
    with double(network, fault) as target:
        results = runner.run(runner.connect(target, network.root, "CN-GD"))
    assert clause is None or clause in {r.clause for r in results}
    wrong = [r.clause for r in results if not r.passed]
    assert wrong == ([clause] if clause else []), runner.render(results, as_json=False)


def test_a_message_reaches_a_foreign_province_through_both_centrals(network: Network) -> None:
    """PROTOCOL.md §5.5, now that a devnet can have one: CN-GD → CN → SG → SG-01, and the
    end-to-end receipt comes back (§5.6)."""
    (mid,) = submit(network.dir("CN-GD"), "SG-01", 1)
    wait_statuses(network.dir("CN-GD"), [mid], "delivered", timeout_s=20)
    assert mid in received_from(network.dir("SG-01"), "CN-GD")
