"""When a node's certificates and keys expire, as its directory says (core/expiry.py): what
`swnode_key_expiry_seconds` and `swnode status` report."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core.expiry import expiries, expiring
from core.trust import TrustView
from identity.ca import create_ca, issue_certificate, make_csr
from swf.v1 import directory_pb2 as pb

T = 1_800_000_000_000
DAY = 86_400_000


def directory(signing: list[pb.PublicKey]) -> pb.Directory:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = create_ca("CN", ca_key, T)
    csr = make_csr("CN-GD", ec.generate_private_key(ec.SECP256R1()), ["127.0.0.1"])
    cert = issue_certificate(ca_key=ca_key, ca_cert=ca, csr=csr, node_id="CN-GD", now_ms=T)
    return pb.Directory(
        federation="CN",
        version=3,
        issued_at_unix_ms=T,
        expires_at_unix_ms=T + DAY,
        ca_certificate=ca.public_bytes(Encoding.DER),
        nodes=[
            pb.NodeEntry(
                id="CN-GD",
                status=pb.NODE_STATUS_ACTIVE,
                tls_certificate=cert.public_bytes(Encoding.DER),
                signing_keys=signing,
                token_keys=[pb.PublicKey(key_id="CN-GD/tok/b", public_key=b"t" * 32)],
            )
        ],
    )


def test_each_certificate_and_bounded_key_has_its_expiry() -> None:
    keys = [
        pb.PublicKey(key_id="CN-GD/sig/a", public_key=b"a" * 32, retired_at_unix_ms=T + DAY),
        pb.PublicKey(
            key_id="CN-GD/sig/b",
            public_key=b"b" * 32,
            not_before_unix_ms=T + 60_000,
            not_after_unix_ms=T + 20 * DAY,
        ),
    ]
    trust = TrustView.build("CN-GD", directory(keys))
    found = expiries(trust, "CN-GD", T + 120_000)
    # The key in use is the one valid last; a token key without bounds has no expiry.
    assert found["signing"] == T + 20 * DAY
    assert "token" not in found
    assert found["directory"] == T + DAY
    assert 390 * DAY < found["tls"] - T < 400 * DAY  # about 13 months
    assert found["ca"] > found["tls"]
    # Within 30 days: the signing key; the directory is renewed by the central on its own.
    assert expiring(found, T + 120_000) == ["signing"]
    assert expiring(found, found["tls"] - 29 * DAY) == ["signing", "tls"]
