"""Federation anchors: what two federations' operators exchange out of band to trust each other.

The anchor file is the JSON mapping of the `swf.v1.Anchor` message. Its fingerprint covers what
trust rests on (the federation id, its CA certificate and its directory key) and not the endpoint,
which may move without changing who is trusted:

    SHA-256("swnode/anchor/v1" || 0x00 || federation || 0x00 || ca_certificate_der || directory_key)

An anchor of another crypto profile than v1's (directory key SM2, or digest SM3) appends what it
declares, so that the fingerprint binds the algorithm too; an Ed25519/SHA-256 anchor's is as above:

    ... || directory_key || 0x00 || directory_key_algorithm (1 byte) || digest (1 byte)
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from google.protobuf import json_format

from core.algorithms import KeyAlgorithm, check_public_key
from core.errors import InvalidArgument, PermissionDenied
from core.ids import Role, validate_node_id
from core.signing import normalize_fingerprint
from swf.v1 import directory_pb2 as pb

__all__ = [
    "DOMAIN",
    "anchor_fingerprint",
    "anchor_key_algorithm",
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
    if (
        anchor.directory_key_algorithm
        not in (pb.KEY_ALGORITHM_UNSPECIFIED, pb.KEY_ALGORITHM_ED25519)
        or anchor.digest
    ):
        h.update(b"\x00" + bytes([anchor.directory_key_algorithm & 0xFF, anchor.digest & 0xFF]))
    return h.hexdigest()


def anchor_key_algorithm(anchor: pb.Anchor) -> KeyAlgorithm:
    """The algorithm an anchor declares for its directory key: unset is v1's Ed25519. An unknown
    value reads as UNSPECIFIED, under which nothing verifies."""
    value = anchor.directory_key_algorithm or pb.KEY_ALGORITHM_ED25519
    return KeyAlgorithm(value) if value in (1, 2) else KeyAlgorithm.UNSPECIFIED


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
    algorithm = anchor_key_algorithm(anchor)
    if algorithm is KeyAlgorithm.UNSPECIFIED or anchor.digest not in (
        pb.DIGEST_ALGORITHM_SHA256,
        pb.DIGEST_ALGORITHM_SM3,
    ):
        raise InvalidArgument(
            "key.unsupported_algorithm",
            "anchor.directory_key_algorithm: the anchor declares an algorithm or digest this node "
            "does not know",
            field="anchor.directory_key_algorithm",
        )
    if algorithm is KeyAlgorithm.ED25519 and len(anchor.directory_key) != 32:
        raise InvalidArgument(
            "anchor.malformed",
            "anchor.directory_key: must be a 32-byte Ed25519 public key",
            field="anchor.directory_key",
        )
    try:
        check_public_key(algorithm, anchor.directory_key, field="anchor.directory_key")
    except InvalidArgument as exc:
        raise InvalidArgument(
            "anchor.malformed", exc.message, field="anchor.directory_key"
        ) from exc
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
