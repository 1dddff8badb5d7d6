"""What looks like a secret in text meant for a log, masked: the last line of defence behind
the rule that secrets are never logged (node/logs.py applies it to every record).

Masked: bearer tokens (JWTs), enrolment invitations (`swn1.<id>.<secret>.<pin>`), PEM private
keys, and the value after a `password`, `secret` or `token` key (`password=...`,
`"token": "..."`). Pure text in, text out.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "redact_secrets"]

MASK = "***"

_PATTERNS = (
    # A JWT: three base64url parts, the first a JSON header ("eyJ" is '{"' encoded).
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), MASK),
    # An invitation keeps its node id, which is not secret and says which one it was.
    (re.compile(r"\b(swn1\.[A-Za-z0-9-]+\.)[A-Za-z0-9_-]+\.[0-9a-fA-F:]+"), rf"\g<1>{MASK}"),
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            re.S,
        ),
        f"[private key {MASK}]",
    ),
    (
        re.compile(
            r"""(?i)((?:password|passwd|secret|token)"""
            r"""["']?\s*[:=]\s*["']?)[^\s"'&,;}]+"""
        ),
        rf"\g<1>{MASK}",
    ),
)


def redact_secrets(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
