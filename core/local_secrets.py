"""What a node derives from its local secret, and secrets sealed with it at rest.

The local secret is 32 random bytes of the node's own (keys/local.secret: identity/local_secret.py)
that never leave it: not in the directory, not in any message. Each use takes its own key from it
by HKDF-SHA256 with a purpose label, so that no two uses share a key and none is the secret:

- `web session`: the portal's session secret (its CSRF key is derived from it), alike on every
  replica that holds the same file, and untouched by a rotation of any published key;
- `totp at rest`: the AES-256-GCM key that seals operators' TOTP secrets in the database.

A sealed value is text, `enc1:` then base64 of the 12-byte nonce and the ciphertext with its tag;
the associated data binds it to its row (the operator's name), so that a value copied to another
row does not open. Pure: the caller hands in the nonce.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import FailedPrecondition

__all__ = [
    "NONCE_BYTES",
    "SEALED_PREFIX",
    "SECRET_BYTES",
    "SESSION",
    "TOTP",
    "derive",
    "is_sealed",
    "open_sealed",
    "seal",
]

SECRET_BYTES = 32
NONCE_BYTES = 12
SESSION = "web session"
TOTP = "totp at rest"
SEALED_PREFIX = "enc1:"


def derive(local_secret: bytes, purpose: str) -> bytes:
    """The 32-byte key for `purpose` (one of the labels above)."""
    if len(local_secret) != SECRET_BYTES:
        raise ValueError(f"a local secret is {SECRET_BYTES} bytes, not {len(local_secret)}")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"swnode local secret\x00" + purpose.encode(),
    ).derive(local_secret)


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal(key: bytes, plaintext: str, *, bound_to: str, nonce: bytes) -> str:
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), bound_to.encode())
    return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode()


def open_sealed(key: bytes, stored: str, *, bound_to: str, what: str) -> str:
    """The plaintext of `stored`; `secret.undecryptable` naming `what` if it is not sealed, or
    not with this key for this row (another node's local secret, a restored database, a value
    moved between rows)."""
    try:
        if not is_sealed(stored):
            raise ValueError("not sealed")
        raw = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        return AESGCM(key).decrypt(nonce, sealed, bound_to.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise FailedPrecondition(
            "secret.undecryptable",
            f"{what}: does not open with this node's keys/local.secret (sealed with another one, "
            "or altered); restore the keys/local.secret it was sealed with",
        ) from exc
