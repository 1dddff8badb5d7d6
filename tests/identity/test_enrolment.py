"""Enrolling a province with a running central, as `swnode enroll` does: the token is single-use,
expires, binds one node id, and pins the central's certificate; the node proves it holds its
keys. Every refusal says which input was wrong, and adds nothing to the central's registry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from core.errors import PermissionDenied, SwnodeError
from core.ids import Role
from core.invitation import Invitation
from core.signing import fingerprint
from identity.keys import load_node_keys
from node.config import load_config
from node.operator import admin
from node.operator.status import offline_status
from swf.v1 import enrolment_pb2_grpc as egrpc
from tests.factories import enrol_request, fresh_keys
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, refusal_of, swnode

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def network(module_network_factory: NetworkFactory) -> Network:
    """CN and CN-GD; the tests here enrol more provinces (they are not started)."""
    return module_network_factory(NetworkSpec(provinces=1, foreign=0))


def central(network: Network) -> str:
    """The central's client port, where provinces enrol."""
    return network.config("CN").client_endpoint


async def new_province(parent: Path, node_id: str) -> Path:
    config = await admin.init_node(
        admin.InitOptions(node_dir=parent / node_id, node_id=node_id, role=Role.PROVINCE)
    )
    return config.dir


async def members(network: Network) -> list[str]:
    db = await admin.open_db(network.config("CN"))
    try:
        return [m.node_id for m in await db.membership.members()]
    finally:
        await db.close()


async def enrol_refusal(node_dir: Path, central: str, token: str) -> SwnodeError:
    with pytest.raises(SwnodeError) as refused:
        await admin.enroll_node(node_dir, central, token)
    assert not load_node_keys(node_dir).enrolled
    return refused.value


async def test_a_province_enrols_once_with_its_token(network: Network, tmp_path: Path) -> None:
    token = (await admin.invite(network.dir("CN"), "CN-ZJ", "10m")).encode()
    node_dir = await new_province(tmp_path, "CN-ZJ")
    directory = await admin.enroll_node(node_dir, central(network), token)

    assert "CN-ZJ" in [n.id for n in directory.nodes]
    assert load_node_keys(node_dir).enrolled
    config = load_config(node_dir)
    assert config.central_peer_endpoint == network.config("CN").peer_endpoint
    assert config.central_client_endpoint == central(network)
    held = await offline_status(config)
    assert held["directory"]["version"] == directory.version and held["directory"]["valid"]
    assert "CN-ZJ" in await members(network)

    # The rest of the federation learns of it from the next directory it fetches.
    def listed() -> None:
        assert "CN-ZJ" in [p["id"] for p in network.status("CN-GD")["peers"]]

    eventually(listed, timeout_s=10)

    # The same token again, from another folder: refused, naming the token.
    again = await new_province(tmp_path / "again", "CN-ZJ")
    refused = await enrol_refusal(again, central(network), token)
    assert isinstance(refused, PermissionDenied)
    assert (refused.reason, refused.field) == ("invitation.used", "token")
    assert "token: this invitation was already used" in refused.message

    done = swnode("enroll", "--dir", str(again), "--central", central(network), "--token", token)
    assert done.returncode == 2
    assert "token: this invitation was already used" in done.stderr


async def test_an_expired_token_is_refused(network: Network, tmp_path: Path) -> None:
    token = (await admin.invite(network.dir("CN"), "CN-JS", "0.5s")).encode()
    node_dir = await new_province(tmp_path, "CN-JS")
    await asyncio.sleep(0.7)
    refused = await enrol_refusal(node_dir, central(network), token)
    assert (refused.reason, refused.field) == ("invitation.expired", "token")
    assert "token: this invitation has expired" in refused.message
    assert "CN-JS" not in await members(network)


async def test_a_token_binds_the_node_it_was_made_for(network: Network, tmp_path: Path) -> None:
    invitation = await admin.invite(network.dir("CN"), "CN-FJ", "10m")
    before = await members(network)
    node_dir = await new_province(tmp_path, "CN-SD")
    refused = await enrol_refusal(node_dir, central(network), invitation.encode())
    assert (refused.reason, refused.field) == ("invitation.wrong_node", "token")
    assert refused.message.startswith("token: this invitation is for CN-FJ")

    # The central checks too, whatever the enrolling software does.
    with network.client_channel("CN") as channel:
        request = enrol_request(invitation, fresh_keys(), node_id="CN-SD")
        answer = refusal_of(lambda: egrpc.EnrolmentStub(channel).Enrol(request, timeout=10))
    assert answer.code == grpc.StatusCode.PERMISSION_DENIED
    assert (answer.reason, answer.field) == ("invitation.wrong_node", "token")
    assert answer.details.startswith("token: ")
    assert await members(network) == before


async def test_the_central_is_pinned_by_the_token(network: Network, tmp_path: Path) -> None:
    invitation = await admin.invite(network.dir("CN"), "CN-BJ", "10m")
    node_dir = await new_province(tmp_path, "CN-BJ")
    before = await members(network)

    # Something else answers at the address given: CN-GD's client port, whose certificate
    # is from the same federation CA, but is not the central's.
    refused = await enrol_refusal(
        node_dir, network.config("CN-GD").client_endpoint, invitation.encode()
    )
    assert (refused.reason, refused.field) == ("enrol.pin_mismatch", "central")
    assert refused.message.startswith("central: ")
    assert invitation.pin in refused.message

    # A token whose pin was changed is refused by the real central's certificate.
    gd_cert = load_node_keys(network.dir("CN-GD")).tls_cert
    assert gd_cert is not None
    repinned = Invitation(
        node_id="CN-BJ",
        secret=invitation.secret,
        pin=fingerprint(gd_cert.public_bytes(Encoding.DER)),
    )
    refused = await enrol_refusal(node_dir, central(network), repinned.encode())
    assert (refused.reason, refused.field) == ("enrol.pin_mismatch", "central")
    assert await members(network) == before

    # Nothing was spent: with the real central the token still works.
    await admin.enroll_node(node_dir, central(network), invitation.encode())
    assert "CN-BJ" in await members(network)


@pytest.mark.parametrize(
    ("forged", "field"), [("signing_key", "signing_key"), ("token_key", "token_key")]
)
async def test_a_forged_proof_of_possession_is_refused(
    network: Network, forged: str, field: str
) -> None:
    invitation = await admin.invite(network.dir("CN"), "CN-SC", "10m")
    thief = fresh_keys().signing_key  # proves nothing about the keys the request names
    request = enrol_request(
        invitation,
        fresh_keys(),
        signing_prover=thief if forged == "signing_key" else None,
        token_prover=thief if forged == "token_key" else None,
    )
    before = await members(network)
    with network.client_channel("CN") as channel:
        answer = refusal_of(lambda: egrpc.EnrolmentStub(channel).Enrol(request, timeout=10))
    assert answer.code == grpc.StatusCode.PERMISSION_DENIED
    assert (answer.reason, answer.field) == ("enrol.bad_proof", field)
    assert answer.details.startswith(f"{field}: ")
    assert await members(network) == before
    assert "CN-SC" not in before
