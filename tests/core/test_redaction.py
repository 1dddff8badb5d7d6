"""What looks like a secret is masked before it reaches a log."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from core.redaction import redact_secrets

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
INVITATION = (
    "swn1.CN-GD.q1w2e3r4t5y6u7i8o9p0AsDfGhJkLzXcVbNm_-12345.9f86d081884c7d659a2feaa0c55ad015"
)
# Made afresh for each run: no private key is kept in the repository, not even a test's.
PEM = (
    Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode()
    .strip()
)
PEM_BODY = PEM.splitlines()[1]


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (f"authorization: Bearer {JWT}", JWT, "Bearer ***"),
        (f"enrol with {INVITATION}", "q1w2e3r4t5y6", "swn1.CN-GD.***"),
        (f"key:\n{PEM}\nend", PEM_BODY, "[private key ***]"),
        ("url postgresql://u@h/db?password=hunter2&x=1", "hunter2", "password=***&x=1"),
        ('{"admin_password": "s3cr3t!", "user": "alice"}', "s3cr3t!", '"user": "alice"'),
        ("refresh_token=abc.def", "abc.def", "refresh_token=***"),
    ],
)
def test_secrets_are_masked_and_the_rest_is_kept(text: str, secret: str, kept: str) -> None:
    masked = redact_secrets(text)
    assert secret not in masked
    assert kept in masked


def test_ordinary_lines_are_left_alone() -> None:
    line = "CN-SH: delivery interrupted (peer.unreachable); retrying in 1.6s"
    assert redact_secrets(line) == line
