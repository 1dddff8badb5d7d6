"""What to do with the envelopes of a frame that passed verification: the plan, without I/O.

`Inbound` (inbound.py) verifies each envelope (core.envelope.verify, docs/PROTOCOL.md §3.6),
looks up what storage knows about the accepted ones, and hands both to `plan`, which decides for
each message (§5.2 step 4):

- `Duplicate`: accepted here before; answered with the first receipt, nothing stored (§5.7);
- `Refuse`: its id is already in the outbox for another origin (`envelope.duplicate_id`, §5.7);
- `Store`: new; stored in the inbox as `received` (for this node), `processed` (an end-to-end
  receipt for this node, applied at once, §5.6) or `relayed` (queued unchanged for the next
  hop, §5.5), with an end-to-end receipt queued back to its origin when it reached this node
  through a relay (§5.6).

Inbound then does the writes the plan says, in one transaction, and answers. The helpers around
the plan are pure too: the receipt body a receiver gives (§4.1), whether a message earns an
end-to-end receipt (§5.6), and the checks on an end-to-end receipt that arrives (§5.6 steps 1–3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from google.protobuf.message import DecodeError

from core import batch_signatures as batch
from core import receipts
from core.envelope import DELIVERY_RECEIPT_TYPE
from core.errors import AlreadyExists, SwnodeError
from core.trust import KeyRef
from swf.v1 import envelope_pb2 as pb

__all__ = [
    "Decision",
    "Duplicate",
    "Facts",
    "Key",
    "Refuse",
    "Store",
    "confirmed_deliveries",
    "end_to_end_receipt",
    "plan",
    "receipt_body",
    "wants_end_to_end",
]

Key = tuple[str, str]  # (origin, message id): a message id is unique per origin (§5.7)

InboxStatus = Literal["received", "processed", "relayed"]


@dataclass(frozen=True)
class Facts:
    """What storage knows, looked up inside the transaction that will store the frame."""

    seen: Mapping[Key, bytes]  # first receipt given, for each message accepted before (§5.7)
    taken: Mapping[str, str]  # origin of each message id already in the outbox (§5.7)


@dataclass(frozen=True)
class Duplicate:
    receipt: bytes  # the stored first receipt (§5.7)


@dataclass(frozen=True)
class Refuse:
    error: SwnodeError


@dataclass(frozen=True)
class Store:
    status: InboxStatus
    relay: bool  # queue the unchanged envelope for the next hop (§5.5)
    end_to_end: bool  # queue the end-to-end receipt sealed for it (§5.6)
    apply_receipt: bool  # its payload is an end-to-end receipt for this node (§5.6)


Decision = Duplicate | Refuse | Store


def receipt_body(
    header: pb.Header,
    header_sha256: bytes,
    *,
    node_id: str,
    previous_hop: str,
    now_ms: int,
    key_id: str,
) -> pb.ReceiptBody:
    """The receipt body this node gives for an accepted envelope (§4.1): DELIVERY when it is
    the recipient (from the origin), HOP when it passes the message on (from the previous hop)."""
    final = header.recipient == node_id
    return pb.ReceiptBody(
        message_id=header.message_id,
        header_sha256=header_sha256,
        issuer=node_id,
        from_node=header.sender if final else previous_hop,
        kind=pb.RECEIPT_KIND_DELIVERY if final else pb.RECEIPT_KIND_HOP,
        received_at_unix_ms=now_ms,
        key_id=key_id,
    )


def wants_end_to_end(header: pb.Header, *, node_id: str, previous_hop: str) -> bool:
    """A message that reached its final recipient through a relay earns an end-to-end receipt,
    unless it is one: receipts are not themselves receipted, that would never end (§5.6)."""
    relayed_to_me = header.recipient == node_id and previous_hop != header.sender
    return relayed_to_me and header.document_type != DELIVERY_RECEIPT_TYPE


def plan(
    headers: Mapping[Key, pb.Header], facts: Facts, *, node_id: str, previous_hop: str
) -> dict[Key, Decision]:
    """The decision for each accepted message of a frame (keys distinct, §5.2 step 2)."""
    decisions: dict[Key, Decision] = {}
    for key, header in headers.items():
        origin, message_id = key
        stored = facts.seen.get(key)
        if stored is not None:
            decisions[key] = Duplicate(stored)
        elif facts.taken.get(message_id, origin) != origin:
            # A message id another origin already used here cannot be queued beside it.
            decisions[key] = Refuse(
                AlreadyExists(
                    "envelope.duplicate_id",
                    f"message id {message_id} is already in use here by another origin",
                )
            )
        elif header.recipient != node_id:
            decisions[key] = Store("relayed", relay=True, end_to_end=False, apply_receipt=False)
        elif header.document_type == DELIVERY_RECEIPT_TYPE:
            decisions[key] = Store("processed", relay=False, end_to_end=False, apply_receipt=True)
        else:
            # Only a new message earns an end-to-end receipt: a duplicate had its own (§5.7).
            decisions[key] = Store(
                "received",
                relay=False,
                end_to_end=wants_end_to_end(header, node_id=node_id, previous_hop=previous_hop),
                apply_receipt=False,
            )
    return decisions


def end_to_end_receipt(
    payload: bytes,
    issuer: str,
    key_of: Callable[[str], KeyRef | None],
    cache: batch.RootCache | None = None,
) -> pb.ReceiptBody | str:
    """The delivery receipt carried by an end-to-end receipt envelope from `issuer` (§5.6 steps
    1–2: it verifies (§4.4 steps 1–4), `issuer` issued it, and it is of kind DELIVERY), or why
    it is ignored."""
    try:
        receipt = pb.Receipt.FromString(payload)
        body = receipts.verify(receipt, key_of, cache)
    except (SwnodeError, ValueError, DecodeError) as exc:
        return f"ignoring an end-to-end receipt from {issuer}: {exc}"
    if body.issuer != issuer or body.kind != pb.RECEIPT_KIND_DELIVERY:
        return f"ignoring an end-to-end receipt from {issuer} that it did not issue"
    return body


def confirmed_deliveries(
    found: Sequence[tuple[bytes, pb.ReceiptBody]],
    sent: Mapping[str, tuple[str, set[bytes]]],
) -> list[tuple[bytes, pb.ReceiptBody]]:
    """The end-to-end receipts that say a message in the outbox was delivered (§5.6 step 3):
    only its own recipient can say so, for a header this node really sealed (the current one or,
    after a redrive, an earlier one). `sent` maps a message id to its recipient and header hashes.
    """
    return [
        (raw, b)
        for raw, b in found
        if b.message_id in sent
        and sent[b.message_id][0] == b.issuer
        and b.header_sha256 in sent[b.message_id][1]
    ]
