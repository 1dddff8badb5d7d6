"""Federation anchors: what two federations' operators exchange out of band to trust each other.

The anchor file is the JSON mapping of the `swf.v1.Anchor` message. Its fingerprint covers what
trust rests on (the federation id, its CA certificate and its directory key) and not the endpoint,
which may move without changing who is trusted:

    SHA-256("swnode/anchor/v1" || 0x00 || federation || 0x00 || ca_certificate_der || directory_key)
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from google.protobuf import json_format

from core.errors import InvalidArgument, PermissionDenied
from core.ids import Role, validate_node_id
from core.signing import normalize_fingerprint
from swf.v1 import directory_pb2 as pb

__all__ = [
    "DOMAIN",
    "anchor_fingerprint",
    "check_anchor_fingerprint",
    "decode_anchor",
    "encode_anchor",
]

DOMAIN = b"swnode/anchor/v1"


def anchor_fingerprint(anchor: pb.Anchor) -> str:
    h = hashlib.sha256()
    h.update(DOMAIN + b"\x00" + anchor.federation.encode() + b"\x00")
    h.update(anchor.ca_certificate)
    h.update(anchor.directory_key)
    return h.hexdigest()


def encode_anchor(anchor: pb.Anchor) -> str:
    return json_format.MessageToJson(anchor, indent=2) + "\n"


def decode_anchor(text: str) -> pb.Anchor:
    """Parse and check an anchor file's content; raise InvalidArgument naming what is wrong."""
    anchor = pb.Anchor()
    try:
        json_format.Parse(text, anchor)
    except json_format.ParseError as exc:
        raise InvalidArgument(
            "anchor.malformed", f"anchor: not an anchor file ({exc})", field="anchor"
        ) from exc
    validate_node_id(anchor.federation, Role.CENTRAL, field="anchor.federation")
    try:
        x509.load_der_x509_certificate(anchor.ca_certificate)
    except ValueError as exc:
        raise InvalidArgument(
            "anchor.malformed",
            "anchor.ca_certificate: not a DER X.509 certificate",
            field="anchor.ca_certificate",
        ) from exc
    if len(anchor.directory_key) != 32:
        raise InvalidArgument(
            "anchor.malformed",
            "anchor.directory_key: must be a 32-byte Ed25519 public key",
            field="anchor.directory_key",
        )
    if not anchor.endpoint or ":" not in anchor.endpoint:
        raise InvalidArgument(
            "anchor.malformed",
            "anchor.endpoint: must be host:port of the federation's central peer port",
            field="anchor.endpoint",
        )
    return anchor


def check_anchor_fingerprint(anchor: pb.Anchor, expected: str) -> None:
    """Raise PermissionDenied unless the anchor's fingerprint is the one agreed out of band."""
    want = normalize_fingerprint(expected)
    have = anchor_fingerprint(anchor)
    if have != want:
        raise PermissionDenied(
            "anchor.fingerprint_mismatch",
            f"fingerprint: the anchor file's fingerprint is {have}, not the {want} you were given; "
            "do not trust this file — ask the other operator again over a channel you trust",
            field="fingerprint",
        )
