"""Signatures with domain separation, and key ids.

Every signature in the protocol is over `domain || 0x00 || message`, where `domain` names what is
being signed ("swnode/directory/v1", "swnode/batch/v1", ...). A signature made for one purpose can
therefore never be presented as a signature for another. The algorithm is the key's: a node signs
with its own key's, and verifies with the one the directory declares (core/algorithms.py).
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core import algorithms
from core.algorithms import KeyAlgorithm, SigningKey
from core.errors import InvalidArgument

__all__ = [
    "BATCH_DOMAIN",
    "DIRECTORY_DOMAIN",
    "ENROL_DOMAIN",
    "PURPOSE_DIRECTORY",
    "PURPOSE_SIGNING",
    "PURPOSE_TOKEN",
    "fingerprint",
    "key_id",
    "key_id_of",
    "normalize_fingerprint",
    "raw_public",
    "sign",
    "signing_input",
    "verifies",
]

DIRECTORY_DOMAIN: Final = b"swnode/directory/v1"
BATCH_DOMAIN: Final = b"swnode/batch/v1"
ENROL_DOMAIN: Final = b"swnode/enrol/v1"

PURPOSE_SIGNING: Final = "sig"
PURPOSE_TOKEN: Final = "tok"  # noqa: S105 (a key purpose, not a secret)
PURPOSE_DIRECTORY: Final = "dir"


def signing_input(domain: bytes, message: bytes) -> bytes:
    return domain + b"\x00" + message


def sign(key: SigningKey, domain: bytes, message: bytes) -> bytes:
    return algorithms.sign(key, signing_input(domain, message))


def verifies(
    public_key: bytes,
    signature: bytes,
    domain: bytes,
    message: bytes,
    *,
    algorithm: int = KeyAlgorithm.ED25519,
) -> bool:
    """True if `signature` is a valid signature of `message` under `domain`, with the key read as
    the `algorithm` it declares (v1's Ed25519 unless given)."""
    return algorithms.verifies(algorithm, public_key, signature, signing_input(domain, message))


def raw_public(key: SigningKey | Ed25519PublicKey) -> bytes:
    """The public key as the directory carries it: 32 raw bytes (Ed25519), 04 || x || y (SM2)."""
    if isinstance(key, Ed25519PublicKey):
        return algorithms.public_bytes_of_ed25519(key)
    return algorithms.public_bytes(key)


def key_id(
    node_id: str, purpose: str, public_key: bytes, algorithm: KeyAlgorithm = KeyAlgorithm.ED25519
) -> str:
    """`<node>/<purpose>/<16 hex digits of SHA-256(raw key)>`: stable, derivable from the key. A
    name, not a security function: SHA-256 in every profile."""
    if algorithm is KeyAlgorithm.ED25519 and len(public_key) != 32:
        raise InvalidArgument("key.malformed", "an Ed25519 public key is 32 bytes")
    if algorithm is not KeyAlgorithm.ED25519:
        algorithms.check_public_key(algorithm, public_key, field="public_key")
    return f"{node_id}/{purpose}/{hashlib.sha256(public_key).hexdigest()[:16]}"


def key_id_of(node_id: str, purpose: str, key: SigningKey) -> str:
    """The key id of one of this node's own keys (§0.5)."""
    return key_id(node_id, purpose, algorithms.public_bytes(key), algorithms.algorithm_of(key))


def fingerprint(data: bytes) -> str:
    """SHA-256 of `data` as lowercase hex: how certificates and anchors are compared by people."""
    return hashlib.sha256(data).hexdigest()


def normalize_fingerprint(text: str) -> str:
    """Accept a fingerprint as printed, with or without colons, spaces or `sha256:`; lowercase."""
    cleaned = text.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise InvalidArgument(
            "fingerprint.malformed",
            "fingerprint: expected 64 hexadecimal digits (SHA-256), as printed by the other side",
            field="fingerprint",
        )
    return cleaned
