"""Driving a running test network from a test: each node's folder, config and keys, gRPC
channels to its peer and client ports as a given node (or as anyone), its ops endpoints, and
waiting for what an operator would wait for. The fixtures that start networks are in
tests/conftest.py; this module starts nothing by itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from core.grpc_status import FIELD_KEY, REASON_KEY
from core.ids import federation_of, tls_name
from federation.tls import peer_channel_credentials
from identity.ca import issue_certificate, make_csr
from identity.keys import NodeKeys, load_node_keys, private_pem
from node.config import NodeConfig, load_config
from node.devnet.network import Devnet, Settings
from swf.v1 import peer_pb2, peer_pb2_grpc

T = TypeVar("T")


@dataclass(frozen=True)
class NetworkSpec:
    """What to build: CN with `provinces` provinces (CN-GD, CN-SH, ...) and `foreign` foreign
    federations (SG, TH, ...) whose centrals trust CN, polling every `poll_interval_s`."""

    provinces: int = 2
    foreign: int = 1
    poll_interval_s: float = 0.5
    directory_validity_s: float = 3600.0
    # Agencies' work decided by the rule-based simulator, or left to the test.
    simulator: bool = True
    # Provinces in each foreign federation too (SG-01, ...).
    foreign_provinces: int = 0
    # CN's federation's crypto profile; foreign federations stay ed25519.
    crypto: str = "ed25519"

    @property
    def settings(self) -> Settings:
        return Settings(
            poll_interval_s=self.poll_interval_s,
            directory_validity_s=self.directory_validity_s,
            simulator=self.simulator,
            foreign_provinces=self.foreign_provinces,
            crypto=self.crypto,
        )


@dataclass(frozen=True)
class Refusal:
    """A failed gRPC call as a caller sees it: status code, and the node's reason code and
    field from the trailing metadata (None when the call never reached a handler)."""

    code: grpc.StatusCode
    reason: str | None
    field: str | None
    details: str


def outcome_of(call: Callable[[], object]) -> Refusal | None:
    """None if the call succeeded, else how it was refused."""
    try:
        call()
    except grpc.RpcError as exc:
        failed = cast(grpc.Call, exc)
        meta = dict(failed.trailing_metadata() or ())
        reason, field = meta.get(REASON_KEY), meta.get(FIELD_KEY)
        return Refusal(
            code=failed.code(),
            reason=str(reason) if reason is not None else None,
            field=str(field) if field is not None else None,
            details=failed.details() or "",
        )
    return None


def refusal_of(call: Callable[[], object]) -> Refusal:
    refusal = outcome_of(call)
    assert refusal is not None, "expected the call to be refused; it succeeded"
    return refusal


def eventually(check: Callable[[], T], *, timeout_s: float, interval_s: float = 0.1) -> T:
    """Call `check` until it stops failing an assertion; then return what it returned. After
    `timeout_s` the last assertion error is raised, so a failure says what was not reached."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval_s)


def swnode(
    *args: str, timeout_s: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `swnode` command line as an operator would, in its own process (with `stdin`
    as its standard input, e.g. a password for --password-stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "node", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def http_get(url: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (our node)
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


Metrics = dict[str, dict[tuple[tuple[str, str], ...], float]]


def parse_metrics(text: str) -> Metrics:
    """Prometheus text as {sample name: {sorted labels: value}}."""
    samples: Metrics = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


class Network:
    """A running test network built by node.devnet.network.Devnet."""

    def __init__(self, devnet: Devnet, spec: NetworkSpec) -> None:
        self.devnet = devnet
        self.spec = spec

    @property
    def root(self) -> Path:
        return self.devnet.root

    @property
    def ids(self) -> list[str]:
        return self.devnet.node_ids()

    def dir(self, node_id: str) -> Path:
        return self.devnet.node_dir(node_id)

    def config(self, node_id: str) -> NodeConfig:
        return load_config(self.dir(node_id))

    def keys(self, node_id: str) -> NodeKeys:
        return load_node_keys(self.dir(node_id))

    def ca_der(self, federation: str) -> bytes:
        """DER certificate of a federation's CA (from its central's folder)."""
        ca = self.keys(federation_of(federation)).ca_cert
        assert ca is not None
        return ca.public_bytes(Encoding.DER)

    def issue_with_real_ca(
        self, node_id: str, federation: str = "CN"
    ) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        """A new key and a DER certificate for `node_id` from `federation`'s real CA, which is
        not the certificate its directory lists (what a second enrolment gone wrong, or a thief
        of the CA's signature, would hold)."""
        keys = self.keys(federation)
        assert keys.ca_key is not None and keys.ca_cert is not None
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_certificate(
            ca_key=keys.ca_key,
            ca_cert=keys.ca_cert,
            csr=make_csr(node_id, key, ["127.0.0.1"]),
            node_id=node_id,
            now_ms=int(time.time() * 1000),
        )
        return key, cert.public_bytes(Encoding.DER)

    def log(self, node_id: str, tail: int = 3000) -> str:
        path = self.dir(node_id) / "node.log"
        return path.read_text()[-tail:] if path.exists() else ""

    # -- processes ---------------------------------------------------------------------------

    def stop(self, node_id: str) -> None:
        assert self.devnet.stop(node_id) == [node_id], f"{node_id} was not running"

    def start(self, node_id: str) -> None:
        assert self.devnet.start(node_id) == [node_id], f"{node_id} was already running"

    def wait_healthy(self, ids: list[str] | None = None, timeout_s: float = 60) -> None:
        self.devnet.wait_healthy(ids, timeout_s=timeout_s)

    # -- the ops port ------------------------------------------------------------------------

    def ops(self, node_id: str, path: str) -> tuple[int, bytes]:
        return http_get(self.config(node_id).ops_url + path)

    def status(self, node_id: str) -> dict[str, Any]:
        """The node's /status document (what `swnode status --json` prints)."""
        code, body = self.ops(node_id, "/status")
        assert code == 200, f"/status of {node_id} answered {code}"
        status = json.loads(body)
        assert isinstance(status, dict) and status.get("id") == node_id, status
        return status

    def healthz(self, node_id: str) -> tuple[int, dict[str, Any]]:
        code, body = self.ops(node_id, "/healthz")
        return code, json.loads(body)

    def metrics(self, node_id: str) -> Metrics:
        code, body = self.ops(node_id, "/metrics")
        assert code == 200
        return parse_metrics(body.decode())

    # -- gRPC --------------------------------------------------------------------------------

    def channel(
        self, node_id: str, credentials: grpc.ChannelCredentials, *, port: str = "peer"
    ) -> grpc.Channel:
        config = self.config(node_id)
        endpoint = config.peer_endpoint if port == "peer" else config.client_endpoint
        return grpc.secure_channel(
            endpoint, credentials, options=[("grpc.ssl_target_name_override", tls_name(node_id))]
        )

    def peer_channel(self, target: str, *, as_node: str) -> grpc.Channel:
        """A mutual-TLS channel to `target`'s peer port with `as_node`'s keys, as nodes dial."""
        credentials = peer_channel_credentials(
            self.keys(as_node).tls_identity(), [self.ca_der(federation_of(target))]
        )
        return self.channel(target, credentials)

    def client_channel(self, target: str) -> grpc.Channel:
        """A server-authenticated TLS channel to `target`'s client port, as clients dial: trusting
        every CA in its central's keys/ca.crt (both, during a CA rotation)."""
        ca_pem = (self.dir(federation_of(target)) / "keys" / "ca.crt").read_bytes()
        credentials = grpc.ssl_channel_credentials(ca_pem)
        return self.channel(target, credentials, port="client")

    def ping(self, target: str, *, as_node: str) -> peer_pb2.PingResponse:
        with self.peer_channel(target, as_node=as_node) as channel:
            response: peer_pb2.PingResponse = peer_pb2_grpc.PeerStub(channel).Ping(
                peer_pb2.PingRequest(), timeout=5
            )
            return response

    def ping_outcome(self, target: str, *, as_node: str) -> Refusal | None:
        """None if `target` answers a Ping from `as_node`, else how it refused."""
        return outcome_of(lambda: self.ping(target, as_node=as_node))

    def health(self, target: str, service: str = "") -> int:
        """grpc.health.v1 status of `target` as its client port reports it."""
        with self.client_channel(target) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=5
            )
            return int(response.status)


def credentials(
    *,
    root_ca_der: bytes,
    key: ec.EllipticCurvePrivateKey | None = None,
    chain: Sequence[bytes] = (),
) -> grpc.ChannelCredentials:
    """Channel credentials trusting `root_ca_der`, presenting `key` with the DER `chain` (leaf
    first) as client certificate, or no client certificate at all without `key`."""
    root = x509.load_der_x509_certificate(root_ca_der).public_bytes(Encoding.PEM)
    if key is None:
        return grpc.ssl_channel_credentials(root)
    pems = b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in chain)
    return grpc.ssl_channel_credentials(root, private_pem(key), pems)


def handshake_completes(channel: grpc.Channel, timeout_s: float = 1.0) -> bool:
    """True if the channel gets to READY (TLS handshake done, HTTP/2 set up) within `timeout_s`;
    on 127.0.0.1 an accepted handshake takes milliseconds."""
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
    except grpc.FutureTimeoutError:
        return False
    return True


NetworkFactory = Callable[[NetworkSpec], Network]
"""What `network_factory` and `module_network_factory` give a test: build, start and wait for a
network of this shape; it is stopped when the test (or module) ends."""
