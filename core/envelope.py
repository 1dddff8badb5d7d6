"""Envelopes: sealing documents for another node, and verifying what arrives (docs/PROTOCOL.md §3).

An envelope carries the serialized header bytes, the payload bytes, and a batch signature over
the header bytes (leaf domain "swnode/envelope/v1"). The header binds the payload by its digest
(SHA-256, or SM3 for a sender of the sm2 profile: the sender federation's). Verification checks the
signature over the exact header bytes carried before parsing them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from core import batch_signatures
from core.algorithms import Digest, SigningKey, declared, digest
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    quote,
)
from core.hops import path
from core.ids import federation_of
from core.key_lifetimes import check_usable
from core.trust import TrustView
from swf.v1 import envelope_pb2 as pb

__all__ = [
    "DELIVERY_RECEIPT_TYPE",
    "ENVELOPE_DOMAIN",
    "Accepted",
    "Draft",
    "Limits",
    "Sealed",
    "check_document_type",
    "is_message_id",
    "new_message_id",
    "parse_envelope",
    "peek_message_id",
    "seal",
    "verify",
]

ENVELOPE_DOMAIN = b"swnode/envelope/v1"
DELIVERY_RECEIPT_TYPE = "swnode.delivery-receipt"
_DOCUMENT_TYPE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$")


def new_message_id(now_ms: int, random_bytes: bytes) -> str:
    """A UUIDv7 (RFC 9562 §5.7; docs/PROTOCOL.md §3.3): 48 bits of Unix milliseconds, then
    random bits."""
    if len(random_bytes) < 10:
        raise ValueError("a UUIDv7 needs 10 random bytes")
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(random_bytes[:10], "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def is_message_id(text: str) -> bool:
    """A canonical UUIDv7 (§3.3), as §3.6 step 5c requires."""
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return False
    return parsed.version == 7 and str(parsed) == text


def check_document_type(document_type: str, *, field: str = "type") -> str:
    if len(document_type) > 128 or not _DOCUMENT_TYPE.match(document_type):
        raise InvalidArgument(
            "envelope.bad_document_type",
            f"{field}: {quote(document_type)} is not a document type; use lowercase dotted names "
            "such as certificate.origin",
            field=field,
        )
    return document_type


@dataclass(frozen=True)
class Draft:
    """A document to seal: what a submitter gives."""

    recipient: str
    document_type: str
    payload: bytes
    conversation_id: str = ""
    sender_party: str = ""
    recipient_party: str = ""
    message_id: str = ""  # set when sealing again (redrive); new otherwise


@dataclass(frozen=True)
class Sealed:
    message_id: str
    header: pb.Header
    envelope: pb.Envelope
    header_sha256: bytes


def seal(
    drafts: Sequence[Draft],
    *,
    sender: str,
    key: SigningKey,
    key_id: str,
    now_ms: int,
    ttl_ms: int,
    new_id: Callable[[], str],
    hash_with: Digest = Digest.SHA256,
) -> list[Sealed]:
    """Envelopes for `drafts`, all signed with one batch signature (§3.4, §3.5); payload and
    header digests, and the tree, under `hash_with` (the sender federation's digest)."""
    headers = []
    for d in drafts:
        message_id = d.message_id or new_id()
        headers.append(
            pb.Header(
                message_id=message_id,
                conversation_id=d.conversation_id or message_id,
                sender=sender,
                recipient=d.recipient,
                document_type=d.document_type,
                created_at_unix_ms=now_ms,
                expires_at_unix_ms=now_ms + ttl_ms,
                key_id=key_id,
                payload_sha256=digest(hash_with, d.payload),
                payload_size=len(d.payload),
                sender_party=d.sender_party,
                recipient_party=d.recipient_party,
            )
        )
    header_bytes = [h.SerializeToString(deterministic=True) for h in headers]
    signatures = batch_signatures.seal(key, key_id, ENVELOPE_DOMAIN, header_bytes, hash_with)
    return [
        Sealed(
            message_id=h.message_id,
            header=h,
            envelope=pb.Envelope(header=hb, payload=d.payload, signature=s),
            header_sha256=digest(hash_with, hb),
        )
        for d, h, hb, s in zip(drafts, headers, header_bytes, signatures, strict=True)
    ]


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    clock_skew_ms: int


@dataclass(frozen=True)
class Accepted:
    header: pb.Header
    envelope: pb.Envelope
    header_sha256: bytes

    @property
    def message_id(self) -> str:
        return self.header.message_id


def parse_envelope(raw: bytes) -> pb.Envelope:
    """The outer envelope only: header bytes, payload bytes and signature, none trusted yet
    (§3.6 step 0)."""
    try:
        return pb.Envelope.FromString(raw)
    except DecodeError as exc:
        raise InvalidArgument("envelope.malformed", "these bytes are not an envelope") from exc


def peek_message_id(raw: bytes) -> str:
    """The message id of an envelope that was refused, to name it in the refusal; the id is not
    trusted, it only lets the sender match the answer."""
    try:
        return pb.Header.FromString(pb.Envelope.FromString(raw).header).message_id
    except DecodeError:
        return ""


def verify(
    envelope: pb.Envelope,
    *,
    trust: TrustView,
    self_id: str,
    previous_hop: str,
    now_ms: int,
    limits: Limits,
    cache: batch_signatures.RootCache | None = None,
) -> Accepted:
    """Accept an envelope that arrived from `previous_hop`, or raise the refusal (§6): the
    checks of §3.6, in its order; the first that fails decides. Step numbers are §3.6's."""
    # 1. Size: header and payload together within the limit.
    size = len(envelope.header) + len(envelope.payload)
    if size > limits.max_message_bytes:
        raise ResourceExhausted(
            "envelope.too_large",
            f"the message is {size} bytes; this node accepts at most {limits.max_message_bytes}",
        )
    # 2a. The key named by the signature is in a directory this node trusts, and current.
    sig = envelope.signature
    key = trust.signing_key(sig.key_id)
    if key is None:
        raise Unauthenticated(
            "envelope.unknown_key",
            f"signing key {quote(sig.key_id)} is in no directory this node trusts",
        )
    # 2b. Its federation's directory is held and current.
    directory = trust.directory_of(federation_of(key.node_id))
    if directory is None or not (
        directory.issued_at_unix_ms - limits.clock_skew_ms <= now_ms < directory.expires_at_unix_ms
    ):
        raise Unavailable(
            "directory.expired",
            f"no current directory for {federation_of(key.node_id)}; cannot check its keys",
        )
    # 2c. The key is valid now, and not retired (§2.9): after a retirement, nothing signed with
    #     it is accepted online, whatever time its header claims.
    check_usable(key.life, now_ms, what=f"signing key {key.key_id}", skew_ms=limits.clock_skew_ms)
    # 3. Its owner is not revoked.
    if not trust.is_active(key.node_id):
        raise PermissionDenied("envelope.revoked_sender", f"node {key.node_id} has been revoked")
    # 4. The signature covers these exact header bytes, under the algorithm the key declares
    #    (one this node does not know is refused, §0.9), in its federation's digest.
    declared(key.algorithm, what=f"signing key {key.key_id}")
    if not batch_signatures.verify_by(key, ENVELOPE_DOMAIN, envelope.header, sig, cache):
        raise Unauthenticated(
            "envelope.bad_signature",
            f"the header's signature does not verify with {key.key_id}",
        )
    # 5a. Only now parse the header; 5b. it names the key and sender that signed it.
    try:
        header = pb.Header.FromString(envelope.header)
    except DecodeError as exc:
        raise InvalidArgument("envelope.malformed", "the signed header does not parse") from exc
    if header.key_id != sig.key_id or header.sender != key.node_id:
        raise Unauthenticated(
            "envelope.sender_mismatch",
            f"the header says sender {quote(header.sender)} key {quote(header.key_id)}, "
            f"but it was signed by {key.node_id}'s key {sig.key_id}",
        )
    # 5c. Its message id is a canonical UUIDv7 (§3.3).
    if not is_message_id(header.message_id):
        raise InvalidArgument("envelope.bad_message_id", "message_id: must be a UUIDv7")
    # 6a–c. The recipient is known, active, and takes this type; 6d–e. this node is on the
    #    route to it (§5.5), and the envelope came from the hop just before this one.
    recipient = header.recipient
    entry = trust.node(recipient)
    if entry is None:
        raise PermissionDenied(
            "envelope.misaddressed",
            f"recipient {quote(recipient)} is in no directory this node trusts",
        )
    if not trust.is_active(recipient):
        raise PermissionDenied(
            "envelope.revoked_recipient", f"recipient {recipient} has been revoked"
        )
    if entry.document_types and header.document_type not in entry.document_types:
        raise InvalidArgument(
            "envelope.unsupported_type",
            f"{recipient} does not accept documents of type {quote(header.document_type)}",
        )
    route = [header.sender, *path(header.sender, recipient)]
    if self_id not in route[1:]:
        raise PermissionDenied(
            "envelope.misaddressed",
            f"message for {recipient} from {header.sender} does not pass through {self_id}",
        )
    expected_hop = route[route.index(self_id) - 1]
    if previous_hop != expected_hop:
        raise PermissionDenied(
            "envelope.wrong_hop",
            f"a message from {header.sender} to {recipient} reaches {self_id} from "
            f"{expected_hop}, not from {previous_hop}",
        )
    # 7a–c. Time: not created in the future (beyond the clock skew allowed), and not expired. A
    #    message may be old: retries and relays carry the same sealed bytes until it expires.
    if header.created_at_unix_ms - now_ms > limits.clock_skew_ms:
        raise InvalidArgument(
            "envelope.clock_skew",
            f"created_at is {(header.created_at_unix_ms - now_ms) / 1000:.0f}s ahead of this "
            f"node's clock; at most {limits.clock_skew_ms / 1000:.0f}s is accepted",
        )
    if header.expires_at_unix_ms <= header.created_at_unix_ms:
        raise InvalidArgument("envelope.bad_expiry", "expires_at must be after created_at")
    if now_ms >= header.expires_at_unix_ms:
        raise FailedPrecondition("envelope.expired", "the message expired before it arrived")
    # 8. The payload is the one the header binds (the sender federation's digest).
    if (
        len(envelope.payload) != header.payload_size
        or digest(key.digest, envelope.payload) != header.payload_sha256
    ):
        raise Unauthenticated(
            "envelope.payload_mismatch", "the payload is not the one the sender signed"
        )
    return Accepted(
        header=header, envelope=envelope, header_sha256=digest(key.digest, envelope.header)
    )
