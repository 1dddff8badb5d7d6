"""The node's log as JSON lines (`[log] format = "json"`): every line an object with the node's
id; the lines written about a message carry its id and its trace's ids, the same at every node
it crossed; and no secret in play during the flow — passwords, tokens, an invitation, the
nodes' private keys — is in any log, even at debug level."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opentelemetry.sdk.trace import TracerProvider

from federation.tracing import traceparent_of
from node.config import load_config, write_config
from node.devnet.network import Devnet
from node.operator import admin
from swf.v1 import declarations_pb2 as dpb
from tests.conftest import run_coroutine
from tests.declarations_client import example, office
from tests.harness import Network, NetworkSpec, eventually, swnode
from tests.identity_client import PASSWORD

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(240)]

EXPORTER = "91440300MA5G1234XY"
WRONG_PASSWORD = "not the password at all 7731"


@pytest.fixture(scope="module")
def json_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """CN, CN-GD and SG logging JSON lines at debug level; what they logged while the devnet
    was built (in text) is kept beside, as node.build.log, and checked for secrets too."""
    spec = NetworkSpec(provinces=1, foreign=1)
    devnet = Devnet(Path(tmp_path_factory.mktemp("json-logs")))
    try:
        run_coroutine(devnet.create(spec.provinces, spec.foreign, spec.settings))
    finally:
        devnet.stop()
    for node_id in devnet.node_ids():
        node_dir = devnet.node_dir(node_id)
        write_config(replace(load_config(node_dir), log_format="json", log_level="debug"))
        if (node_dir / "node.log").exists():  # CN ran, for the enrolments
            (node_dir / "node.log").rename(node_dir / "node.build.log")
    try:
        devnet.start()
        devnet.wait_healthy(timeout_s=60)
        network = Network(devnet, spec)

        # Started again, CN-GD may serve before its first directory refresh: the certificate
        # the test sends to SG needs the directory that trusts SG's federation, or it is issued
        # with delivery_failed ("SG is not the window of a federation this node trusts").
        def trusts_sg() -> None:
            directory = network.status("CN-GD")["directory"]
            assert "SG" in directory["trusted_federations"], directory
            assert "SG" in directory["foreign"], directory

        eventually(trusts_sg, timeout_s=30)
        yield network
    finally:
        devnet.stop()


def secrets_of_keys(node_dir: Path) -> dict[str, str]:
    """Every private key of a node, as the text a leak of it would show: its PEM body lines,
    and an Ed25519 key's raw bytes in hex and base64."""
    found: dict[str, str] = {}
    for path in sorted((node_dir / "keys").glob("*.key")):
        pem = path.read_text()
        body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
        for i, line in enumerate(body):
            found[f"{path.name} line {i}"] = line
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            raw = key.private_bytes_raw()
            found[f"{path.name} raw hex"] = raw.hex()
            found[f"{path.name} raw base64"] = base64.b64encode(raw).decode().rstrip("=")
            found[f"{path.name} raw base64url"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return found


def all_logs(network: Network) -> dict[str, str]:
    return {
        f"{node_id}/{path.name}": path.read_text(errors="replace")
        for node_id in network.ids
        for path in sorted(network.dir(node_id).glob("*.log"))
    }


def json_lines(network: Network, node_id: str) -> list[dict[str, object]]:
    lines = (network.dir(node_id) / "node.log").read_text().splitlines()
    assert lines, f"{node_id} logged nothing"
    parsed = []
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)  # every line is one JSON object
        assert isinstance(obj, dict), f"{node_id} node.log line {n}: {line}"
        assert obj["node"] == node_id and obj["level"] and "message" in obj, line
        parsed.append(obj)
    return parsed


def test_json_lines_carry_node_trace_and_message_ids_and_never_a_secret(
    json_network: Network, tmp_path: Path
) -> None:
    network = json_network
    secrets: dict[str, str] = {"enterprise password": PASSWORD, "wrong password": WRONG_PASSWORD}
    client = TracerProvider().get_tracer("trader")
    with office(network) as o:
        # Passwords and tokens: a registration, a failed login, logins, a refresh.
        exporter = o.enterprise(EXPORTER, home="CN-GD", roles=("declarant", "exporter"))
        secrets["access token"] = exporter.token
        refusal = None
        try:
            o.identity.login("CN-GD", EXPORTER, password=WRONG_PASSWORD)
        except grpc.RpcError as exc:
            refusal = exc.code()
        assert refusal == grpc.StatusCode.UNAUTHENTICATED
        tokens = o.identity.login("CN-GD", EXPORTER)
        secrets["second access token"] = tokens.access_token
        secrets["refresh token"] = tokens.refresh_token
        secrets["refresh secret"] = tokens.refresh_token.partition(".")[2]
        renewed = o.identity.refresh("CN-GD", tokens.refresh_token)
        secrets["renewed access token"] = renewed.access_token
        secrets["renewed refresh token"] = renewed.refresh_token
        customs = o.agency("SG", "customs")
        secrets["SG customs token"] = customs.token
        secrets["SG customs password"] = network.devnet.agency_login("SG", "customs")[1]
        # A certificate to SG through CN, in a trace the client starts.
        with client.start_as_current_span("apply") as span:
            applied = exporter.declarations.Submit(
                dpb.SubmitRequest(document=example("certificate_of_origin_application")),
                metadata=(*exporter.meta, ("traceparent", traceparent_of(span))),
                timeout=30,
            )
        exporter.wait_status(applied.id, "approved", timeout_s=60)
    # An invitation, used: the central sees its secret when a province enrols with it.
    invited = swnode("invite", "--dir", str(network.dir("CN")), "--id", "CN-SH")
    assert invited.returncode == 0, invited.stderr
    token = re.search(r"swn1\.\S+", invited.stdout)
    assert token is not None, invited.stdout
    secrets["invitation"] = token.group()
    secrets["invitation secret"] = token.group().split(".")[2]
    province = tmp_path / "CN-SH"
    ports = admin.free_ports("127.0.0.1", 3)
    made = swnode(
        "init", "--dir", str(province), "--id", "CN-SH", "--role", "province",
        "--peer-port", str(ports[0]), "--client-port", str(ports[1]), "--ops-port", str(ports[2]),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    central = network.config("CN").client_endpoint
    enrolled = swnode(
        "enroll", "--dir", str(province), "--central", central, "--token", token.group()
    )
    assert enrolled.returncode == 0, enrolled.stderr
    for node_id in network.ids:
        secrets.update(
            {f"{node_id} {k}": v for k, v in secrets_of_keys(network.dir(node_id)).items()}
        )
    secrets.update({f"CN-SH {k}": v for k, v in secrets_of_keys(province).items()})

    trace_id = f"{span.get_span_context().trace_id:032x}"
    # The certificate's arrival at SG is logged in the client's trace, with its message id.
    arrived = eventually(
        lambda: _arrival(json_lines(network, "SG"), trace_id), timeout_s=30, interval_s=0.5
    )
    message_id = arrived["message_id"]
    relayed = [
        line
        for line in json_lines(network, "CN")
        if line.get("message_id") == message_id and line.get("trace_id") == trace_id
    ]
    assert relayed, f"CN logged nothing about {message_id} in trace {trace_id}"
    assert all(re.fullmatch(r"[0-9a-f]{16}", str(line["span_id"])) for line in relayed)

    network.devnet.stop()  # everything flushed to the files
    logs = all_logs(network)
    assert any(name.endswith("node.build.log") for name in logs)
    for name, text in logs.items():
        for what, secret in secrets.items():
            assert secret and secret not in text, f"{name} holds the {what}"


def _arrival(lines: list[dict[str, object]], trace_id: str) -> dict[str, object]:
    found = [
        line
        for line in lines
        if line.get("trace_id") == trace_id
        and line.get("message_id")
        and str(line["message"]).startswith("stored ")
    ]
    stored = [
        (line.get("trace_id"), line.get("message_id"), line.get("time"))
        for line in lines
        if str(line.get("message", "")).startswith("stored ")
    ]
    assert found, f"SG has logged no message stored in trace {trace_id}; stored: {stored}"
    return found[0]
