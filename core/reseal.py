"""When a node seals an outgoing message again with its current key (docs/PROTOCOL.md §2.9).

After a signing key is retired (at once with `--now`, or at the end of a rotation's overlap),
peers refuse what it sealed with `key.retired`. A message this node originated that is not yet
delivered is sealed again with the current key, under the same message id, so that it is
delivered once: the recipient dedupes by id, and a receipt for an earlier sealing still counts
(§5.3). The rule is pure: the caller hands it what the outbox row and the trust view say.

A message is resealed when all hold:
1. this node is its origin (a relayed envelope is its origin's to reseal);
2. it is waiting (queued or failed), or dead because a peer refused it with `key.retired`;
3. it has not expired;
4. the key it was sealed with is not the current one, and the current one is usable now in this
   node's own directory entry (a replica still on the retired key reseals nothing);
5. the sealing key is no longer usable now in that entry (retired, or expired), or a peer said
   it is retired (`key.retired`).

A message in flight (sent, unanswered) that would be resealed once its attempt ends unanswered is
looked at again shortly (`decide`: LATER), so that one whose peer is down is not missed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from core.envelope import Draft
from core.key_lifetimes import Lifetime, refusal
from core.outbox_status import Status
from swf.v1 import envelope_pb2 as pb

__all__ = [
    "RETIRED",
    "Candidate",
    "Decision",
    "decide",
    "draft_again",
    "refusal_reason",
    "should_reseal",
]

RETIRED = "key.retired"
_REASON = re.compile(r"\[([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\]$")


@dataclass(frozen=True)
class Candidate:
    """What the outbox row of a message says: its origin, status, last error and expiry, and the
    key id its envelope was sealed with."""

    origin: str
    status: str
    last_error: str
    expires_at_unix_ms: int
    sealed_key_id: str


def refusal_reason(last_error: str) -> str:
    """The reason code a delivery error ends with (`... [reason]`, federation/delivery.py), or
    the empty string."""
    found = _REASON.search(last_error.strip())
    return found[1] if found else ""


def should_reseal(
    row: Candidate,
    *,
    self_id: str,
    current_key_id: str,
    current: Lifetime | None,
    sealed: Lifetime | None,
    now_ms: int,
) -> bool:
    """Whether `row` is sealed again with the current key (steps in the module docstring);
    `current` and `sealed` are the two keys' lifetimes as this node's directory entry lists them
    (None if it does not list the key)."""
    refused_retired = refusal_reason(row.last_error) == RETIRED
    waiting = row.status in (Status.QUEUED, Status.FAILED)
    return (
        row.origin == self_id  # 1
        and (waiting or (row.status == Status.DEAD and refused_retired))  # 2
        and now_ms < row.expires_at_unix_ms  # 3
        and row.sealed_key_id != current_key_id  # 4
        and current is not None
        and refusal(current, now_ms) is None
        and (refused_retired or (sealed is not None and refusal(sealed, now_ms) is not None))  # 5
    )


class Decision(enum.Enum):
    RESEAL = "reseal"  # seal it again now
    LATER = "later"  # in flight (sent, unanswered): look again once its attempt has ended
    KEEP = "keep"


def decide(
    row: Candidate,
    *,
    self_id: str,
    current_key_id: str,
    current: Lifetime | None,
    sealed: Lifetime | None,
    now_ms: int,
) -> Decision:
    """`should_reseal`, and for a message in flight whether it would be once its attempt ends
    unanswered (a peer that is down), so that the caller looks at it again shortly."""
    in_flight = row.status == Status.SENT
    if should_reseal(
        replace(row, status=Status.FAILED) if in_flight else row,
        self_id=self_id,
        current_key_id=current_key_id,
        current=current,
        sealed=sealed,
        now_ms=now_ms,
    ):
        return Decision.LATER if in_flight else Decision.RESEAL
    return Decision.KEEP


def draft_again(envelope: pb.Envelope) -> Draft:
    """The draft that seals `envelope`'s message again: the same id, parties and payload."""
    header = pb.Header.FromString(envelope.header)
    return Draft(
        recipient=header.recipient,
        document_type=header.document_type,
        payload=envelope.payload,
        conversation_id=header.conversation_id,
        sender_party=header.sender_party,
        recipient_party=header.recipient_party,
        message_id=header.message_id,
    )
