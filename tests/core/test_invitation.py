"""Enrolment invitations: `swn1.<id>.<secret>.<pin>`, parsed strictly, naming the token."""

from __future__ import annotations

import base64
import hashlib

import pytest

from core.errors import InvalidArgument
from core.invitation import Invitation, proof_message

PIN = hashlib.sha256(b"the central's certificate").hexdigest()


def invitation() -> Invitation:
    return Invitation(node_id="CN-GD", secret=bytes(range(32)), pin=PIN)


def test_encode_then_parse_round_trip() -> None:
    text = invitation().encode()
    assert text.startswith("swn1.CN-GD.")
    assert text.endswith("." + PIN)
    assert Invitation.parse(text) == invitation()


def test_parse_accepts_surrounding_whitespace_and_a_pin_with_colons() -> None:
    secret = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
    colons = ":".join(PIN[i : i + 2] for i in range(0, 64, 2)).upper()
    parsed = Invitation.parse(f"  swn1.CN-GD.{secret}.{colons}\n")
    assert parsed == invitation()


def test_the_central_keeps_only_the_secret_hash() -> None:
    assert invitation().secret_sha256 == hashlib.sha256(bytes(range(32))).digest()


def damaged(text: str) -> list[tuple[str, str]]:
    prefix, node, secret, pin = text.split(".")
    return [
        ("swn2." + ".".join((node, secret, pin)), "invitation.malformed"),
        (".".join((prefix, node, secret)), "invitation.malformed"),
        (text + ".extra", "invitation.malformed"),
        (".".join((prefix, node, secret[:-2], pin)), "invitation.malformed"),
        (".".join((prefix, node, secret + "AAAA", pin)), "invitation.malformed"),
        (".".join((prefix, node, "*" * len(secret), pin)), "invitation.malformed"),
        (".".join((prefix, node, secret, pin[:-1])), "invitation.malformed"),
        (".".join((prefix, node, secret, "z" * 64)), "invitation.malformed"),
        (".".join((prefix, "CN", secret, pin)), "id.role_mismatch"),
        (".".join((prefix, "CN-XX", secret, pin)), "id.unknown_subdivision"),
        ("", "invitation.malformed"),
    ]


@pytest.mark.parametrize(("text", "reason"), damaged(invitation().encode()))
def test_damaged_tokens_are_refused_naming_the_token(text: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        Invitation.parse(text)
    assert refused.value.reason == reason
    assert refused.value.field == "token"
    assert refused.value.message.startswith("token: ")


def test_proof_message_binds_node_and_invitation() -> None:
    one = proof_message("CN-GD", b"\x01" * 32)
    assert one == b"CN-GD\x00" + b"\x01" * 32
    assert one != proof_message("CN-SH", b"\x01" * 32)
    assert one != proof_message("CN-GD", b"\x02" * 32)
