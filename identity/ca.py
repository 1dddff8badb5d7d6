"""The federation CA: a central node's certificate authority for its members' TLS certificates.

Every certificate names its node in the subject CN and carries the DNS name `<id>.swnode`, which
peers check on every connection, plus the IP addresses the node listens on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import InvalidArgument, PermissionDenied
from core.ids import tls_name

__all__ = ["CA_VALIDITY", "NODE_VALIDITY", "create_ca", "issue_certificate", "make_csr"]

CA_VALIDITY = dt.timedelta(days=3650)
NODE_VALIDITY = dt.timedelta(days=397)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "swnode federation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ts(now_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)


def create_ca(federation: str, key: ec.EllipticCurvePrivateKey, now_ms: int) -> x509.Certificate:
    name = _name(f"swnode {federation} federation CA")
    now = _ts(now_ms)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def make_csr(
    node_id: str, key: ec.EllipticCurvePrivateKey, hosts: list[str]
) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(node_id))
        .add_extension(x509.SubjectAlternativeName(_alt_names(node_id, hosts)), critical=False)
        .sign(key, hashes.SHA256())
    )


def _alt_names(node_id: str, hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(tls_name(node_id))]
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue_certificate(
    *,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    csr: x509.CertificateSigningRequest,
    node_id: str,
    now_ms: int,
    not_before_ms: int | None = None,
    validity_ms: int = 0,
) -> x509.Certificate:
    """Sign a member's TLS certificate from its CSR, after checking the CSR proves possession of
    the key and asks for nothing but `node_id`'s own names."""
    if not csr.is_signature_valid:
        raise PermissionDenied(
            "enrol.bad_proof",
            "csr: its signature does not verify; the node must sign it",
            field="csr",
        )
    key = csr.public_key()
    # PROTOCOL.md §1.4: the one TLS key type every node's TLS stack must handle is P-256.
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidArgument("enrol.bad_csr", "csr: the TLS key must be ECDSA P-256", field="csr")
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cns or cns[0].value != node_id:
        raise PermissionDenied(
            "enrol.wrong_name", f"csr: the request must be for {node_id}", field="csr"
        )
    hosts: list[str] = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        hosts = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        hosts += [d for d in san.get_values_for_type(x509.DNSName) if d != tls_name(node_id)]
    except x509.ExtensionNotFound:
        pass
    # Names under .swnode are node identities that peers check: only the node's own is allowed.
    for host in hosts:
        name = host.lower().rstrip(".")
        if name.endswith(".swnode") and name != tls_name(node_id):
            raise PermissionDenied(
                "enrol.wrong_name",
                f"csr: {host} names another node; the request may only carry {tls_name(node_id)}",
                field="csr",
            )
    now = _ts(now_ms)
    ca_public = ca_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(node_id))
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(
            now - dt.timedelta(minutes=5) if not_before_ms is None else _ts(not_before_ms)
        )
        .not_valid_after(
            min(
                now + NODE_VALIDITY,
                ca_cert.not_valid_after_utc,
                *([_ts((not_before_ms or now_ms) + validity_ms)] if validity_ms else []),
            )
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_alt_names(node_id, hosts)), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
