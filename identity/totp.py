"""The operator console's second factor: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, as
every authenticator app reads an otpauth:// URI), from pyotp. Pure: the time is handed in.

A code is accepted within one step either side of now (a phone's clock a little off, a code
typed as it turns), and only at a step later than the last one accepted for that operator, so
that a code seen over a shoulder cannot be used again."""

from __future__ import annotations

import hmac

import pyotp

__all__ = ["STEP_S", "WINDOW", "accepted_step", "new_secret", "provisioning_uri"]

STEP_S = 30
WINDOW = 1  # steps either side of now


def new_secret() -> str:
    """160 random bits, base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, node_id: str, username: str) -> str:
    """The otpauth:// URI an authenticator app enrols from (as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{username}@{node_id}", issuer_name=f"swnode {node_id}"
    )


def accepted_step(secret: str, code: str, *, now_s: float, last_step: int) -> int | None:
    """The time step `code` is good for, or None: a 6-digit code of a step within WINDOW of
    now and later than `last_step`."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(now_s // STEP_S)
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None
