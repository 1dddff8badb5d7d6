"""A visitor of a node's portal over real HTTP (httpx), as a browser without JavaScript is: it
keeps its cookies, reads the CSRF token from each form and posts it back."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.harness import Network
from tests.identity_client import PASSWORD

__all__ = ["Visitor", "csrf_of", "logged_in", "portal_url"]

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def portal_url(network: Network, node_id: str) -> str:
    url = network.config(node_id).web_url
    assert url is not None, f"{node_id} serves no portal"
    return url.rstrip("/")


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found[1]


class Visitor:
    def __init__(self, base: str, *, language: str = "en") -> None:
        self.base = base
        self.http = httpx.Client(
            base_url=base,
            timeout=30,
            follow_redirects=False,
            headers={"accept-language": language},
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(
        self, path: str, form: dict[str, Any], *, token_from: str | None = None
    ) -> httpx.Response:
        """POST `form` with the CSRF token of the page at `token_from` (default: `path`)."""
        page = self.get(token_from or path)
        data = {"csrf_token": csrf_of(page.text), **form}
        return self.http.post(path, data=data, headers={"origin": self.base})

    def register(
        self,
        uscc: str,
        *,
        user: str = "alice",
        password: str,
        roles: tuple[str, ...] = ("declarant",),
    ) -> httpx.Response:
        return self.post(
            "/register",
            {
                "uscc": uscc,
                "name": "Example Trading Co., Ltd.",
                "roles": list(roles),
                "admin_user": user,
                "admin_password": password,
            },
        )

    def login(self, party: str, *, user: str = "alice", password: str) -> httpx.Response:
        return self.post("/login", {"party": party, "user": user, "password": password})


def logged_in(
    visitor: Visitor,
    party: str,
    *,
    user: str = "alice",
    password: str = PASSWORD,
    register: bool = False,
) -> Visitor:
    """`visitor`, logged in as `party`'s `user` (registered at its portal first if asked): the
    login form answers with a redirect, as every signed-in test starts."""
    if register:
        registered = visitor.register(party, user=user, password=password)
        assert registered.status_code == 200, registered.text
    answer = visitor.login(party, user=user, password=password)
    assert answer.status_code == 303, answer.text
    return visitor
