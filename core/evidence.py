"""Evidence of delivery that verifies offline, with nothing but a federation anchor.

An evidence file holds a message's signed header, the receipts given for it, and the signed
directories whose keys verify them. Verification starts from the anchor the verifier trusts:

1. A directory of the anchor's federation must verify with the anchor's directory key.
2. A further directory is used only if it verifies with a key a directory already verified names:
   the anchor of a federation it trusts, or the next key of its own federation it announces
   (across a directory key switch: core.directory_chain).
3. The header must verify with its origin's signing key from a verified directory.
4. Each receipt must verify with its issuer's key from a verified directory, and name this
   message and the digest of these exact header bytes (the origin federation's: SHA-256 or SM3).

Directories are checked for authenticity, not for expiry: evidence is read long after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from core import batch_signatures, directory_chain, receipts
from core.algorithms import digest
from core.envelope import ENVELOPE_DOMAIN
from core.errors import InvalidArgument, Unauthenticated
from core.ids import federation_of
from core.key_lifetimes import check_signed_before_retirement
from core.trust import KeyRef
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

__all__ = ["ReceiptFact", "Verified", "build", "verify"]


@dataclass(frozen=True)
class ReceiptFact:
    issuer: str
    kind: str
    received_at_unix_ms: int


@dataclass(frozen=True)
class Verified:
    message_id: str
    sender: str
    recipient: str
    document_type: str
    created_at_unix_ms: int
    receipts: tuple[ReceiptFact, ...]
    directories: tuple[tuple[str, int], ...]

    @property
    def delivered(self) -> bool:
        return any(r.kind == "delivery" and r.issuer == self.recipient for r in self.receipts)


def build(
    envelope: pb.Envelope, given: list[pb.Receipt], directories: list[dpb.SignedDirectory]
) -> pb.Evidence:
    return pb.Evidence(
        header=envelope.header,
        header_signature=envelope.signature,
        receipts=given,
        directories=[d.SerializeToString() for d in directories],
    )


def verify(evidence: pb.Evidence, anchor: dpb.Anchor) -> Verified:
    directories = directory_chain.follow(evidence.directories, anchor)
    keys: dict[str, KeyRef] = {}
    for directory in directories:  # oldest first: a key's newest listing is the one kept
        for node in directory.nodes:
            if federation_of(node.id) != directory.federation:
                continue  # a directory speaks for its own federation's nodes only
            for key in node.signing_keys:
                keys[key.key_id] = KeyRef.listed(node.id, key, directory)
    sig = evidence.header_signature
    origin = keys.get(sig.key_id)
    if origin is None or not batch_signatures.verify_by(
        origin, ENVELOPE_DOMAIN, evidence.header, sig
    ):
        raise Unauthenticated(
            "evidence.bad_header", "the message header does not verify with its origin's key"
        )
    try:
        header = pb.Header.FromString(evidence.header)
    except DecodeError as exc:
        raise InvalidArgument("evidence.malformed", "the header does not parse") from exc
    if header.sender != origin.node_id or header.key_id != sig.key_id:
        raise Unauthenticated(
            "evidence.bad_header", "the header names another sender or key than signed it"
        )
    # The keys were valid when they signed, by the times signed (§2.9): a key retired since
    # still verifies what it signed before its retirement.
    check_signed_before_retirement(
        origin.life, header.created_at_unix_ms, what=f"signing key {origin.key_id}"
    )
    header_sha256 = digest(origin.digest, evidence.header)
    facts = []
    for receipt in evidence.receipts:
        body = receipts.verify(receipt, keys.get)
        issuer_key = keys[receipt.signature.key_id]
        check_signed_before_retirement(
            issuer_key.life, body.received_at_unix_ms, what=f"receipt key {issuer_key.key_id}"
        )
        receipts.check_for(
            body, message_id=header.message_id, header_sha256=header_sha256, issuer=body.issuer
        )
        kind = "delivery" if body.kind == pb.RECEIPT_KIND_DELIVERY else "hop"
        facts.append(ReceiptFact(body.issuer, kind, body.received_at_unix_ms))
    return Verified(
        message_id=header.message_id,
        sender=header.sender,
        recipient=header.recipient,
        document_type=header.document_type,
        created_at_unix_ms=header.created_at_unix_ms,
        receipts=tuple(facts),
        directories=tuple((d.federation, d.version) for d in directories),
    )
