"""The node's signer: one key and key id for the envelopes it seals and the receipts it gives."""

from __future__ import annotations

from core import receipts
from core.envelope import Draft, Limits, verify
from core.signer import Signer
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from swf.v1 import envelope_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation

CN = Federation("CN", ["CN-GD"])


def test_the_key_id_is_the_one_derived_from_the_key() -> None:
    key = CN.members["CN-GD"].signing_key
    assert Signer.of("CN-GD", key).key_id == key_id("CN-GD", PURPOSE_SIGNING, raw_public(key))


def test_what_it_seals_verifies_with_the_directory_key() -> None:
    signer = Signer.of("CN-GD", CN.members["CN-GD"].signing_key)
    trust = TrustView.build("CN", CN.directory())
    (sealed,) = signer.seal_envelopes(
        [Draft(recipient="CN", document_type="certificate.origin", payload=b"x")],
        now_ms=NOW_MS,
        ttl_ms=HOUR_MS,
        new_id=lambda: "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b",
    )
    accepted = verify(
        sealed.envelope,
        trust=trust,
        self_id="CN",
        previous_hop="CN-GD",
        now_ms=NOW_MS,
        limits=Limits(max_message_bytes=1 << 20, clock_skew_ms=300_000),
    )
    assert accepted.header.key_id == signer.key_id
    body = pb.ReceiptBody(message_id="m", issuer="CN-GD", key_id=signer.key_id)
    (receipt,) = signer.seal_receipts([body])
    assert receipts.verify(receipt, trust.signing_key).issuer == "CN-GD"
