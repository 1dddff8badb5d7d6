"""What a certificate is and what makes one acceptable, as pure functions: its kinds and
document types, and the checks a receiving window runs on what arrives (CROSS_BORDER.md)."""

from __future__ import annotations

from core import batch_signatures
from core.algorithms import digest
from core.envelope import ENVELOPE_DOMAIN
from core.ids import federation_of
from core.trust import TrustView
from core.validation import validate
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import documents_pb2 as docs
from swf.v1 import envelope_pb2 as epb

__all__ = [
    "AGREEMENT_PREFIX",
    "APPLICATION_KINDS",
    "KIND_TYPES",
    "TYPE_KINDS",
    "check_envelope",
    "kind_name",
    "not_senders",
    "refusals",
]

KIND_TYPES = {
    cpb.CERTIFICATE_KIND_ORIGIN: "certificate.origin",
    cpb.CERTIFICATE_KIND_PHYTOSANITARY: "certificate.phytosanitary",
}
TYPE_KINDS = {v: k for k, v in KIND_TYPES.items()}
APPLICATION_KINDS = {
    "certificate_of_origin_application": cpb.CERTIFICATE_KIND_ORIGIN,
    "phytosanitary_certificate_application": cpb.CERTIFICATE_KIND_PHYTOSANITARY,
}
# Certificate numbers: PREFIX-NODE-YEAR-NNNNNN, the prefix by agreement ("CO" without one).
AGREEMENT_PREFIX = {docs.AGREEMENT_RCEP: "RCEP", docs.AGREEMENT_CHINA_ASEAN: "FORME"}


def _kind_name(kind: cpb.CertificateKind.ValueType) -> str:
    return cpb.CertificateKind.Name(kind).removeprefix("CERTIFICATE_KIND_").lower()


def kind_name(kind: cpb.CertificateKind.ValueType) -> str:
    return cpb.CertificateKind.Name(kind).removeprefix("CERTIFICATE_KIND_").lower()


def not_senders(certificate: cpb.Certificate, origin: str, federation: str) -> list[str]:
    """Why the sender had no right to send a certificate under this number, or this window
    none to hold it (empty if it may be stored). Such a certificate is not stored: held
    under the number, it would block the real one its issuing node sends later."""
    problems = []
    if not certificate.number:
        problems.append("the certificate has no number")
    elif "-".join(certificate.number.split("-")[1:-2]) != certificate.issuing_node:
        problems.append(
            f"number {certificate.number} is not one of its issuing node "
            f"{certificate.issuing_node}'s (PREFIX-NODE-YEAR-NNNNNN)"
        )
    if certificate.issuing_node != origin:
        problems.append(f"issued by {certificate.issuing_node} but signed by {origin}")
    if certificate.issuing_country != federation_of(origin):
        country = federation_of(origin)
        problems.append(f"issuing country {certificate.issuing_country} is not {country}")
    if certificate.importing_country != federation:
        problems.append(f"addressed to {certificate.importing_country}, not {federation}")
    return problems


def refusals(certificate: cpb.Certificate, document_type: str) -> list[str]:
    """Why a certificate its issuing node sent cannot stand (empty if it can): it is stored,
    rejected, and the rejection goes back to the issuer."""
    problems = []
    if TYPE_KINDS.get(document_type) != certificate.kind:
        problems.append("the document type does not match the certificate kind")
    content = certificate.origin if certificate.HasField("origin") else certificate.phytosanitary
    problems += [str(p) for p in validate(content)]
    return problems


def check_envelope(
    trust: TrustView, raw: bytes, stored: bytes, certificate: cpb.Certificate
) -> tuple[str | None, str]:
    """Why a received certificate's envelope is not authentic (None if it is), and the key
    id it names."""
    envelope = epb.Envelope.FromString(raw)
    key = trust.signing_key(envelope.signature.key_id)
    if key is None:
        return "the signing key is in no directory this node trusts", envelope.signature.key_id
    if (
        key.node_id != certificate.issuing_node
        or federation_of(key.node_id) != certificate.issuing_country
    ):
        return (
            f"signed by {key.node_id}, not the issuing node {certificate.issuing_node}",
            key.key_id,
        )
    if not trust.is_active(key.node_id):
        return f"the issuing node {key.node_id} has been revoked", key.key_id
    if not batch_signatures.verify_by(key, ENVELOPE_DOMAIN, envelope.header, envelope.signature):
        return "the signature does not verify", key.key_id
    header = epb.Header.FromString(envelope.header)
    if digest(key.digest, envelope.payload) != header.payload_sha256:
        return "the content does not match what was signed", key.key_id
    if envelope.payload != stored:
        return "the stored certificate differs from the one signed", key.key_id
    return None, key.key_id
