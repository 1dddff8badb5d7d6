"""Who acts on each document type, who may submit it, and whose document it is.

All of it is read from the document's own `(swf.v1.document)` option in documents.proto
(core/documents.py `policy`), the one place a type's policy is declared. The agencies can be
changed per node in node.toml ([routing]); the rest is policy. A type that declares none is
refused as `document.no_policy`, not looked up into a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.message import Message

from core.documents import DocumentKind, document_types, policy

__all__ = [
    "AGENCIES",
    "DEFAULT_ROUTES",
    "GOODS",
    "PAYMENT",
    "declaring_party",
    "submit_roles",
]

# Agencies (party ids of kind "agency" at the node) that must act on each document type.
DEFAULT_ROUTES: Mapping[str, tuple[str, ...]] = {
    t.name: t.default_agencies for t in document_types()
}

# The agencies a test network creates at each province, with their names.
AGENCIES: Mapping[str, str] = {
    "customs": "Customs",
    "inspection": "Border inspection and quarantine",
    "maritime": "Maritime safety administration",
    "tax": "Taxation and treasury",
    "commerce": "Commerce department (licences)",
    "ccpit": "Certificate of origin issuing body (CCPIT)",
}


def _the_type(kind: DocumentKind.ValueType) -> str:
    named = [t.name for t in document_types() if t.kind == kind]
    assert len(named) == 1, f"one document type is {DocumentKind.Name(kind)}, not {named}"
    return named[0]


# The goods declaration (assessed for duty and tax) and the payment that clears one.
GOODS = _the_type(DocumentKind.DOCUMENT_KIND_GOODS_DECLARATION)
PAYMENT = _the_type(DocumentKind.DOCUMENT_KIND_PAYMENT)


def submit_roles(document_type: str) -> tuple[str, ...]:
    """The roles a user needs one of to submit the document type."""
    return policy(document_type).submit_roles


def declaring_party(document_type: str, message: Message) -> tuple[str, str]:
    """(field path, value) of the USCC the document is declared for."""
    path = policy(document_type).party_field
    value: object = message
    for part in path.split("."):
        value = getattr(value, part)
    return path, str(value)
