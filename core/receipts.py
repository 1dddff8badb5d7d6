"""Receipts: signed proof that a node stored a message durably (docs/PROTOCOL.md §4).

A receipt body names the message, the digest of the exact header bytes received (the message
origin's federation digest: SHA-256, or SM3), the issuer and
the kind (HOP: the next hop has it; DELIVERY: the final recipient has it). Bodies are sealed in
batches like envelopes, with leaf domain "swnode/receipt/v1".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from google.protobuf.message import DecodeError

from core import batch_signatures
from core.algorithms import Digest, SigningKey, declared
from core.errors import InvalidArgument, Unauthenticated, quote
from core.key_lifetimes import check_usable
from core.trust import KeyRef
from swf.v1 import envelope_pb2 as pb

__all__ = ["RECEIPT_DOMAIN", "check_for", "seal", "verify"]

RECEIPT_DOMAIN = b"swnode/receipt/v1"


def seal(
    bodies: Sequence[pb.ReceiptBody],
    key: SigningKey,
    key_id: str,
    hash_with: Digest = Digest.SHA256,
) -> list[pb.Receipt]:
    """Receipts for `bodies`, under one batch signature (§4.3), the tree in the issuer's digest."""
    raw = [b.SerializeToString(deterministic=True) for b in bodies]
    signatures = batch_signatures.seal(key, key_id, RECEIPT_DOMAIN, raw, hash_with)
    return [pb.Receipt(body=r, signature=s) for r, s in zip(raw, signatures, strict=True)]


def verify(
    receipt: pb.Receipt,
    key_of: Callable[[str], KeyRef | None],
    cache: batch_signatures.RootCache | None = None,
    *,
    now_ms: int | None = None,
) -> pb.ReceiptBody:
    """The body of an authentic receipt, or Unauthenticated: §4.4 steps 1–4, in order. Given
    `now_ms` (a receipt that arrives live), the key must be valid and unretired then (§2.9)."""
    # 1. The issuer's key is known.
    sig = receipt.signature
    key = key_of(sig.key_id)
    if key is None:
        raise Unauthenticated(
            "receipt.unknown_key", f"receipt key {quote(sig.key_id)} is not known"
        )
    # 1b. Live, it is valid and not retired (§2.9).
    if now_ms is not None:
        check_usable(key.life, now_ms, what=f"receipt key {key.key_id}", skew_ms=5 * 60_000)
    # 2. The signature covers these exact body bytes, under the algorithm the key declares.
    declared(key.algorithm, what=f"receipt key {key.key_id}")
    if not batch_signatures.verify_by(key, RECEIPT_DOMAIN, receipt.body, sig, cache):
        raise Unauthenticated("receipt.bad_signature", "the receipt's signature does not verify")
    # 3. Only now parse; 4. the body names the key and the issuer that signed it.
    try:
        body = pb.ReceiptBody.FromString(receipt.body)
    except DecodeError as exc:
        raise InvalidArgument(
            "receipt.malformed", "the signed receipt body does not parse"
        ) from exc
    if body.key_id != sig.key_id or body.issuer != key.node_id:
        raise Unauthenticated(
            "receipt.issuer_mismatch",
            f"the receipt claims {quote(body.issuer)} but {key.node_id} signed it",
        )
    return body


def check_for(body: pb.ReceiptBody, *, message_id: str, header_sha256: bytes, issuer: str) -> None:
    """The receipt is for this exact message (§4.4 step 5) and from the node expected to give
    it (step 6)."""
    if body.message_id != message_id or body.header_sha256 != header_sha256:
        raise Unauthenticated(
            "receipt.wrong_message", f"the receipt is not for message {message_id} as sent"
        )
    if body.issuer != issuer:
        raise Unauthenticated(
            "receipt.wrong_issuer", f"expected a receipt from {issuer}, got one from {body.issuer}"
        )
