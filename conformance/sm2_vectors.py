"""The worked examples of the sm2 profile (PROTOCOL.md §7.8-§7.10), from this repository's core.

Everything SM2 and SM3 make deterministically is given byte for byte: public keys, key ids, Z,
headers, digests, Merkle leaves and the message e is computed over. SM2 signatures are randomized
(GB/T 32918.2 §6.1 step A3 draws k afresh); so a signature is given with the k it was made with
(`SIGNATURE_K`), which reproduces it with any SM2 implementation that takes k (the tests do so
with gmssl), and which verifies with any. A real signer must never reuse a k.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from conformance import fixtures as f
from core import algorithms, merkle, signing
from core.algorithms import Digest, KeyAlgorithm, Sm2PrivateKey
from core.anchor import anchor_fingerprint
from core.envelope import ENVELOPE_DOMAIN, Draft, seal
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

__all__ = ["SCALARS", "SIGNATURE_K", "key", "sm2_examples"]

Json = dict[str, Any]

# CN-GD's is the private key of GB/T 32918.5-2017's example; CN/dir's is SHA-256 of a label.
SCALARS = {
    "CN-GD": 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8,
    "CN/dir": int.from_bytes(hashlib.sha256(b"swnode sm2 example CN/dir").digest(), "big"),
}
# The k the §7.9 signature was made with (GB/T 32918.5's example k), and that signature's r, s.
SIGNATURE_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
SIGNATURE_RS = (
    0x17CCE0C5405A4814E8987778EECB1BAA134CC67CBDE21E84A5FFB8E406A4087C,
    0x342D61049D599B44AA21A35ADE2395D54C28F011A16B9BF77D67E567893E1A69,
)


def key(name: str) -> Sm2PrivateKey:
    return Sm2PrivateKey.from_scalar(SCALARS[name])


def hx(data: bytes) -> str:
    return data.hex()


def sm2_examples() -> Json:
    gd = key("CN-GD")
    gd_public = gd.public_bytes()
    kid = signing.key_id("CN-GD", signing.PURPOSE_SIGNING, gd_public, KeyAlgorithm.SM2)
    message_id = f.uuid7(f.NOW_MS, bytes(range(10)))
    (one,) = seal(
        [Draft("CN-SH", f.DOCUMENT_TYPE, b"hello, CN-SH")],
        sender="CN-GD",
        key=gd,
        key_id=kid,
        now_ms=f.NOW_MS,
        ttl_ms=f.TTL_MS,
        new_id=lambda: message_id,
        hash_with=Digest.SM3,
    )
    leaf = merkle.leaf_hash(ENVELOPE_DOMAIN, one.envelope.header, Digest.SM3)
    signed = signing.signing_input(signing.BATCH_DOMAIN, (1).to_bytes(8, "big") + leaf)
    z = algorithms.sm2_z(gd_public)
    signature = encode_dss_signature(*SIGNATURE_RS)
    envelope = pb.Envelope(
        header=one.envelope.header,
        payload=one.envelope.payload,
        signature=pb.BatchSignature(signature=signature, leaf_count=1, key_id=kid),
    )
    anchor = dpb.Anchor(
        federation="CN",
        ca_certificate=f.PLACEHOLDER_CA,
        directory_key=key("CN/dir").public_bytes(),
        directory_key_algorithm=dpb.KEY_ALGORITHM_SM2,
        digest=dpb.DIGEST_ALGORITHM_SM3,
    )
    return {
        "7.8 SM2 public keys, key ids and Z": {
            "input": {
                "private_keys": {n: f"{d:064x}" for n, d in SCALARS.items()},
                "user_id": hx(algorithms.DEFAULT_SM2_USER_ID),
            },
            "expected": {
                "public_keys": {n: hx(key(n).public_bytes()) for n in SCALARS},
                "key_ids": {"CN-GD": kid},
                "z": {n: hx(algorithms.sm2_z(key(n).public_bytes())) for n in SCALARS},
            },
        },
        "7.9 one envelope, SM2 and SM3": {
            "input": {
                "signer_private_key": f"{SCALARS['CN-GD']:064x}",
                "now_unix_ms": f.NOW_MS,
                "ttl_ms": f.TTL_MS,
                "message_id_random": hx(bytes(range(10))),
                "sender": "CN-GD",
                "recipient": "CN-SH",
                "document_type": f.DOCUMENT_TYPE,
                "payload": hx(b"hello, CN-SH"),
                "k": f"{SIGNATURE_K:064x}",
            },
            "expected": {
                "message_id": one.message_id,
                "payload_sm3": hx(algorithms.digest(Digest.SM3, b"hello, CN-SH")),
                "header": hx(one.envelope.header),
                "header_sm3": hx(one.header_sha256),
                "leaf": hx(leaf),
                "signed_message": hx(signed),
                "e": hx(algorithms.digest(Digest.SM3, z + signed)),
                "r": f"{SIGNATURE_RS[0]:064x}",
                "s": f"{SIGNATURE_RS[1]:064x}",
                "signature": hx(signature),
                "envelope": hx(envelope.SerializeToString(deterministic=True)),
            },
        },
        "7.10 an SM2 anchor fingerprint": {
            "input": {
                "federation": "CN",
                "ca_certificate": hx(f.PLACEHOLDER_CA),
                "directory_key": hx(anchor.directory_key),
                "directory_key_algorithm": dpb.KEY_ALGORITHM_SM2,
                "digest": dpb.DIGEST_ALGORITHM_SM3,
            },
            "expected": {"fingerprint": anchor_fingerprint(anchor)},
        },
    }
