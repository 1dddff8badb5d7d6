"""An operator at a node's console over real HTTP: added with `swnode operator add`, its TOTP
codes computed as an authenticator app would from the printed otpauth:// URI."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp

from tests.harness import Network, swnode
from tests.web.portal_client import Visitor, portal_url

__all__ = [
    "NEW_PASSWORD",
    "Enrolled",
    "OperatorVisitor",
    "add_operator",
    "audit_export",
    "reset_operator",
    "text_of",
]

NEW_PASSWORD = "operators keep long passphrases"
_next_name = iter(range(1, 10_000))


@dataclass(frozen=True)
class Enrolled:
    user: str
    password: str
    totp: pyotp.TOTP


def add_operator(node_dir: Path, user: str | None = None) -> Enrolled:
    name = user or f"op{next(_next_name)}-{int(time.time() * 1000) % 100000}"
    return _enrolled("add", node_dir, name)


def reset_operator(node_dir: Path, user: str) -> Enrolled:
    """`swnode operator reset`: a new one-time password and TOTP secret."""
    return _enrolled("reset", node_dir, user)


def _enrolled(action: str, node_dir: Path, name: str) -> Enrolled:
    done = swnode("operator", action, "--dir", str(node_dir), "--user", name, "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    otp = pyotp.parse_uri(printed["totp_uri"])
    assert isinstance(otp, pyotp.TOTP)
    return Enrolled(printed["user"], printed["password"], otp)


class OperatorVisitor(Visitor):
    def __init__(self, network: Network, node_id: str, *, language: str = "en") -> None:
        super().__init__(portal_url(network, node_id), language=language)

    def sign_in(
        self, who: Enrolled, *, password: str | None = None, code: str | None = None
    ) -> httpx.Response:
        return self.post(
            "/console/login",
            {
                "user": who.user,
                "password": password if password is not None else who.password,
                "code": code if code is not None else who.totp.now(),
            },
        )

    def enrol(self, who: Enrolled) -> None:
        """The first login, and the new password it asks for."""
        first = self.sign_in(who)
        assert first.status_code == 303, first.text
        assert first.headers["location"] == "/console/password"
        changed = self.post(
            "/console/password",
            {"current_password": who.password, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 303 and changed.headers["location"] == "/console", (
            changed.text
        )


def audit_export(visitor: Visitor) -> list[dict[str, str]]:
    exported = visitor.get("/console/audit.jsonl")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in exported.text.splitlines()]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
