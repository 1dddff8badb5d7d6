"""The sm2 profile's worked examples (PROTOCOL.md §7.8-§7.10, vectors/sm2_examples.json): the
§7.9 envelope verifies with Tongsuo through the core's own verifier, an independent SM2
(gmssl) reproduces its signature from e and the stated k, and every expected value is written in
PROTOCOL.md."""

from __future__ import annotations

import json
from typing import Any

from gmssl import sm2 as gm_sm2

from conformance import fixtures as f
from conformance import sm2_vectors, vectors
from core import algorithms
from core.algorithms import Digest, KeyAlgorithm
from core.envelope import Limits, verify
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb


def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (vectors.HERE / "sm2_examples.json").read_text(encoding="utf-8")
    )
    return loaded


def test_the_example_envelope_verifies_at_its_recipient() -> None:
    example = data()["7.9 one envelope, SM2 and SM3"]["expected"]
    gd = sm2_vectors.key("CN-GD").public_bytes()
    kid = data()["7.8 SM2 public keys, key ids and Z"]["expected"]["key_ids"]["CN-GD"]
    nodes = [
        dpb.NodeEntry(
            id=n,
            role=dpb.ROLE_PROVINCE,
            status=dpb.NODE_STATUS_ACTIVE,
            signing_keys=[dpb.PublicKey(key_id=k, algorithm=dpb.KEY_ALGORITHM_SM2, public_key=p)],
        )
        for n, k, p in (
            ("CN-GD", kid, gd),
            ("CN-SH", "CN-SH/sig/x", sm2_vectors.key("CN/dir").public_bytes()),
        )
    ]
    directory = dpb.Directory(
        federation="CN",
        version=1,
        issued_at_unix_ms=f.NOW_MS,
        expires_at_unix_ms=f.NOW_MS + f.TTL_MS,
        nodes=nodes,
        directory_key_algorithm=dpb.KEY_ALGORITHM_SM2,
        digest=dpb.DIGEST_ALGORITHM_SM3,
    )
    envelope = pb.Envelope.FromString(bytes.fromhex(example["envelope"]))
    accepted = verify(
        envelope,
        trust=TrustView.build("CN-SH", directory),
        self_id="CN-SH",
        previous_hop="CN-GD",
        now_ms=f.NOW_MS,
        limits=Limits(max_message_bytes=f.MAX_MESSAGE_BYTES, clock_skew_ms=f.CLOCK_SKEW_MS),
    )
    assert accepted.header_sha256.hex() == example["header_sm3"]
    # The signature is over the signed message as given, under the key's Z and SM3.
    signed = bytes.fromhex(example["signed_message"])
    signature = bytes.fromhex(example["signature"])
    assert algorithms.verifies(KeyAlgorithm.SM2, gd, signature, signed)
    assert not algorithms.verifies(KeyAlgorithm.SM2, gd, signature, signed[:-1] + b"\x00")
    z = bytes.fromhex(data()["7.8 SM2 public keys, key ids and Z"]["expected"]["z"]["CN-GD"])
    assert algorithms.digest(Digest.SM3, z + signed).hex() == example["e"]


def test_gmssl_reproduces_the_signature_from_e_and_k() -> None:
    example = data()["7.9 one envelope, SM2 and SM3"]
    d = int(example["input"]["signer_private_key"], 16)
    public = sm2_vectors.key("CN-GD").public_bytes()[1:].hex()
    other = gm_sm2.CryptSM2(private_key=f"{d:064x}", public_key=public)
    signed = bytes.fromhex(example["expected"]["signed_message"])
    assert other._sm3_z(signed) == example["expected"]["e"]
    rs = other.sign(bytes.fromhex(example["expected"]["e"]), example["input"]["k"])
    assert rs == example["expected"]["r"] + example["expected"]["s"]
    assert other.verify_with_sm3(rs, signed)


def test_the_examples_are_written_in_protocol_section_7() -> None:
    doc = (vectors.HERE.parent.parent / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [x for v in value.values() for x in leaves(v)]
        return [value]

    missing = {
        f"{section}: {field}"
        for section, example in data().items()
        for field, value in example["expected"].items()
        if any(str(item) not in doc for item in leaves(value))
    }
    assert not missing
