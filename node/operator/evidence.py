"""A message's evidence: its header and every receipt for it, with the directories that verify
them — what `swnode receipt` writes, `swnode verify-receipt` checks, and the console offers
for download. Built from the node's database; no node folder needed."""

from __future__ import annotations

from google.protobuf import json_format

from core import algorithms, directory_chain, evidence
from core.errors import NotFound, quote
from core.signer import Signer
from core.trust import TrustView
from storage.database import Database
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

__all__ = ["evidence_json", "message_evidence"]


async def message_evidence(
    db: Database, trust: TrustView, signer: Signer, message_id: str
) -> pb.Evidence:
    """`signer`: this node's own, whose digest a header sealed here was hashed with."""
    row = await db.outbox.envelope(message_id)
    given: list[pb.Receipt]
    if row is not None:
        envelope = pb.Envelope.FromString(bytes(row["envelope"]))
        given = [
            pb.Receipt.FromString(bytes(r["receipt"])) for r in await db.outbox.receipts(message_id)
        ]
        # After a redrive the receipts may be for an earlier sealing: show the header the
        # delivery receipt (else the newest receipt) was given for, with its receipts only.
        bodies = [pb.ReceiptBody.FromString(r.body) for r in given]
        if bodies and bodies[-1].header_sha256 != bytes(row["header_sha256"]):
            wanted = next(
                (b.header_sha256 for b in bodies if b.kind == pb.RECEIPT_KIND_DELIVERY),
                bodies[-1].header_sha256,
            )
            earlier = (await db.outbox.versions(message_id)).get(wanted)
            if earlier is not None:
                envelope = pb.Envelope.FromString(earlier)
        origin = trust.signing_key(envelope.signature.key_id)
        h = origin.digest if origin is not None else signer.digest
        digest = algorithms.digest(h, envelope.header)
        given = [r for r, b in zip(given, bodies, strict=True) if b.header_sha256 == digest]
    else:
        received = await db.inbox.get(message_id)
        if received is None:
            raise NotFound("message.unknown", f"message_id: this node has no {quote(message_id)}")
        envelope = pb.Envelope.FromString(bytes(received["envelope"]))
        given = [pb.Receipt.FromString(bytes(received["receipt"]))]
    held = [h.signed for h in (await db.directories.held()).values()]
    # After a directory key switch, the links from the earlier keys too (PROTOCOL.md §4.5).
    chain = directory_chain.links_to_carry(held, await db.directories.links())
    directories = [dpb.SignedDirectory.FromString(raw) for raw in held + chain]
    return evidence.build(envelope, given, directories)


def evidence_json(ev: pb.Evidence) -> str:
    return json_format.MessageToJson(ev, indent=2) + "\n"
