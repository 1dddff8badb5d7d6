"""Envelope verification, step by step: every refusal with its reason, and what passes."""

from __future__ import annotations

import hashlib

import pytest

from core import batch_signatures as batch
from core.envelope import (
    Draft,
    Limits,
    check_document_type,
    is_message_id,
    new_message_id,
    parse_envelope,
    peek_message_id,
    seal,
    verify,
)
from core.errors import SwnodeError
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from swf.v1 import envelope_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation

LIMITS = Limits(max_message_bytes=64 * 1024, clock_skew_ms=300_000)


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH", "CN-ZJ"])


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def trust_at(
    node: str, cn: Federation, sg: Federation, *, revoked: tuple[str, ...] = ()
) -> TrustView:
    own = (
        cn.directory(revoked=revoked, trusts=[sg])
        if node.startswith("CN")
        else sg.directory(trusts=[cn])
    )
    foreign = (
        {"SG": sg.directory(trusts=[cn])}
        if node.startswith("CN")
        else {"CN": cn.directory(revoked=revoked, trusts=[sg])}
    )
    return TrustView.build(node, own, foreign)


def sealed(
    fed: Federation,
    sender: str,
    recipient: str,
    payload: bytes = b"doc",
    *,
    now_ms: int = NOW_MS,
    ttl_ms: int = HOUR_MS,
) -> pb.Envelope:
    key = fed.members[sender].signing_key
    counter = iter(range(10**6))
    (s,) = seal(
        [Draft(recipient=recipient, document_type="swnode.test.note", payload=payload)],
        sender=sender,
        key=key,
        key_id=key_id(sender, PURPOSE_SIGNING, raw_public(key)),
        now_ms=now_ms,
        ttl_ms=ttl_ms,
        new_id=lambda: new_message_id(now_ms, next(counter).to_bytes(10, "big")),
    )
    return s.envelope


def refusal(
    env: pb.Envelope,
    trust: TrustView,
    *,
    at: str,
    previous_hop: str,
    now_ms: int = NOW_MS,
    limits: Limits = LIMITS,
) -> str:
    with pytest.raises(SwnodeError) as caught:
        verify(
            env, trust=trust, self_id=at, previous_hop=previous_hop, now_ms=now_ms, limits=limits
        )
    return caught.value.reason


def flip(data: bytes, index: int) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


def test_a_direct_message_is_accepted(cn: Federation, sg: Federation) -> None:
    env = sealed(cn, "CN-GD", "CN-SH", b"hello")
    accepted = verify(
        env,
        trust=trust_at("CN-SH", cn, sg),
        self_id="CN-SH",
        previous_hop="CN-GD",
        now_ms=NOW_MS,
        limits=LIMITS,
    )
    assert accepted.header.sender == "CN-GD" and accepted.header.recipient == "CN-SH"
    assert accepted.header_sha256 == hashlib.sha256(env.header).digest()
    assert accepted.envelope.payload == b"hello"


def test_relays_accept_along_the_route_only(cn: Federation, sg: Federation) -> None:
    env = sealed(cn, "CN-GD", "SG")
    # CN relays from CN-GD; SG receives from CN.
    verify(
        env,
        trust=trust_at("CN", cn, sg),
        self_id="CN",
        previous_hop="CN-GD",
        now_ms=NOW_MS,
        limits=LIMITS,
    )
    verify(
        env,
        trust=trust_at("SG", cn, sg),
        self_id="SG",
        previous_hop="CN",
        now_ms=NOW_MS,
        limits=LIMITS,
    )
    # CN-SH is not on the route; SG must not take it straight from the province.
    assert (
        refusal(env, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.misaddressed"
    )
    assert (
        refusal(env, trust_at("SG", cn, sg), at="SG", previous_hop="CN-GD") == "envelope.wrong_hop"
    )


@pytest.mark.parametrize("part", ["header", "payload", "signature"])
def test_a_flipped_byte_anywhere_is_refused(cn: Federation, sg: Federation, part: str) -> None:
    env = sealed(cn, "CN-GD", "CN-SH", b"payload bytes")
    tampered = pb.Envelope()
    tampered.CopyFrom(env)
    if part == "header":
        tampered.header = flip(env.header, len(env.header) // 2)
        expected = "envelope.bad_signature"
    elif part == "payload":
        tampered.payload = flip(env.payload, 3)
        expected = "envelope.payload_mismatch"
    else:
        tampered.signature.signature = flip(env.signature.signature, 10)
        expected = "envelope.bad_signature"
    assert (
        refusal(tampered, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD") == expected
    )


def test_a_key_not_in_the_directory_is_refused(cn: Federation, sg: Federation) -> None:
    stranger = Federation("CN", ["CN-GD"])  # same names, keys nobody published
    env = sealed(stranger, "CN-GD", "CN-SH")
    assert (
        refusal(env, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.unknown_key"
    )


def test_a_revoked_sender_is_refused(cn: Federation, sg: Federation) -> None:
    env = sealed(cn, "CN-ZJ", "CN-SH")
    trust = trust_at("CN-SH", cn, sg, revoked=("CN-ZJ",))
    assert refusal(env, trust, at="CN-SH", previous_hop="CN-ZJ") == "envelope.revoked_sender"


def test_a_header_that_claims_another_sender_is_refused(cn: Federation, sg: Federation) -> None:
    # CN-GD signs a header that says it comes from CN-ZJ.
    key = cn.members["CN-GD"].signing_key
    kid = key_id("CN-GD", PURPOSE_SIGNING, raw_public(key))
    header = pb.Header(
        message_id=new_message_id(NOW_MS, bytes(10)),
        sender="CN-ZJ",
        recipient="CN-SH",
        document_type="swnode.test.note",
        created_at_unix_ms=NOW_MS,
        expires_at_unix_ms=NOW_MS + HOUR_MS,
        key_id=kid,
        payload_sha256=hashlib.sha256(b"x").digest(),
        payload_size=1,
    ).SerializeToString()
    (sig,) = batch.seal(key, kid, b"swnode/envelope/v1", [header])
    env = pb.Envelope(header=header, payload=b"x", signature=sig)
    assert (
        refusal(env, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.sender_mismatch"
    )


def test_a_recipient_that_is_not_this_node_nor_routed_through_it(
    cn: Federation, sg: Federation
) -> None:
    env = sealed(cn, "CN-GD", "CN-ZJ")
    assert (
        refusal(env, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.misaddressed"
    )
    unknown = sealed(cn, "CN-GD", "CN-BJ")
    assert (
        refusal(unknown, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.misaddressed"
    )


def test_time_outside_the_skew_window_and_expiry(cn: Federation, sg: Federation) -> None:
    trust = trust_at("CN-SH", cn, sg)
    early = sealed(cn, "CN-GD", "CN-SH", now_ms=NOW_MS + 301_000)
    assert refusal(early, trust, at="CN-SH", previous_hop="CN-GD") == "envelope.clock_skew"
    # Sealed long ago but not expired: a retry after an outage, or a relay that held it.
    old = sealed(cn, "CN-GD", "CN-SH", now_ms=NOW_MS - 1_800_000, ttl_ms=HOUR_MS)
    verify(old, trust=trust, self_id="CN-SH", previous_hop="CN-GD", now_ms=NOW_MS, limits=LIMITS)
    expired = sealed(cn, "CN-GD", "CN-SH", now_ms=NOW_MS - 60_000, ttl_ms=30_000)
    assert refusal(expired, trust, at="CN-SH", previous_hop="CN-GD") == "envelope.expired"
    backwards = sealed(cn, "CN-GD", "CN-SH", ttl_ms=-1)
    assert refusal(backwards, trust, at="CN-SH", previous_hop="CN-GD") == "envelope.bad_expiry"


def test_a_revoked_recipient_is_not_relayed_to(cn: Federation, sg: Federation) -> None:
    env = sealed(cn, "CN-GD", "CN-SH")
    trust = trust_at("CN-SH", cn, sg, revoked=("CN-SH",))
    assert refusal(env, trust, at="CN-SH", previous_hop="CN-GD") == "envelope.revoked_recipient"


def test_an_oversized_message_is_refused_before_anything_else(
    cn: Federation, sg: Federation
) -> None:
    env = sealed(cn, "CN-GD", "CN-SH", b"x" * (64 * 1024))
    assert (
        refusal(env, trust_at("CN-SH", cn, sg), at="CN-SH", previous_hop="CN-GD")
        == "envelope.too_large"
    )


def test_an_expired_directory_stops_verification(cn: Federation, sg: Federation) -> None:
    env = sealed(cn, "CN-GD", "CN-SH", now_ms=NOW_MS + HOUR_MS)
    assert (
        refusal(
            env,
            trust_at("CN-SH", cn, sg),
            at="CN-SH",
            previous_hop="CN-GD",
            now_ms=NOW_MS + HOUR_MS,
        )
        == "directory.expired"
    )


def test_bytes_that_are_not_an_envelope() -> None:
    with pytest.raises(SwnodeError) as caught:
        parse_envelope(b"\xff\xff\xff not protobuf")
    assert caught.value.reason == "envelope.malformed"
    assert peek_message_id(b"\xff\xff") == ""


def test_message_ids_are_uuid7_and_document_types_are_checked() -> None:
    mid = new_message_id(NOW_MS, bytes(range(10)))
    assert is_message_id(mid) and mid[14] == "7"
    assert not is_message_id("6ba7b810-9dad-11d1-80b4-00c04fd430c8")  # a UUIDv1
    assert new_message_id(NOW_MS + 1, bytes(10)) > new_message_id(NOW_MS, b"\xff" * 10)
    assert check_document_type("certificate.origin") == "certificate.origin"
    for bad in ("Certificate", "nodots", "a..b", "x" * 200):
        with pytest.raises(SwnodeError):
            check_document_type(bad)
