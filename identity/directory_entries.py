"""A member's entry in the directory, built from the registry: its keys (those its rotations
recorded, retired ones included, or the ones it enrolled with) and its TLS certificates, the
current one and those still in a rotation's overlap (docs/PROTOCOL.md §2.1, §2.9)."""

from __future__ import annotations

from core.algorithms import KeyAlgorithm, as_pb
from core.signing import PURPOSE_SIGNING, PURPOSE_TOKEN, key_id
from storage.membership import Member, MemberKey
from swf.v1 import directory_pb2 as pb

__all__ = ["entry", "listed"]


def listed(
    member: Member, purpose: str, stored: list[MemberKey] | None, algorithm: KeyAlgorithm
) -> list[pb.PublicKey]:
    """A member's keys of `purpose`: those its rotations recorded, else the one it enrolled
    with. Every key of a federation is of its profile's algorithm (enrolment and rotation refuse
    any other), so the registry need not store it."""
    if not stored:
        enrolled = member.signing_key if purpose == PURPOSE_SIGNING else member.token_key
        stored = [MemberKey(key_id(member.node_id, purpose, enrolled, algorithm), enrolled)]
    return [
        pb.PublicKey(
            key_id=k.key_id,
            algorithm=as_pb(algorithm),
            public_key=k.public_key,
            not_before_unix_ms=k.not_before_unix_ms,
            not_after_unix_ms=k.not_after_unix_ms,
            retired_at_unix_ms=k.retired_at_unix_ms,
        )
        for k in stored
    ]


def entry(
    member: Member,
    algorithm: KeyAlgorithm,
    stored: dict[tuple[str, str], list[MemberKey]],
    previous: dict[str, list[bytes]],
) -> pb.NodeEntry:
    """A member's directory entry."""
    return pb.NodeEntry(
        id=member.node_id,
        role=pb.ROLE_CENTRAL if member.role == "central" else pb.ROLE_PROVINCE,
        status=pb.NODE_STATUS_ACTIVE if member.status == "active" else pb.NODE_STATUS_REVOKED,
        peer_endpoint=member.peer_endpoint,
        client_endpoint=member.client_endpoint,
        tls_certificate=member.tls_certificate,
        previous_tls_certificates=previous.get(member.node_id, []),
        signing_keys=listed(
            member, PURPOSE_SIGNING, stored.get((member.node_id, PURPOSE_SIGNING)), algorithm
        ),
        token_keys=listed(
            member, PURPOSE_TOKEN, stored.get((member.node_id, PURPOSE_TOKEN)), algorithm
        ),
        document_types=list(member.document_types),
        enrolled_at_unix_ms=member.enrolled_at_unix_ms,
    )
