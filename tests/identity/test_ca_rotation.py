"""The federation CA over time (PROTOCOL.md §2.9): what a rotation writes, which CA issues at an
instant, what the directory lists of the others, and how peers judge a retired CA's
certificates."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core import directory as dirs
from core.algorithms import KeyAlgorithm, generate, public_bytes
from core.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from core.expiry import issuer_of
from core.ids import Role
from core.signing import fingerprint
from core.trust import TrustView
from identity.authority import Authority, CentralSettings
from identity.ca import create_ca, issue_certificate, make_csr
from identity.ca_rotation import client_bundle, forget_retired_keys, rotate_ca
from identity.keys import load_history, load_node_keys, private_pem, write_private
from identity.rotation_requests import renew_requested
from node.key_rotation import CaWatch
from node.operator import admin
from node.operator.status import render
from storage.database import Database
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2 as ppb
from tests.factories import enrol_request, fresh_keys

T0 = 1_800_000_000_000
ACTIVATION = 60_000
OVERLAP = 600_000


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    """A central's keys/ before any CA rotation: ca.key and ca.crt."""
    key = ec.generate_private_key(ec.SECP256R1())
    write_private(tmp_path / "ca.key", private_pem(key))
    (tmp_path / "ca.crt").write_bytes(create_ca("CN", key, T0).public_bytes(Encoding.PEM))
    return tmp_path


def issue(ca_key: ec.EllipticCurvePrivateKey | None, ca: x509.Certificate) -> x509.Certificate:
    assert ca_key is not None
    key = ec.generate_private_key(ec.SECP256R1())
    return issue_certificate(
        ca_key=ca_key, ca_cert=ca, csr=make_csr("CN-GD", key, []), node_id="CN-GD", now_ms=T0
    )


def test_a_central_that_never_rotated_has_one_ca(key_dir: Path) -> None:
    history = load_history(key_dir)
    assert history is not None and len(history.cas) == 1
    assert history.listed(T0) == (history.cas[0].der, [])


def test_the_new_ca_is_announced_then_issues_then_the_old_retires(key_dir: Path) -> None:
    history, new = rotate_ca(key_dir, "CN", now_ms=T0, activation_ms=ACTIVATION, overlap_ms=OVERLAP)
    old = history.cas[0]
    # Written to disk: the history, and the new key (mode 0600).
    again = load_history(key_dir)
    assert again is not None and [c.der for c in again.cas] == [old.der, new.der]
    assert (key_dir / new.key_file).stat().st_mode & 0o777 == 0o600
    # The cross certificate: the new CA's subject and key, issued by the old CA.
    assert new.cross is not None
    new.cross.verify_directly_issued_by(old.certificate)
    assert new.cross.subject == new.certificate.subject == old.certificate.subject
    assert new.cross.public_key() == new.certificate.public_key()
    # Until T1 the old CA issues, and the directory announces the new one.
    current, others = history.listed(T0 + ACTIVATION - 1)
    assert current == old.der and history.issuing(T0).key_file == "ca.key"
    assert [(o.certificate, o.not_before_unix_ms, o.retired_at_unix_ms) for o in others] == [
        (new.der, T0 + ACTIVATION, 0)
    ]
    assert others[0].cross_certificate == new.cross.public_bytes(Encoding.DER)
    # From T1 the new CA issues; the old is listed with its retirement.
    current, others = history.listed(T0 + ACTIVATION)
    assert current == new.der
    assert [(o.certificate, o.retired_at_unix_ms) for o in others] == [
        (old.der, T0 + ACTIVATION + OVERLAP)
    ]
    assert others[0].cross_certificate == new.cross.public_bytes(Encoding.DER)
    # A second rotation waits for the first.
    with pytest.raises(FailedPrecondition) as pending:
        rotate_ca(key_dir, "CN", now_ms=T0 + 1, activation_ms=ACTIVATION, overlap_ms=OVERLAP)
    assert pending.value.reason == "rotate.pending"


def test_now_switches_and_retires_at_once_and_the_old_key_is_deleted(key_dir: Path) -> None:
    history, new = rotate_ca(
        key_dir, "CN", now_ms=T0, activation_ms=ACTIVATION, overlap_ms=OVERLAP, retire_now=True
    )
    assert history.issuing(T0) is new
    assert history.cas[0].retired_at_ms == T0
    kept = forget_retired_keys(key_dir, history, T0)
    assert not (key_dir / "ca.key").exists() and kept.cas[0].key is None
    loaded = load_history(key_dir)
    assert loaded is not None and loaded.issuing(T0).key is not None


def directory_at(key_dir: Path, at_ms: int) -> pb.Directory:
    history = load_history(key_dir)
    assert history is not None
    current, others = history.listed(at_ms)
    return pb.Directory(
        federation="CN",
        version=1,
        issued_at_unix_ms=at_ms,
        expires_at_unix_ms=at_ms + 86_400_000,
        ca_certificate=current,
        other_ca_certificates=others,
    )


def test_peers_refuse_a_retired_cas_certificate_from_its_retirement_on(key_dir: Path) -> None:
    history, new = rotate_ca(key_dir, "CN", now_ms=T0, activation_ms=ACTIVATION, overlap_ms=OVERLAP)
    old = history.cas[0]
    from_old = issue(old.key, old.certificate)
    from_new = issue(new.key, new.certificate)
    after_switch = T0 + ACTIVATION
    retired_at = after_switch + OVERLAP
    directory = directory_at(key_dir, after_switch)
    entry = pb.NodeEntry(
        id="CN-GD",
        role=pb.ROLE_PROVINCE,
        status=pb.NODE_STATUS_ACTIVE,
        tls_certificate=from_old.public_bytes(Encoding.DER),
        previous_tls_certificates=[from_new.public_bytes(Encoding.DER)],
    )
    directory.nodes.append(entry)
    view = TrustView.build("CN-SH", directory)
    # The handshake accepts both CAs, the retired one included (so that the refusal says why).
    assert set(view.ca_certificates()) == {old.der, new.der}
    der_old = from_old.public_bytes(Encoding.DER)
    assert view.authenticate_peer(der_old, retired_at - 1).id == "CN-GD"
    with pytest.raises(PermissionDenied) as refused:
        view.authenticate_peer(der_old, retired_at)
    assert refused.value.reason == "ca.retired"
    # Asking for a new certificate is still allowed; the new CA's certificate is accepted.
    assert view.authenticate_peer(der_old, retired_at, retired_ca_ok=True).id == "CN-GD"
    assert view.authenticate_peer(from_new.public_bytes(Encoding.DER), retired_at).id == "CN-GD"
    # Clients trust the current CA first, the old one until it retires, and the cross
    # certificate.
    assert client_bundle(directory, retired_at - 1)[:2] == [new.der, old.der]
    # After the retirement the cross certificate stays: it certifies the current CA's key.
    assert new.cross is not None
    assert client_bundle(directory, retired_at) == [new.der, new.cross.public_bytes(Encoding.DER)]


def test_a_trusting_central_accepts_the_directory_naming_the_next_ca(key_dir: Path) -> None:
    """§2.3 step 5: the anchor's CA may be the one the directory moved from."""
    key = generate(KeyAlgorithm.ED25519)
    history, new = rotate_ca(key_dir, "CN", now_ms=T0, activation_ms=ACTIVATION, overlap_ms=OVERLAP)
    old_der = history.cas[0].der
    for at in (T0, T0 + ACTIVATION):
        directory = directory_at(key_dir, at)
        directory.directory_key = public_bytes(key)
        signed = dirs.sign_directory(directory, key)
        for anchored in (old_der, new.der):
            got = dirs.verify_directory(
                signed, directory_key=public_bytes(key), federation="CN", ca_certificate=anchored
            )
            assert got.ca_certificate == (old_der if at == T0 else new.der)
    # Another CA altogether is still refused.
    stranger = create_ca("CN", ec.generate_private_key(ec.SECP256R1()), T0)
    with pytest.raises(PermissionDenied) as wrong:
        dirs.verify_directory(
            signed,
            directory_key=public_bytes(key),
            federation="CN",
            ca_certificate=stranger.public_bytes(Encoding.DER),
        )
    assert wrong.value.reason == "directory.wrong_ca"


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


async def test_the_authority_issues_from_the_new_ca_from_its_start(tmp_path: Path) -> None:
    """Enrolment and RenewCertificate at the central: the old CA's certificates until T1, the
    new CA's after, the published directory and the answer naming the CA in use."""
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "CN", node_id="CN", role=Role.CENTRAL)
    )
    db = await Database.open(config.storage_url, base_dir=config.dir)
    clock = Clock(admin.now_ms())
    authority = Authority(
        db,
        CentralSettings("CN", config.peer_endpoint, config.client_endpoint, 3600.0),
        load_node_keys(config.dir),
        clock,
    )
    try:
        history, new = rotate_ca(
            config.dir / "keys",
            "CN",
            now_ms=clock.ms,
            activation_ms=ACTIVATION,
            overlap_ms=OVERLAP,
        )
        authority.use_ca_history(history)
        old = history.cas[0]
        answer = await authority.enrol(
            enrol_request(await authority.invite("CN-GD", 3600), fresh_keys())
        )
        x509.load_der_x509_certificate(answer.tls_certificate).verify_directly_issued_by(
            old.certificate
        )
        assert answer.ca_certificate == old.der
        latest = await authority.latest()
        assert latest is not None
        assert latest[1].ca_certificate == old.der
        assert [o.certificate for o in latest[1].other_ca_certificates] == [new.der]

        clock.ms += ACTIVATION
        csr = make_csr("CN-GD", ec.generate_private_key(ec.SECP256R1()), ["127.0.0.1"])
        renewed = await renew_requested(
            authority, "CN-GD", ppb.RenewCertificateRequest(csr=csr.public_bytes(Encoding.DER))
        )
        leaf = x509.load_der_x509_certificate(renewed.tls_certificate)
        leaf.verify_directly_issued_by(new.certificate)
        assert renewed.ca_certificate == new.der
        assert authority.own_anchor().ca_certificate == new.der
        latest = await authority.latest()
        assert latest is not None
        assert latest[1].ca_certificate == new.der
        (before,) = latest[1].other_ca_certificates
        assert (before.certificate, before.retired_at_unix_ms) == (
            old.der,
            clock.ms + OVERLAP,
        )
    finally:
        await db.close()


def test_status_names_the_ca_that_issued_the_certificate_and_warns_before_it_retires(
    key_dir: Path,
) -> None:
    history, new = rotate_ca(key_dir, "CN", now_ms=T0, activation_ms=ACTIVATION, overlap_ms=OVERLAP)
    old = history.cas[0]
    from_old = issue(old.key, old.certificate).public_bytes(Encoding.DER)
    from_new = issue(new.key, new.certificate).public_bytes(Encoding.DER)

    def standing(cert: bytes, at_ms: int) -> tuple[str, str, bool]:
        issuer = issuer_of(cert, directory_at(key_dir, at_ms), at_ms)
        assert issuer is not None
        return issuer.fingerprint, issuer.standing, issuer.warning(at_ms)

    # Before the switch the old CA is current; the new one is next.
    assert standing(from_old, T0) == (fingerprint(old.der), "current", False)
    assert standing(from_new, T0) == (fingerprint(new.der), "next", False)
    # After it, the old CA retires within the overlap (well within 30 days): a warning.
    assert standing(from_old, T0 + ACTIVATION) == (fingerprint(old.der), "retiring", True)
    assert standing(from_new, T0 + ACTIVATION) == (fingerprint(new.der), "current", False)
    gone = T0 + ACTIVATION + OVERLAP
    assert standing(from_old, gone) == (fingerprint(old.der), "retired", True)
    # A CA the directory does not list, found only in keys/ca.crt, warns too.
    alone = issuer_of(from_old, None, gone, [old.der])
    assert alone is not None and (alone.standing, alone.warning(gone)) == ("unlisted", True)
    # What `swnode status` prints of it.
    status = {
        "id": "CN-GD",
        "role": "province",
        "federation": "CN",
        "running": False,
        "directory": {"version": 3, "expires_at": None, "valid": True},
        "tls_issuer": {
            "fingerprint": fingerprint(old.der),
            "standing": "retired",
            "retires_at": "2027-01-15T08:00:00Z",
            "warning": True,
        },
        "endpoints": {"peer": "127.0.0.1:1", "client": "127.0.0.1:2", "ops": "127.0.0.1:3"},
        "peers": [],
    }
    text = render(status)
    assert f"tls ca     {fingerprint(old.der)} (retired, retires 2027-01-15T08:00:00Z)" in text
    assert "WARNING    the TLS certificate is from a CA that is retired" in text


async def test_a_retired_ca_leaves_the_directory_once_its_certificates_expired(
    tmp_path: Path,
) -> None:
    """With `[keys] lifetime_s` at the central, nothing it issues outlives that lifetime, and a
    retired CA is dropped from the directory, the history and keys/ once that long has passed
    since its retirement."""
    lifetime = 120_000
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "CN", node_id="CN", role=Role.CENTRAL)
    )
    db = await Database.open(config.storage_url, base_dir=config.dir)
    clock = Clock(admin.now_ms())
    settings = CentralSettings(
        "CN", config.peer_endpoint, config.client_endpoint, 3600.0, certificate_lifetime_ms=lifetime
    )
    authority = Authority(db, settings, load_node_keys(config.dir), clock)
    keys = config.dir / "keys"
    watch = CaWatch(config.dir, authority, clock)
    try:
        answer = await authority.enrol(
            enrol_request(await authority.invite("CN-GD", 3600), fresh_keys())
        )
        leaf = x509.load_der_x509_certificate(answer.tls_certificate)
        assert leaf.not_valid_after_utc.timestamp() * 1000 <= clock.ms + lifetime
        # A renewal that would start after the lifetime ends it is refused, naming the field.
        csr = make_csr("CN-GD", ec.generate_private_key(ec.SECP256R1()), ["127.0.0.1"])
        request = ppb.RenewCertificateRequest(
            csr=csr.public_bytes(Encoding.DER), activation_ms=lifetime
        )
        with pytest.raises(InvalidArgument) as late:
            await renew_requested(authority, "CN-GD", request)
        assert (late.value.reason, late.value.field) == ("rotate.bad_plan", "activation_ms")

        history, new = rotate_ca(
            keys, "CN", now_ms=clock.ms, activation_ms=ACTIVATION, overlap_ms=OVERLAP
        )
        old = history.cas[0]
        retires = clock.ms + ACTIVATION + OVERLAP

        async def listed_at(at_ms: int) -> list[bytes]:
            clock.ms = at_ms
            await watch.tick()
            latest = await authority.latest()
            assert latest is not None
            return client_bundle(latest[1], at_ms)[:2]

        # Retired, the old CA stays listed until every certificate it issued has expired.
        assert new.cross is not None
        cross = new.cross.public_bytes(Encoding.DER)
        assert await listed_at(retires) == [new.der, cross]
        latest = await authority.latest()
        assert latest is not None
        assert [o.certificate for o in latest[1].other_ca_certificates] == [old.der]
        assert await listed_at(retires + lifetime - 1) == [new.der, cross]
        # Then it is gone: from the directory (so from every node's keys/ca.crt) and the history.
        assert await listed_at(retires + lifetime) == [new.der]
        latest = await authority.latest()
        assert latest is not None and list(latest[1].other_ca_certificates) == []
        loaded = load_history(keys)
        assert loaded is not None and [c.der for c in loaded.cas] == [new.der]
        # The next rotation takes a key file name never used before.
        _, newer = rotate_ca(
            keys, "CN", now_ms=clock.ms, activation_ms=ACTIVATION, overlap_ms=OVERLAP
        )
        assert newer.key_file not in {"ca.key", new.key_file} and (keys / new.key_file).exists()
    finally:
        await db.close()
