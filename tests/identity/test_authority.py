"""The central's authority, without a network: invitations, enrolment (each refusal with its
reason and the field it names), revocation and trusted anchors, against a real SQLite registry
and a clock the test moves."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from core.anchor import anchor_fingerprint
from core.directory import verify_directory
from core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SwnodeError,
)
from core.ids import Role
from core.invitation import Invitation
from core.signing import raw_public
from identity.authority import Authority, CentralSettings
from identity.ca import make_csr
from identity.keys import load_node_keys
from node.operator import admin
from storage.database import Database
from swf.v1 import directory_pb2 as pb
from swf.v1 import enrolment_pb2 as epb
from tests.factories import Federation, enrol_request, fresh_keys

VALIDITY_S = 3600.0


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@dataclass
class Central:
    dir: Path
    db: Database
    authority: Authority
    clock: Clock

    async def member_ids(self) -> list[str]:
        return [m.node_id for m in await self.db.membership.members()]

    async def version(self) -> int:
        latest = await self.authority.latest()
        assert latest is not None
        return latest[1].version


@pytest.fixture
async def central(tmp_path: Path) -> AsyncIterator[Central]:
    config = await admin.init_node(
        admin.InitOptions(
            node_dir=tmp_path / "CN",
            node_id="CN",
            role=Role.CENTRAL,
            directory_validity_s=VALIDITY_S,
        )
    )
    db = await Database.open(config.storage_url, base_dir=config.dir)
    clock = Clock(admin.now_ms())
    authority = Authority(
        db,
        CentralSettings(
            node_id="CN",
            peer_endpoint=config.peer_endpoint,
            client_endpoint=config.client_endpoint,
            directory_validity_s=VALIDITY_S,
        ),
        load_node_keys(config.dir),
        clock,
    )
    try:
        yield Central(config.dir, db, authority, clock)
    finally:
        await db.close()


async def refusal(central: Central, request: epb.EnrolRequest) -> SwnodeError:
    with pytest.raises(SwnodeError) as refused:
        await central.authority.enrol(request)
    return refused.value


# -- enrolment -------------------------------------------------------------------------------


async def test_enrolment_issues_a_certificate_and_publishes_the_member(central: Central) -> None:
    before = await central.version()
    invitation = await central.authority.invite("CN-GD", 3600)
    keys = fresh_keys()
    response = await central.authority.enrol(enrol_request(invitation, keys))

    cert = x509.load_der_x509_certificate(response.tls_certificate)
    ca = x509.load_der_x509_certificate(response.ca_certificate)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CN-GD"
    assert cert.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    ) == keys.tls_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cn-gd.swnode"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]

    directory_key = load_node_keys(central.dir).directory_public
    assert directory_key is not None
    directory = verify_directory(
        response.directory.own, directory_key=directory_key, federation="CN"
    )
    assert directory.version == before + 1
    entry = next(n for n in directory.nodes if n.id == "CN-GD")
    assert entry.status == pb.NODE_STATUS_ACTIVE
    assert entry.tls_certificate == response.tls_certificate
    assert entry.signing_keys[0].public_key == raw_public(keys.signing_key)
    assert entry.token_keys[0].public_key == raw_public(keys.token_key)
    assert entry.peer_endpoint == "127.0.0.1:7101"
    assert await central.member_ids() == ["CN", "CN-GD"]


async def test_a_token_is_single_use(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    await central.authority.enrol(enrol_request(invitation, fresh_keys()))
    refused = await refusal(central, enrol_request(invitation, fresh_keys()))
    assert isinstance(refused, PermissionDenied)
    assert refused.reason == "invitation.used"
    assert refused.field == "token"
    assert refused.message.startswith("token: ")


async def test_a_token_expires(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 60)
    central.clock.ms += 60_000
    refused = await refusal(central, enrol_request(invitation, fresh_keys()))
    assert isinstance(refused, PermissionDenied)
    assert (refused.reason, refused.field) == ("invitation.expired", "token")
    assert refused.message.startswith("token: ")
    assert await central.member_ids() == ["CN"]


async def test_a_token_is_for_the_node_it_was_made_for(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    refused = await refusal(central, enrol_request(invitation, fresh_keys(), node_id="CN-SH"))
    assert isinstance(refused, PermissionDenied)
    assert (refused.reason, refused.field) == ("invitation.wrong_node", "token")
    assert "CN-GD" in refused.message and "CN-SH" in refused.message
    # A token edited to name another node: its secret still belongs to CN-GD.
    edited = Invitation(node_id="CN-SH", secret=invitation.secret, pin=invitation.pin)
    refused = await refusal(central, enrol_request(edited, fresh_keys()))
    assert (refused.reason, refused.field) == ("invitation.wrong_node", "token")
    assert await central.member_ids() == ["CN"]


async def test_a_token_another_central_made_is_unknown(central: Central) -> None:
    stranger = Invitation(node_id="CN-GD", secret=b"\x07" * 32, pin="ab" * 32)
    refused = await refusal(central, enrol_request(stranger, fresh_keys()))
    assert (refused.reason, refused.field) == ("invitation.unknown", "token")


@pytest.mark.parametrize("forged", ["signing_key", "token_key", "replayed"])
async def test_a_forged_proof_of_possession_is_refused_and_spends_nothing(
    central: Central, forged: str
) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    keys, other = fresh_keys(), fresh_keys().signing_key
    request = {
        "signing_key": enrol_request(invitation, keys, signing_prover=other),
        "token_key": enrol_request(invitation, keys, token_prover=other),
        # Proofs made by the right keys, but for another invitation.
        "replayed": enrol_request(
            invitation, keys, proof_secret_sha256=hashlib.sha256(b"another secret").digest()
        ),
    }[forged]
    before = await central.version()
    refused = await refusal(central, request)
    assert isinstance(refused, PermissionDenied)
    assert refused.reason == "enrol.bad_proof"
    assert refused.field == ("token_key" if forged == "token_key" else "signing_key")
    assert await central.member_ids() == ["CN"]
    assert await central.version() == before
    # The refusal did not spend the token: the honest node can still enrol with it.
    await central.authority.enrol(enrol_request(invitation, fresh_keys()))
    assert await central.member_ids() == ["CN", "CN-GD"]


async def test_the_csr_must_be_a_valid_request_for_this_node_only(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    keys = fresh_keys()

    def csr(name: str, hosts: list[str]) -> bytes:
        return make_csr(name, keys.tls_key, hosts).public_bytes(Encoding.DER)

    good = csr("CN-GD", ["127.0.0.1"])
    broken_signature = good[:-1] + bytes([good[-1] ^ 1])
    cases = [
        (b"not a csr", "enrol.bad_csr"),
        (broken_signature, "enrol.bad_proof"),
        (csr("CN-SH", ["127.0.0.1"]), "enrol.wrong_name"),
        # A name in the swnode namespace is another node's identity on the peer port.
        (csr("CN-GD", ["127.0.0.1", "cn.swnode"]), "enrol.wrong_name"),
        (csr("CN-GD", ["cn-sh.swnode"]), "enrol.wrong_name"),
    ]
    for der, reason in cases:
        refused = await refusal(central, enrol_request(invitation, fresh_keys(), csr=der))
        assert (refused.reason, refused.field) == (reason, "csr"), der[:20]
    assert await central.member_ids() == ["CN"]
    # A host name of the node's own (its advertised address) is fine.
    response = await central.authority.enrol(
        enrol_request(invitation, keys, csr=csr("CN-GD", ["gd.window.example"]))
    )
    cert = x509.load_der_x509_certificate(response.tls_certificate)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cn-gd.swnode", "gd.window.example"]


async def test_the_tls_key_of_the_csr_must_be_p256(central: Central) -> None:
    """PROTOCOL.md §1.4: P-256 only; another curve or another algorithm is `enrol.bad_csr`."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    invitation = await central.authority.invite("CN-GD", 3600)
    p384 = make_csr("CN-GD", ec.generate_private_key(ec.SECP384R1()), ["127.0.0.1"])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CN-GD")])
    ed25519 = x509.CertificateSigningRequestBuilder().subject_name(subject)
    ed25519_csr = ed25519.sign(Ed25519PrivateKey.generate(), None)
    for csr in (p384, ed25519_csr):
        der = csr.public_bytes(Encoding.DER)
        refused = await refusal(central, enrol_request(invitation, fresh_keys(), csr=der))
        assert (refused.reason, refused.field) == ("enrol.bad_csr", "csr")
    assert await central.member_ids() == ["CN"]


async def test_endpoints_must_be_host_and_port(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    request = enrol_request(invitation, fresh_keys(), peer_endpoint="127.0.0.1")
    refused = await refusal(central, request)
    assert (refused.reason, refused.field) == ("enrol.bad_endpoint", "peer_endpoint")


# -- invitations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node_id", "ttl_s", "reason", "field"),
    [
        ("TH-10", 3600, "invite.wrong_federation", "id"),
        ("CN", 3600, "id.role_mismatch", "id"),
        ("CN-XX", 3600, "id.unknown_subdivision", "id"),
        ("CN-GD", 0, "invite.bad_ttl", "ttl"),
        ("CN-GD", 8 * 86400, "invite.bad_ttl", "ttl"),
    ],
)
async def test_invite_refuses(
    central: Central, node_id: str, ttl_s: float, reason: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await central.authority.invite(node_id, ttl_s)
    assert (refused.value.reason, refused.value.field) == (reason, field)


async def test_an_invitation_pins_the_centrals_certificate(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    keys = load_node_keys(central.dir)
    assert keys.tls_cert is not None
    assert invitation.pin == keys.tls_cert.fingerprint(hashes.SHA256()).hex()


# -- revocation ------------------------------------------------------------------------------


async def test_revocation_is_published_at_once(central: Central) -> None:
    invitation = await central.authority.invite("CN-GD", 3600)
    response = await central.authority.enrol(enrol_request(invitation, fresh_keys()))
    version = await central.authority.revoke("CN-GD", "compromised")
    latest = await central.authority.latest()
    assert latest is not None and latest[1].version == version
    directory = latest[1]
    assert [n.status for n in directory.nodes if n.id == "CN-GD"] == [pb.NODE_STATUS_REVOKED]
    [revocation] = directory.revocations
    assert revocation.node_id == "CN-GD" and revocation.reason == "compromised"
    assert revocation.certificate_sha256 == hashlib.sha256(response.tls_certificate).digest()


async def test_revoke_refuses_the_central_and_strangers(central: Central) -> None:
    with pytest.raises(PermissionDenied) as refused:
        await central.authority.revoke("CN", "no")
    assert refused.value.reason == "member.central"
    with pytest.raises(NotFound) as missing:
        await central.authority.revoke("CN-SH", "no")
    assert missing.value.reason == "member.unknown"


# -- trusted anchors -------------------------------------------------------------------------


async def test_trust_add_checks_the_fingerprint_and_publishes_the_anchor(central: Central) -> None:
    sg = Federation("SG")
    before = await central.version()
    with pytest.raises(PermissionDenied) as refused:
        await central.authority.trust_add(
            sg.anchor(), anchor_fingerprint(Federation("SG").anchor())
        )
    assert refused.value.reason == "anchor.fingerprint_mismatch"
    assert await central.version() == before
    assert await central.db.membership.anchors() == []

    version = await central.authority.trust_add(sg.anchor(), anchor_fingerprint(sg.anchor()))
    assert version == before + 1
    latest = await central.authority.latest()
    assert latest is not None
    assert [a.federation for a in latest[1].trusted_federations] == ["SG"]
    assert latest[1].trusted_federations[0].directory_key == sg.directory_public

    # Another anchor for SG needs the first removed.
    impostor = Federation("SG").anchor()
    with pytest.raises(AlreadyExists) as conflict:
        await central.authority.trust_add(impostor, anchor_fingerprint(impostor))
    assert conflict.value.reason == "anchor.conflict"
    await central.authority.trust_remove("SG")
    latest = await central.authority.latest()
    assert latest is not None and list(latest[1].trusted_federations) == []


async def test_trust_refuses_the_own_anchor_and_unknown_removals(central: Central) -> None:
    own = central.authority.own_anchor()
    with pytest.raises(InvalidArgument) as refused:
        await central.authority.trust_add(own, anchor_fingerprint(own))
    assert refused.value.reason == "anchor.own"
    with pytest.raises(InvalidArgument) as unknown:
        await central.authority.trust_remove("SG")
    assert unknown.value.reason == "anchor.unknown"


# -- the directory ---------------------------------------------------------------------------


async def test_the_directory_is_re_signed_after_half_its_validity(central: Central) -> None:
    assert not await central.authority.refresh_if_due()
    before = await central.version()
    central.clock.ms += int(VALIDITY_S * 1000) // 2
    assert await central.authority.refresh_if_due()
    latest = await central.authority.latest()
    assert latest is not None
    assert latest[1].version == before + 1
    assert latest[1].issued_at_unix_ms == central.clock.ms
    assert latest[1].expires_at_unix_ms == central.clock.ms + int(VALIDITY_S * 1000)


async def test_only_a_central_holds_the_authority(tmp_path: Path) -> None:
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "GD", node_id="CN-GD", role=Role.PROVINCE)
    )
    db = await Database.open(config.storage_url, base_dir=config.dir)
    try:
        with pytest.raises(FailedPrecondition) as refused:
            Authority(
                db,
                CentralSettings("CN-GD", "127.0.0.1:1", "127.0.0.1:2", 60),
                load_node_keys(config.dir),
                admin.now_ms,
            )
        assert refused.value.reason == "authority.not_central"
    finally:
        await db.close()
