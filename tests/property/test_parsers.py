"""Every parser of bytes or text from outside, fed arbitrary input and mutated valid input: only
the project's typed errors (core.errors.SwnodeError) come out, never a ValueError, KeyError,
UnicodeDecodeError, RecursionError or protobuf DecodeError.

A bounded run is part of the suite (profile "ci"); scripts/fuzz runs the same tests for long.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st

from core import receipts
from core.anchor import decode_anchor, encode_anchor
from core.arguments import day_range_ms, page_number
from core.directory import verify_directory
from core.documents import document_types, parse_json
from core.envelope import Draft, Limits, new_message_id, parse_envelope, seal, verify
from core.errors import SwnodeError
from core.invitation import Invitation
from core.logistics import check_key, parse_dataset_id, validate_events
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from core.validation import validate
from identity import tokens
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from swf.v1 import logistics_pb2 as lpb
from tests.factories import HOUR_MS, NOW_MS, Federation
from tests.identity_client import claims, forge, header, token_key_id

T = TypeVar("T")

CN = Federation("CN", ["CN-GD", "CN-SH"])
SG = Federation("SG")
TRUST = TrustView.build("CN-SH", CN.directory(trusts=[SG]), {"SG": SG.directory(trusts=[CN])})
LIMITS = Limits(max_message_bytes=64 * 1024, clock_skew_ms=300_000)
DOCUMENT_TYPES = [t.name for t in document_types()]


def typed_or_value(call: Callable[[], T]) -> T | SwnodeError:
    """What `call` returns, or the typed error it raises; any other exception fails the test."""
    try:
        return call()
    except SwnodeError as exc:
        return exc


def _sealed() -> pb.Envelope:
    key = CN.members["CN-GD"].signing_key
    (s,) = seal(
        [Draft(recipient="CN-SH", document_type="swnode.test.note", payload=b"hello")],
        sender="CN-GD",
        key=key,
        key_id=key_id("CN-GD", PURPOSE_SIGNING, raw_public(key)),
        now_ms=NOW_MS,
        ttl_ms=HOUR_MS,
        new_id=lambda: new_message_id(NOW_MS, bytes(10)),
    )
    return s.envelope


ENVELOPE = _sealed().SerializeToString()


def mutated(valid: bytes) -> st.SearchStrategy[bytes]:
    """`valid` with a byte flipped, cut short, or with bytes put in."""
    n = len(valid)
    flip = st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
        lambda p: valid[: p[0]] + bytes([valid[p[0]] ^ p[1]]) + valid[p[0] + 1 :]
    )
    cut = st.integers(0, n - 1).map(lambda i: valid[:i])
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=16)).map(
        lambda p: valid[: p[0]] + p[1] + valid[p[0] :]
    )
    return st.one_of(flip, cut, insert)


def _parse_and_verify(raw: bytes) -> object:
    envelope = parse_envelope(raw)
    return verify(
        envelope, trust=TRUST, self_id="CN-SH", previous_hop="CN-GD", now_ms=NOW_MS, limits=LIMITS
    )


@given(st.one_of(st.binary(max_size=512), mutated(ENVELOPE)))
def test_envelope_bytes(raw: bytes) -> None:
    typed_or_value(lambda: _parse_and_verify(raw))


def _receipt() -> pb.Receipt:
    key = CN.members["CN-SH"].signing_key
    kid = key_id("CN-SH", PURPOSE_SIGNING, raw_public(key))
    body = pb.ReceiptBody(message_id="m", header_sha256=bytes(32), issuer="CN-SH", key_id=kid)
    (receipt,) = receipts.seal([body], key, kid)
    return receipt


RECEIPT = _receipt().SerializeToString()


@given(st.one_of(st.binary(max_size=512), mutated(_receipt().body)), mutated(RECEIPT))
def test_receipt_bytes(body: bytes, frame: bytes) -> None:
    receipt = pb.Receipt.FromString(RECEIPT)
    receipt.body = body
    typed_or_value(lambda: receipts.verify(receipt, TRUST.signing_key))
    try:
        damaged = pb.Receipt.FromString(frame)
    except DecodeError:
        return  # the frame is protobuf's to refuse; its content is what receipts.verify reads
    typed_or_value(lambda: receipts.verify(damaged, TRUST.signing_key))


DIRECTORY = CN.sign(CN.directory(trusts=[SG]))


@given(st.one_of(st.binary(max_size=512), mutated(DIRECTORY.directory)))
def test_directory_bytes(raw: bytes) -> None:
    signed = dpb.SignedDirectory(directory=raw, signature=DIRECTORY.signature)
    typed_or_value(
        lambda: verify_directory(signed, directory_key=CN.directory_public, federation="CN")
    )


ANCHOR = encode_anchor(SG.anchor())


@given(
    st.one_of(
        st.text(max_size=300),
        mutated(ANCHOR.encode()).map(lambda b: b.decode("utf-8", "replace")),
    )
)
def test_anchor_text(text: str) -> None:
    typed_or_value(lambda: decode_anchor(text))


INVITATION = "swn1.CN-ZJ." + "A" * 43 + "." + "ab" * 32


@given(
    st.one_of(
        st.text(max_size=200), mutated(INVITATION.encode()).map(lambda b: b.decode("latin-1"))
    )
)
def test_invitation_text(text: str) -> None:
    typed_or_value(lambda: Invitation.parse(text))


GD_TOKEN_KEY = CN.members["CN-GD"].token_key
GD_KID = token_key_id("CN-GD", GD_TOKEN_KEY)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
CLAIM_NAMES = [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "nbf",
    "jti",
    "sid",
    "party",
    "party_kind",
    "roles",
]


@given(
    st.one_of(
        st.text(max_size=300),
        st.dictionaries(st.sampled_from(CLAIM_NAMES), JSON, max_size=6).map(
            lambda changed: forge(
                header(GD_KID),
                {
                    **claims(issuer="CN-GD", party="91440300MA5G1234XY", now_s=NOW_MS // 1000),
                    **changed,
                },
                ed25519=GD_TOKEN_KEY,
            )
        ),
        st.dictionaries(
            st.sampled_from(["alg", "kid", "typ", "crit", "b64"]), JSON, max_size=3
        ).map(
            lambda changed: forge(
                {**header(GD_KID), **changed},
                claims(issuer="CN-GD", party="91440300MA5G1234XY", now_s=NOW_MS // 1000),
                ed25519=GD_TOKEN_KEY,
            )
        ),
    )
)
def test_token_text(token: str) -> None:
    typed_or_value(lambda: tokens.verify(token, trust=TRUST, self_id="CN-SH", now_ms=NOW_MS))


@given(
    st.sampled_from(DOCUMENT_TYPES),
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        JSON.map(json.dumps),
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 5000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    ),
)
def test_document_json(type_name: str, text: str | bytes) -> None:
    def run() -> object:
        return list(validate(parse_json(type_name, text)))

    typed_or_value(run)


EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "event_id": st.text(max_size=20),
    "kind": st.integers(-5, 50),
    "occurred_at_unix_ms": st.integers(-(2**63), 2**63 - 1),
    "place": st.text(max_size=10),
    "container": st.text(max_size=14),
    "bill_of_lading": st.text(max_size=20),
    "declaration_id": st.text(max_size=30),
    "mode": st.integers(-5, 20),
    "note": st.text(max_size=20),
}


@given(st.lists(st.fixed_dictionaries({}, optional=EVENT_FIELDS), max_size=4))
def test_logistics_events(fields: list[dict[str, Any]]) -> None:
    def run() -> object:
        events = []
        for f in fields:
            event = lpb.LogisticsEvent()
            for name, value in f.items():
                if name in event.DESCRIPTOR.fields_by_name:
                    setattr(event, name, value)
            events.append(event)
        return validate_events(events, now_ms=NOW_MS, skew_ms=300_000)

    typed_or_value(run)


@given(st.sampled_from(["container", "bill_of_lading", "declaration_id"]), st.text(max_size=40))
def test_timeline_key_and_dataset_id(which: str, text: str) -> None:
    typed_or_value(lambda: check_key(lpb.TimelineKey(**{which: text})))
    typed_or_value(lambda: parse_dataset_id(text))


@given(st.text(max_size=40), st.text(max_size=40))
def test_arguments(a: str, b: str) -> None:
    typed_or_value(lambda: day_range_ms(a, b))
    typed_or_value(lambda: page_number(a))


def test_the_bounded_run_is_bounded() -> None:
    from hypothesis import settings

    if settings().max_examples > 1000:
        pytest.skip("a fuzz run")
    assert settings().deadline is None
