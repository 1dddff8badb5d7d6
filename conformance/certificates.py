"""Certificates and CSRs for the vectors, byte for byte reproducible: P-256 keys derived from
fixed scalars, fixed serial numbers and times, and deterministic ECDSA (RFC 6979), in the
profile of PROTOCOL.md §0.6."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.fixtures import NOW_MS
from core.ids import tls_name

START = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC) - dt.timedelta(days=1)


def tls_key(name: str, salt: int = 0) -> ec.EllipticCurvePrivateKey:
    """A P-256 key for `name` (a node id, or `<FED>/ca`): its scalar is a fixed function of
    the name, so anyone can rebuild it from this formula."""
    scalar = int.from_bytes(name.encode().ljust(16, b"\x00")[:16], "big") * 65_537 + salt + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "swnode federation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ca(federation: str) -> x509.Certificate:
    key = tls_key(f"{federation}/ca")
    name = _name(f"swnode {federation} federation CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(START)
        .not_valid_after(START + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )


def leaf(node_id: str, *, salt: int = 0) -> bytes:
    """DER certificate of `node_id` from its federation's CA; another `salt` gives another key
    and serial: a second certificate for the same node."""
    federation = node_id.split("-")[0]
    issuer = ca(federation)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(node_id))
        .issuer_name(issuer.subject)
        .public_key(tls_key(node_id, salt).public_key())
        .serial_number(1000 + salt + sum(node_id.encode()))
        .not_valid_before(START)
        .not_valid_after(START + dt.timedelta(days=397))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(tls_name(node_id))]), False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(tls_key(f"{federation}/ca"), hashes.SHA256(), ecdsa_deterministic=True)
    )
    return cert.public_bytes(Encoding.DER)


def csr(
    common_name: str,
    key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey | None = None,
    dns: tuple[str, ...] = (),
) -> bytes:
    """A DER PKCS#10 request for `common_name`, its SAN `dns` names (default: its own)."""
    names = [x509.DNSName(d) for d in (dns or (tls_name(common_name),))]
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(common_name))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
    )
    if isinstance(key, Ed25519PrivateKey):  # deterministic by itself, and hashes nothing first
        return builder.sign(key, None).public_bytes(Encoding.DER)
    signed = builder.sign(key or tls_key(common_name), hashes.SHA256(), ecdsa_deterministic=True)
    return signed.public_bytes(Encoding.DER)
