"""Enrolment invitations: the one-time token a central operator hands to a province operator.

Text form: `swn1.<node id>.<secret>.<pin>`, where `secret` is 32 random bytes in unpadded
base64url and `pin` is the SHA-256 (hex) of the central node's TLS certificate. The central keeps
only SHA-256(secret), the node id it was made for, its expiry and whether it was used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from core.errors import InvalidArgument
from core.ids import Role, validate_node_id
from core.signing import normalize_fingerprint

__all__ = ["PREFIX", "Invitation", "proof_message"]

PREFIX = "swn1"


@dataclass(frozen=True)
class Invitation:
    node_id: str
    secret: bytes
    pin: str

    def encode(self) -> str:
        secret = base64.urlsafe_b64encode(self.secret).rstrip(b"=").decode()
        return f"{PREFIX}.{self.node_id}.{secret}.{self.pin}"

    @property
    def secret_sha256(self) -> bytes:
        return hashlib.sha256(self.secret).digest()

    @classmethod
    def parse(cls, text: str) -> Invitation:
        parts = text.strip().split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise InvalidArgument(
                "invitation.malformed",
                "token: not an enrolment invitation (expected swn1.<id>.<secret>.<pin>, "
                "as printed by `swnode invite`)",
                field="token",
            )
        _, node_id, secret_text, pin = parts
        validate_node_id(node_id, Role.PROVINCE, field="token")
        try:
            secret = base64.urlsafe_b64decode(secret_text + "=" * (-len(secret_text) % 4))
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != 32:
            raise InvalidArgument(
                "invitation.malformed", "token: the secret part is damaged", field="token"
            )
        try:
            pin = normalize_fingerprint(pin)
        except InvalidArgument as exc:
            raise InvalidArgument(
                "invitation.malformed",
                "token: the pin part is damaged (expected the 64 hex digits of a SHA-256)",
                field="token",
            ) from exc
        return cls(node_id=node_id, secret=secret, pin=pin)


def proof_message(node_id: str, secret_sha256: bytes) -> bytes:
    """What an enrolling node signs (under ENROL_DOMAIN) with each key to prove it holds it."""
    return node_id.encode() + b"\x00" + secret_sha256
