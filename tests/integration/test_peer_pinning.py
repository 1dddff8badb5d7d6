"""A node re-enrols on new keys while a server holding its old certificate still answers at its
address (say, a thief of the old keys, or the old process left running): callers go by the
certificate the signed directory lists, refuse that server in the handshake and send it
nothing."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from core.signing import fingerprint
from identity.enrolment import Enrolled, enrol
from identity.keys import generate_node_keys, load_node_keys
from tests.conftest import run_coroutine
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, swnode
from tests.messages import inbox, outbox_row, statuses, submit, wait_statuses

pytestmark = [pytest.mark.network, pytest.mark.slow]


def re_enrol(net: Network, node_id: str, new_dir: Path) -> Enrolled:
    """What the operator of `node_id` does after its keys were stolen: new keys, a new
    invitation from the central, enrolment at the same addresses."""
    invited = swnode("invite", "--dir", str(net.dir("CN")), "--id", node_id)
    assert invited.returncode == 0, invited.stderr
    generate_node_keys(new_dir, central=False)
    config = net.config(node_id)
    return run_coroutine(
        enrol(
            node_id=node_id,
            invitation_text=invited.stdout.strip(),
            central=net.config("CN").client_endpoint,
            keys=load_node_keys(new_dir),
            hosts=[config.host, config.advertise_host],
            peer_endpoint=config.peer_endpoint,
            client_endpoint=config.client_endpoint,
        )
    )


def holds_version(net: Network, node_id: str, version: int) -> None:
    held = net.status(node_id)["directory"]["version"]
    assert held >= version, f"{node_id} holds directory v{held}, not yet v{version}"


def refused_for_mismatch(node_dir: Path, message_id: str) -> str:
    error = outbox_row(node_dir, message_id)["last_error"]
    assert error is not None and "peer.certificate_mismatch" in error, error
    return str(error)


def test_a_server_with_a_re_enrolled_nodes_old_certificate_receives_nothing(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0, poll_interval_s=0.5))
    gd, sh = net.dir("CN-GD"), net.dir("CN-SH")
    before = submit(gd, "CN-SH", 3)
    wait_statuses(gd, before, "delivered", timeout_s=30)

    # CN-SH re-enrols on new keys; its old process keeps serving, with the old certificate, at
    # the address the directory lists.
    enrolled = re_enrol(net, "CN-SH", tmp_path / "CN-SH-new")
    expected = fingerprint(enrolled.tls_cert.public_bytes(Encoding.DER))
    eventually(partial(holds_version, net, "CN-GD", enrolled.directory.version), timeout_s=20)

    after = submit(gd, "CN-SH", 5, payload=b"for the new CN-SH only")
    error = eventually(partial(refused_for_mismatch, gd, after[0]), timeout_s=30)
    assert "CN-SH" in error and expected in error, error

    time.sleep(1.0)  # room for anything that would still get through
    assert not {"delivered", "acknowledged"} & set(statuses(gd, after).values())
    received = {row["message_id"] for row in inbox(sh)}
    assert set(before) <= received
    assert not set(after) & received, "the server with the old certificate received payloads"
