"""The JWS algorithms of access tokens, one per key algorithm a directory can declare.

| key algorithm (`PublicKey.algorithm`) | JWS `alg` | signature bytes | JWK |
|---|---|---|---|
| Ed25519 | `EdDSA` (RFC 8037) | 64 bytes | `{"kty": "OKP", "crv": "Ed25519", "x"}` |
| SM2 | `SM2SM3` | r ‖ s, 32 bytes each (as ES256, RFC 7518 §3.4) | EC, `"crv": "SM2"`, x, y |

`SM2SM3` is SM2 (GB/T 32918.2) over SM3 with Z of the default user id "1234567812345678" (GM/T
0009). No JOSE registry entry exists for SM2; the name is the one IANA registered for the same
algorithm in DNSSEC (RFC 9563, algorithm 17) and the one JavaScript JWS libraries use, and the
JWK form follows RFC 7518 §6.2 with the curve named "SM2" (docs/IDENTITY.md §4.3). A verifier
accepts exactly the `alg` of the key the token names (§4.2); nothing here widens that.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from jwt.algorithms import Algorithm

from core import algorithms
from core.algorithms import KeyAlgorithm, SigningKey, Sm2PrivateKey
from swf.v1 import directory_pb2 as pb

__all__ = ["EDDSA", "JWS_ALG", "SM2SM3", "Sm2PublicKey", "jwk", "jws_alg"]

EDDSA = "EdDSA"
SM2SM3 = "SM2SM3"
JWS_ALG = {KeyAlgorithm.ED25519: EDDSA, KeyAlgorithm.SM2: SM2SM3}


def jws_alg(key: SigningKey) -> str:
    return JWS_ALG[algorithms.algorithm_of(key)]


class Sm2PublicKey:
    """An SM2 public key as the directory lists it (04 || x || y), for verifying a token."""

    def __init__(self, point: bytes) -> None:
        self.point = point


class _Sm2Sm3(Algorithm):
    """SM2SM3 for PyJWT: signs with an `Sm2PrivateKey`, verifies with an `Sm2PublicKey`."""

    def prepare_key(self, key: Any) -> Any:
        if not isinstance(key, Sm2PrivateKey | Sm2PublicKey):
            raise jwt.InvalidKeyError("SM2SM3 needs an SM2 key")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        r, s = decode_dss_signature(key.sign(msg))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if not isinstance(key, Sm2PublicKey) or len(sig) != 64:
            return False
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        return algorithms.verifies(KeyAlgorithm.SM2, key.point, der, msg)

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError("tokens' JWKs are built from the directory (identity.jwk)")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError("token keys come from the signed directory, not from JWKs")


# Registered once; every decode still pins the one `alg` its key declares.
with contextlib.suppress(ValueError):  # already registered (a module reloaded)
    jwt.register_algorithm(SM2SM3, _Sm2Sm3())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: pb.PublicKey) -> dict[str, str]:
    """A token key of the directory as a JWK: RFC 8037 for Ed25519, RFC 7518 §6.2 for SM2."""
    if key.algorithm == pb.KEY_ALGORITHM_SM2:
        point = key.public_key
        return {
            "kty": "EC",
            "crv": "SM2",
            "x": _b64(point[1:33]),
            "y": _b64(point[33:65]),
            "kid": key.key_id,
            "alg": SM2SM3,
            "use": "sig",
        }
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(key.public_key),
        "kid": key.key_id,
        "alg": EDDSA,
        "use": "sig",
    }
