"""Ed25519 signatures with domain separation, and key ids.

Every signature in the protocol is over `domain || 0x00 || message`, where `domain` names what is
being signed ("swnode/directory/v1", "swnode/batch/v1", ...). A signature made for one purpose can
therefore never be presented as a signature for another.
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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


def sign(key: Ed25519PrivateKey, domain: bytes, message: bytes) -> bytes:
    return key.sign(signing_input(domain, message))


def verifies(public_key: bytes, signature: bytes, domain: bytes, message: bytes) -> bool:
    """True if `signature` is a valid Ed25519 signature of `message` under `domain`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(signature, signing_input(domain, message))
    except (InvalidSignature, ValueError):
        return False
    return True


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(node_id: str, purpose: str, public_key: bytes) -> str:
    """`<node>/<purpose>/<16 hex digits of SHA-256(raw key)>`: stable, derivable from the key."""
    if len(public_key) != 32:
        raise InvalidArgument("key.malformed", "an Ed25519 public key is 32 bytes")
    return f"{node_id}/{purpose}/{hashlib.sha256(public_key).hexdigest()[:16]}"


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
