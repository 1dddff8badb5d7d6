"""Driving the identity service of a test network from a test, as an enterprise's software would:
the `swf.v1.Identity` client port of any node, fresh USCCs, and JWTs built by hand (so that a
test can forge any part of one: the algorithm, the key, the claims)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from stdnum.cn import uscc as stdnum_uscc

from core.algorithms import SigningKey
from core.signing import PURPOSE_TOKEN, key_id_of
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc
from tests.harness import Network, Refusal, outcome_of, refusal_of

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc() -> str:
    """A valid Unified Social Credit Code never used before (random, with its check character)."""
    body = "9144" + "".join(secrets.choice("0123456789") for _ in range(4))
    body += "".join(secrets.choice(_USCC_ALPHABET) for _ in range(9))
    return body + str(stdnum_uscc.calc_check_digit(body))


def wrong_check_character(uscc: str) -> str:
    """`uscc` with its check character replaced by another one."""
    return uscc[:-1] + next(c for c in _USCC_ALPHABET if c != uscc[-1])


def attempt(call: Callable[[], T]) -> T | Refusal:
    """What the call answered, or how it was refused."""
    answers: list[T] = []
    refusal = outcome_of(lambda: answers.append(call()))
    return refusal if refusal is not None else answers[0]


def at_the_same_moment(calls: Mapping[str, Callable[[], T]]) -> dict[str, T | Refusal]:
    """Start every call in its own thread, released together; what each answered (or how it
    was refused), by name."""
    start = threading.Barrier(len(calls))
    outcomes: dict[str, T | Refusal] = {}

    def run(name: str, call: Callable[[], T]) -> None:
        start.wait()
        outcomes[name] = attempt(call)

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == len(calls), "a call did not finish"
    return outcomes


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


# -- JWTs by hand ----------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_key_id(node_id: str, key: SigningKey) -> str:
    return key_id_of(node_id, PURPOSE_TOKEN, key)


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a JWT, unverified."""
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def forge(
    header: Mapping[str, Any],
    payload: Mapping[str, Any],
    *,
    ed25519: SigningKey | None = None,
    hmac_secret: bytes | None = None,
) -> str:
    """A compact JWS of exactly this header and payload, signed with an Ed25519 key, with
    HMAC-SHA256 under `hmac_secret` (what a verifier that lets the header pick the algorithm
    would check against a public key), or not at all (`alg: none`)."""
    signing_input = (
        b64url(json.dumps(dict(header), separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(dict(payload), separators=(",", ":")).encode())
    )
    if ed25519 is not None:
        signature = ed25519.sign(signing_input.encode())
    elif hmac_secret is not None:
        signature = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    else:
        signature = b""
    return signing_input + "." + b64url(signature)


def claims(
    *,
    issuer: str,
    party: str,
    user: str = "alice",
    now_s: int,
    lifetime_s: int = 600,
    federation: str = "CN",
    **extra: Any,
) -> dict[str, Any]:
    """The claims a home node puts in an access token (identity/tokens.py), to change at will."""
    payload: dict[str, Any] = {
        "iss": issuer,
        "sub": f"{party}/{user}",
        "aud": f"swnode:{federation}",
        "iat": now_s,
        "exp": now_s + lifetime_s,
        "jti": secrets.token_hex(8),
        "sid": secrets.token_urlsafe(12),
        "party": party,
        "party_kind": "enterprise",
        "roles": ["admin", "declarant"],
        "party_roles": ["declarant"],
    }
    payload.update(extra)
    return payload


def header(kid: str, **extra: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "kid": kid, "typ": "at+jwt", **extra}


# -- the client port -------------------------------------------------------------------------


class IdentityClient:
    """`swf.v1.Identity` on every node of a network, one channel per node, as clients dial."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._channels: dict[str, grpc.Channel] = {}

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def stub(self, node_id: str) -> igrpc.IdentityStub:
        channel = self._channels.get(node_id)
        if channel is None:
            channel = self._channels[node_id] = self.network.client_channel(node_id)
        return igrpc.IdentityStub(channel)

    def forget(self, node_id: str) -> None:
        """Drop the channel to a node that was restarted (a new one is made on next use)."""
        channel = self._channels.pop(node_id, None)
        if channel is not None:
            channel.close()

    # -- calls (each raises grpc.RpcError when refused) ---------------------------------------

    def register(
        self,
        at: str,
        uscc: str,
        *,
        user: str = "alice",
        password: str = PASSWORD,
        name: str = "Example Trading Co., Ltd.",
        roles: tuple[str, ...] = ("declarant",),
        timeout_s: float = 30,
    ) -> ipb.Registration:
        registration: ipb.Registration = self.stub(at).RegisterEnterprise(
            ipb.RegisterEnterpriseRequest(
                uscc=uscc,
                name=name,
                address="1 Example Road, Shenzhen",
                contact=ipb.Contact(name="Li Lei", email="li@example.cn", phone="+86 755 0000"),
                roles=list(roles),
                admin_user=user,
                admin_password=password,
            ),
            timeout=timeout_s,
        )
        return registration

    def registration(self, at: str, uscc: str) -> ipb.Registration:
        answer: ipb.Registration = self.stub(at).GetRegistration(
            ipb.GetRegistrationRequest(uscc=uscc), timeout=10
        )
        return answer

    def login(
        self, at: str, party: str, user: str = "alice", password: str = PASSWORD
    ) -> ipb.Tokens:
        tokens: ipb.Tokens = self.stub(at).Login(
            ipb.LoginRequest(party=party, user=user, password=password), timeout=30
        )
        return tokens

    def refresh(self, at: str, refresh_token: str) -> ipb.Tokens:
        tokens: ipb.Tokens = self.stub(at).Refresh(
            ipb.RefreshRequest(refresh_token=refresh_token), timeout=10
        )
        return tokens

    def whoami(self, at: str, token: str) -> ipb.Principal:
        principal: ipb.Principal = self.stub(at).WhoAmI(
            ipb.WhoAmIRequest(), metadata=bearer(token), timeout=10
        )
        return principal

    def logout(self, at: str, token: str) -> ipb.LogoutResponse:
        done: ipb.LogoutResponse = self.stub(at).Logout(
            ipb.LogoutRequest(), metadata=bearer(token), timeout=10
        )
        return done

    def add_user(
        self,
        at: str,
        token: str,
        user: str,
        roles: tuple[str, ...] = (),
        password: str = PASSWORD,
    ) -> ipb.User:
        added: ipb.User = self.stub(at).AddUser(
            ipb.AddUserRequest(user=user, password=password, roles=list(roles)),
            metadata=bearer(token),
            timeout=10,
        )
        return added

    def disable_user(self, at: str, token: str, user: str) -> ipb.User:
        disabled: ipb.User = self.stub(at).DisableUser(
            ipb.DisableUserRequest(user=user), metadata=bearer(token), timeout=10
        )
        return disabled

    def enable_user(self, at: str, token: str, user: str) -> ipb.User:
        enabled: ipb.User = self.stub(at).EnableUser(
            ipb.EnableUserRequest(user=user), metadata=bearer(token), timeout=10
        )
        return enabled

    def list_users(self, at: str, token: str) -> ipb.ListUsersResponse:
        users: ipb.ListUsersResponse = self.stub(at).ListUsers(
            ipb.ListUsersRequest(), metadata=bearer(token), timeout=10
        )
        return users

    def lookup(self, at: str, uscc: str) -> ipb.EnterpriseProfile:
        profile: ipb.EnterpriseProfile = self.stub(at).LookupEnterprise(
            ipb.LookupEnterpriseRequest(uscc=uscc), timeout=10
        )
        return profile

    # -- outcomes ----------------------------------------------------------------------------

    def whoami_outcome(self, at: str, token: str) -> Refusal | None:
        """None if `at` accepts the token, else how it refused."""
        return outcome_of(lambda: self.whoami(at, token))

    def whoami_refusal(self, at: str, token: str) -> Refusal:
        return refusal_of(lambda: self.whoami(at, token))

    def accepted_everywhere(self, token: str, nodes: list[str]) -> dict[str, ipb.Principal]:
        return {n: self.whoami(n, token) for n in nodes}

    def refused_everywhere_within(
        self, token: str, nodes: list[str], *, reason: str, since: float, bound_s: float
    ) -> dict[str, float]:
        """Ask every node until each refuses `token` with `reason`; fail if any still does not
        after `bound_s` seconds from `since` (time.monotonic()). Returns how long each took."""
        took: dict[str, float] = {}
        last: dict[str, Refusal | None] = {}
        while True:
            for node in sorted(set(nodes) - set(took)):
                last[node] = outcome = self.whoami_outcome(node, token)
                if outcome is not None and outcome.reason == reason:
                    assert outcome.code == grpc.StatusCode.UNAUTHENTICATED, (node, outcome)
                    took[node] = time.monotonic() - since
            if len(took) == len(nodes):
                return took
            if time.monotonic() > since + bound_s:
                missing = {n: last[n] for n in nodes if n not in took}
                raise AssertionError(f"not refused with {reason} within {bound_s}s: {missing}")
            time.sleep(0.05)

    def enterprise(self, at: str, *, user: str = "alice") -> tuple[str, ipb.Tokens]:
        """A fresh enterprise registered at `at`, and its administrator's tokens from there."""
        uscc = new_uscc()
        registration = self.register(at, uscc, user=user)
        assert registration.status == ipb.REGISTRATION_STATUS_ACTIVE, registration
        return uscc, self.login(at, uscc, user)


@contextmanager
def identity_client(network: Network) -> Iterator[IdentityClient]:
    client = IdentityClient(network)
    try:
        yield client
    finally:
        client.close()
