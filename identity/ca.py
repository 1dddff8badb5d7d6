"""The federation CA: a central node's certificate authority for its members' TLS certificates.

Every certificate names its node in the subject CN and carries the DNS name `<id>.swnode`, which
peers check on every connection, plus the IP addresses the node listens on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import InvalidArgument, PermissionDenied
from core.ids import tls_name
from swf.v1 import directory_pb2 as pb

__all__ = [
    "CA_VALIDITY",
    "NODE_VALIDITY",
    "CaHistory",
    "FederationCa",
    "create_ca",
    "cross_certify",
    "issue_certificate",
    "make_csr",
]

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
    return _ca_builder(name, name, key.public_key(), now).sign(key, hashes.SHA256())


def cross_certify(
    *,
    old_key: ec.EllipticCurvePrivateKey,
    old_cert: x509.Certificate,
    new_cert: x509.Certificate,
    now_ms: int,
) -> x509.Certificate:
    """The next CA's subject and key certified by the CA before it (a CA rotation, PROTOCOL.md
    §2.9). Both CAs carry the same subject, so the cross certificate is self-issued and does
    not count against the old CA's path length of 0: a verifier that holds only the old CA
    accepts `leaf, cross certificate` up to it, the key identifiers telling the CAs apart."""
    key = new_cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return (
        _ca_builder(new_cert.subject, old_cert.subject, key, _ts(now_ms))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(old_key.public_key()),
            critical=False,
        )
        .sign(old_key, hashes.SHA256())
    )


def _ca_builder(
    name: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(public)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
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
    ends_by_ms: int = 0,
) -> x509.Certificate:
    """Sign a member's TLS certificate from its CSR, after checking the CSR proves possession of
    the key and asks for nothing but `node_id`'s own names; it ends by `ends_by_ms` if given."""
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
                *([_ts(ends_by_ms)] if ends_by_ms else []),
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


# -- the federation CA over time (PROTOCOL.md §2.9; identity/ca_rotation.py) --------------


@dataclass(frozen=True)
class FederationCa:
    certificate: x509.Certificate
    key_file: str  # under keys/
    key: ec.EllipticCurvePrivateKey | None  # None once retired and deleted
    cross: x509.Certificate | None = None  # issued by the CA before
    active_from_ms: int = 0
    retired_at_ms: int = 0  # 0: not retired

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class CaHistory:
    cas: tuple[FederationCa, ...]  # oldest first

    def issuing(self, now_ms: int) -> FederationCa:
        """The CA the central issues from at `now_ms`: the newest one active by then."""
        return [c for c in self.cas if c.active_from_ms <= now_ms][-1]

    def listed(self, now_ms: int) -> tuple[bytes, list[pb.CaCertificate]]:
        """`Directory.ca_certificate` and `other_ca_certificates` at `now_ms`: the next CA with
        its start, the ones before with their retirement; the cross certificate that links a
        CA to the one after it stays with the entry of the pair that is listed (§2.9)."""
        current = self.issuing(now_ms)
        others = []
        for i, ca in enumerate(self.cas):
            if ca is current:
                continue
            if ca.active_from_ms > now_ms:
                cross, entry = ca.cross, pb.CaCertificate(not_before_unix_ms=ca.active_from_ms)
            else:
                after = self.cas[i + 1]
                cross = after.cross if after is current else None
                entry = pb.CaCertificate(retired_at_unix_ms=ca.retired_at_ms)
            entry.certificate = ca.der
            if cross is not None:
                entry.cross_certificate = cross.public_bytes(Encoding.DER)
            others.append(entry)
        return current.der, others

    def pending(self, now_ms: int) -> FederationCa | None:
        return next((c for c in self.cas if c.active_from_ms > now_ms), None)
