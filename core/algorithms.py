"""Signature and digest algorithms, chosen by what a key or a directory declares (PROTOCOL.md §0.9).

A federation has one crypto profile, fixed when its central is created: `ed25519` (Ed25519
signatures, SHA-256 digests; the default, and all of v1 before profiles) or `sm2` (SM2 signatures
over SM3 with the signer's Z value, GB/T 32918.2 and GM/T 0009's default user id; SM3 digests,
GB/T 32905). Every public key in a directory declares its algorithm and every directory its
digest; a verifier calls `verifies` with the *declared* algorithm and never infers it from the
length or shape of the bytes. An algorithm this node does not know, or one a key does not
declare, is refused (`key.unsupported_algorithm`, `key.algorithm_mismatch`).

SM2 comes from Tongsuo through tongsuopy; SM3 from the OpenSSL under hashlib where it provides
SM3 (about five times faster per call than tongsuopy's, which matters in Merkle trees), else from
Tongsuo; Ed25519 and SHA-256 from pyca/cryptography and hashlib. Nothing here does curve or hash
arithmetic of its own.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization as cs
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tongsuopy.crypto import exceptions as tx
from tongsuopy.crypto import hashes as th
from tongsuopy.crypto import serialization as ts
from tongsuopy.crypto.asymciphers import ec as tec

from core.errors import InvalidArgument, Unauthenticated, quote
from swf.v1 import directory_pb2 as dpb

__all__ = [
    "DEFAULT_SM2_USER_ID",
    "PROFILES",
    "Digest",
    "KeyAlgorithm",
    "Profile",
    "SigningKey",
    "Sm2PrivateKey",
    "algorithm_of",
    "as_pb",
    "check_public_key",
    "declarations",
    "declared",
    "digest",
    "generate",
    "load_private_pem",
    "private_pem",
    "profile",
    "profile_of",
    "public_bytes",
    "public_bytes_of_ed25519",
    "sign",
    "sm2_z",
    "sm3_hashlib",
    "sm3_tongsuo",
    "verifies",
]


class KeyAlgorithm(enum.IntEnum):
    """`swf.v1.KeyAlgorithm`: the value a `PublicKey.algorithm` carries."""

    UNSPECIFIED = 0
    ED25519 = 1
    SM2 = 2


class Digest(enum.IntEnum):
    """`swf.v1.DigestAlgorithm`: a federation's digest. Zero is SHA-256, so that every directory
    made before profiles existed (which has no such field) reads as what it always was."""

    SHA256 = 0
    SM3 = 1


# GM/T 0009-2012 §10: the user id of Z when the parties agreed no other.
DEFAULT_SM2_USER_ID: Final = b"1234567812345678"

_PUBLIC_SIZE: Final = {KeyAlgorithm.ED25519: 32, KeyAlgorithm.SM2: 65}

# GB/T 32918.5-2017: the recommended 256-bit curve (a, b, G), as Z covers them.
_SM2_A: Final = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
_SM2_B: Final = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
_SM2_GX: Final = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
_SM2_GY: Final = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")


@dataclass(frozen=True)
class Profile:
    """What a federation signs and digests with."""

    name: str
    key_algorithm: KeyAlgorithm
    digest: Digest


PROFILES: Final = {
    "ed25519": Profile("ed25519", KeyAlgorithm.ED25519, Digest.SHA256),
    "sm2": Profile("sm2", KeyAlgorithm.SM2, Digest.SM3),
}


def as_pb(algorithm: KeyAlgorithm) -> dpb.KeyAlgorithm.ValueType:
    """The `swf.v1.KeyAlgorithm` value of `algorithm`."""
    return dpb.KeyAlgorithm.ValueType(algorithm.value)


def declarations(p: Profile) -> dict[str, Any]:
    """The fields a directory or anchor of profile `p` declares (§0.9): none for v1's
    Ed25519/SHA-256, whose bytes stay as they always were; the key algorithm and digest else."""
    if p.key_algorithm is KeyAlgorithm.ED25519 and p.digest is Digest.SHA256:
        return {}
    return {
        "directory_key_algorithm": as_pb(p.key_algorithm),
        "digest": dpb.DigestAlgorithm.ValueType(p.digest.value),
    }


def profile(name: str, *, field: str = "crypto") -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidArgument(
            "key.unsupported_algorithm",
            f"{field}: {quote(name)} is not a crypto profile; use one of {', '.join(PROFILES)}",
            field=field,
        ) from None


@dataclass(frozen=True, eq=False)
class Sm2PrivateKey:
    """An SM2 private key (Tongsuo), signing with SM3 and Z over the default user id."""

    key: Any

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        return cls(tec.generate_private_key(tec.SM2()))

    @classmethod
    def from_scalar(cls, d: int) -> Sm2PrivateKey:
        return cls(tec.derive_private_key(d, tec.SM2()))

    def public_bytes(self) -> bytes:
        """The uncompressed point 04 || x || y (GB/T 32918.1 §4.2.9), 65 bytes."""
        data: bytes = self.key.public_key().public_bytes(
            ts.Encoding.X962, ts.PublicFormat.UncompressedPoint
        )
        return data

    def private_pem(self) -> bytes:
        data: bytes = self.key.private_bytes(
            ts.Encoding.PEM, ts.PrivateFormat.PKCS8, ts.NoEncryption()
        )
        return data

    def sign(self, message: bytes) -> bytes:
        """DER SEQUENCE { r INTEGER, s INTEGER } (GB/T 35276 §7.3) over e = SM3(Z || message);
        Tongsuo computes Z from the key and the default user id itself."""
        data: bytes = self.key.sign(message, tec.ECDSA(th.SM3()))
        return data


SigningKey = Ed25519PrivateKey | Sm2PrivateKey


def algorithm_of(key: SigningKey) -> KeyAlgorithm:
    """The algorithm of one of this node's own private keys."""
    return KeyAlgorithm.SM2 if isinstance(key, Sm2PrivateKey) else KeyAlgorithm.ED25519


def public_bytes(key: SigningKey) -> bytes:
    if isinstance(key, Sm2PrivateKey):
        return key.public_bytes()
    return public_bytes_of_ed25519(key.public_key())


def public_bytes_of_ed25519(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(cs.Encoding.Raw, cs.PublicFormat.Raw)


def profile_of(key: SigningKey) -> Profile:
    """The crypto profile a node's own signing key belongs to."""
    return PROFILES["sm2" if isinstance(key, Sm2PrivateKey) else "ed25519"]


def sign(key: SigningKey, message: bytes) -> bytes:
    return key.sign(message)


def generate(algorithm: KeyAlgorithm) -> SigningKey:
    if algorithm is KeyAlgorithm.SM2:
        return Sm2PrivateKey.generate()
    return Ed25519PrivateKey.generate()


def private_pem(key: SigningKey) -> bytes:
    if isinstance(key, Sm2PrivateKey):
        return key.private_pem()
    return key.private_bytes(cs.Encoding.PEM, cs.PrivateFormat.PKCS8, cs.NoEncryption())


def load_private_pem(data: bytes) -> SigningKey | None:
    """A PKCS#8 signing key: Ed25519 (OID 1.3.101.112) or SM2 (curve OID 1.2.156.10197.1.301),
    as the file's own algorithm identifier says; None if it is neither."""
    try:
        key = cs.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # the SM2 curve is not pyca's
        key = None
    if isinstance(key, Ed25519PrivateKey):
        return key
    try:
        sm2 = ts.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, tx.UnsupportedAlgorithm):
        return None
    if isinstance(sm2, tec.EllipticCurvePrivateKey) and isinstance(sm2.curve, tec.SM2):
        return Sm2PrivateKey(sm2)
    return None


def declared(value: int, *, what: str) -> KeyAlgorithm:
    """The algorithm a key declares (unset is v1's Ed25519), or `key.unsupported_algorithm` for
    one this node does not know."""
    if value == KeyAlgorithm.UNSPECIFIED:
        return KeyAlgorithm.ED25519
    if value in (KeyAlgorithm.ED25519, KeyAlgorithm.SM2):
        return KeyAlgorithm(value)
    raise Unauthenticated(
        "key.unsupported_algorithm",
        f"{what} declares key algorithm {value}, which this node does not know "
        f"(known: {KeyAlgorithm.ED25519.value} Ed25519, {KeyAlgorithm.SM2.value} SM2)",
    )


def check_public_key(algorithm: KeyAlgorithm, public_key: bytes, *, field: str) -> None:
    """A public key is of the size and form its declared algorithm fixes."""
    size = _PUBLIC_SIZE.get(algorithm)
    if size is None:
        raise InvalidArgument(
            "key.unsupported_algorithm", f"{field}: unknown key algorithm", field=field
        )
    ok = len(public_key) == size
    if ok and algorithm is KeyAlgorithm.SM2:
        ok = _sm2_public(public_key) is not None
    if not ok:
        raise InvalidArgument(
            "key.malformed",
            f"{field}: not a {algorithm.name} public key ("
            + ("32 raw bytes" if algorithm is KeyAlgorithm.ED25519 else "04 || x || y, 65 bytes")
            + ")",
            field=field,
        )


@functools.lru_cache(maxsize=4096)
def _sm2_public(data: bytes) -> Any:
    if len(data) != 65 or data[0] != 4:
        return None
    try:
        return tec.EllipticCurvePublicKey.from_encoded_point(tec.SM2(), data)
    except ValueError:
        return None


def verifies(algorithm: int, public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if `signature` over `message` verifies under `public_key` read as the *declared*
    `algorithm`; False for any other algorithm value."""
    if algorithm == KeyAlgorithm.ED25519:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True
    if algorithm == KeyAlgorithm.SM2:
        key = _sm2_public(public_key)
        if key is None or not 8 <= len(signature) <= 72:
            return False
        try:
            key.verify(signature, message, tec.ECDSA(th.SM3()))
        except (tx.InvalidSignature, tx.InternalError, ValueError):
            return False
        return True
    return False


def sm3_tongsuo(data: bytes) -> bytes:
    h = th.Hash(th.SM3())
    h.update(data)
    out: bytes = h.finalize()
    return out


def sm3_hashlib(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def _sm3_of_openssl() -> bool:
    """True if hashlib's OpenSSL computes SM3, and computes GB/T 32905's first example right."""
    try:
        return sm3_hashlib(b"abc") == sm3_tongsuo(b"abc")
    except ValueError:  # not in this OpenSSL build, or disabled by its configuration
        return False


_sm3 = sm3_hashlib if _sm3_of_openssl() else sm3_tongsuo


def digest(algorithm: Digest, data: bytes) -> bytes:
    """The federation's digest of `data`: SHA-256 or SM3, 32 bytes either way."""
    if algorithm is Digest.SM3:
        return _sm3(data)
    return hashlib.sha256(data).digest()


def sm2_z(public_key: bytes, user_id: bytes = DEFAULT_SM2_USER_ID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5): what the
    signer's message is prefixed with before hashing; given for worked examples and checks."""
    if len(public_key) != 65 or public_key[0] != 4:
        raise InvalidArgument("key.malformed", "an SM2 public key is 04 || x || y, 65 bytes")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return digest(Digest.SM3, entl + user_id + _SM2_A + _SM2_B + _SM2_GX + _SM2_GY + public_key[1:])
