"""Enterprise identity end to end on a test network (CN, CN-GD, CN-SH and the foreign SG): register
once at the home province, log in anywhere, be recognised everywhere; refusals with their reason
codes at every node; logout, disabled users and suspended parties refused everywhere within the
documented bound; refresh at home only; passwords never stored or logged in clear; tokens and
JWKS that an independent JOSE library verifies.

Every test registers its own enterprises (fresh USCCs), so the tests of this module share one
network and may run in any order. The failures that need a node stopped, a small lockout
policy or a revoked node are in test_identity_faults.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core.directory import verify_directory
from core.signing import raw_public
from identity.accounts import PROPAGATION_BOUND, PROPAGATION_BOUND_S
from node.operator.parties import add_party
from swf.v1 import identity_pb2 as ipb
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.conftest import run_coroutine
from tests.harness import Network, NetworkFactory, NetworkSpec, Refusal, refusal_of, swnode
from tests.identity_client import (
    PASSWORD,
    IdentityClient,
    at_the_same_moment,
    b64url,
    claims,
    forge,
    header,
    identity_client,
    jwt_parts,
    new_uscc,
    token_key_id,
    wrong_check_character,
)

pytestmark = pytest.mark.network

CN = ["CN-GD", "CN-SH", "CN"]  # the nodes of federation CN


@dataclass
class Secrets:
    """Every password and token the module's flows used: none may ever appear in a log."""

    values: set[str] = field(default_factory=lambda: {PASSWORD})

    def tokens(self, t: ipb.Tokens) -> ipb.Tokens:
        self.values |= {t.access_token, t.refresh_token, t.refresh_token.partition(".")[2]}
        return t


@pytest.fixture(scope="module")
def network(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(provinces=2, foreign=1))


@pytest.fixture(scope="module")
def client(network: Network) -> Iterator[IdentityClient]:
    with identity_client(network) as c:
        yield c


@pytest.fixture(scope="module")
def secrets_seen() -> Secrets:
    return Secrets()


def now_s() -> int:
    return int(time.time())


def national_registry(network: Network, uscc: str) -> list[tuple[str, str]]:
    """(home node, status) rows of the central's national registry for `uscc`."""
    path = network.dir("CN") / "node.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(
            db.execute("SELECT home_node, status FROM national_registry WHERE uscc = ?", (uscc,))
        )


def refused_at_every_node(
    client: IdentityClient, token: str, reason: str, code: grpc.StatusCode
) -> None:
    for node in CN:
        refusal = client.whoami_refusal(node, token)
        assert (refusal.code, refusal.reason) == (code, reason), (node, refusal)


# -- register once, known everywhere ---------------------------------------------------------


def test_register_at_home_log_in_anywhere_known_everywhere(
    client: IdentityClient, secrets_seen: Secrets
) -> None:
    uscc = new_uscc()
    registration = client.register("CN-GD", uscc, roles=("declarant", "carrier"))
    assert registration.status == ipb.REGISTRATION_STATUS_ACTIVE
    assert (registration.uscc, registration.home_node) == (uscc, "CN-GD")
    assert list(registration.roles) == ["declarant", "carrier"]
    assert client.registration("CN-GD", uscc).status == ipb.REGISTRATION_STATUS_ACTIVE

    tokens = secrets_seen.tokens(client.login("CN-GD", uscc))
    assert (tokens.issuer, tokens.subject, tokens.token_type) == (
        "CN-GD",
        f"{uscc}/alice",
        "Bearer",
    )
    assert 0 < tokens.expires_in_s <= 900
    seen = client.accepted_everywhere(tokens.access_token, CN)
    for node, who in seen.items():
        assert who.verified_by == node
        assert (who.subject, who.party, who.user, who.home_node) == (
            f"{uscc}/alice",
            uscc,
            "alice",
            "CN-GD",
        )
        assert who.party_kind == "enterprise"
        assert list(who.roles) == ["admin", "declarant", "carrier"]
        assert list(who.party_roles) == ["declarant", "carrier"]
    assert len({w.token_id for w in seen.values()}) == 1
    assert len({w.expires_at_unix_ms for w in seen.values()}) == 1

    # Logging in at another node: the home node checks the password and signs the tokens.
    for at in ("CN-SH", "CN"):
        elsewhere = secrets_seen.tokens(client.login(at, uscc))
        assert (elsewhere.issuer, elsewhere.subject) == ("CN-GD", f"{uscc}/alice")
        head, payload = jwt_parts(elsewhere.access_token)
        assert head["kid"].startswith("CN-GD/tok/") and payload["iss"] == "CN-GD"
        assert client.whoami("CN-GD", elsewhere.access_token).home_node == "CN-GD"

    # A wrong password, wherever it is given, says nothing about what was wrong.
    for at in CN:
        wrong = refusal_of(lambda at=at: client.login(at, uscc, password="wrong horse battery"))  # type: ignore[misc]
        assert (wrong.code, wrong.reason) == (grpc.StatusCode.UNAUTHENTICATED, "login.failed")
        nobody = refusal_of(lambda at=at: client.login(at, uscc, user="mallory"))  # type: ignore[misc]
        assert (nobody.code, nobody.reason, nobody.details) == (
            wrong.code,
            wrong.reason,
            wrong.details,
        )
        unknown = refusal_of(lambda at=at: client.login(at, new_uscc()))  # type: ignore[misc]
        assert (unknown.code, unknown.reason) == (grpc.StatusCode.UNAUTHENTICATED, "login.failed")


def test_a_trusted_foreign_federation_does_not_accept_the_token(
    client: IdentityClient, secrets_seen: Secrets
) -> None:
    """SG knows CN-GD's token key (it holds CN's directory to check CN's envelopes), and
    accepts no token signed with it."""
    _, tokens = client.enterprise("CN-GD")
    secrets_seen.tokens(tokens)
    refusal = client.whoami_refusal("SG", tokens.access_token)
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "token.foreign_issuer",
    )


def test_any_node_looks_up_the_public_profile(client: IdentityClient) -> None:
    uscc = new_uscc()
    before = int(time.time() * 1000)
    client.register("CN-SH", uscc, name="Shanghai Forwarding Ltd.", roles=("forwarder",))
    profiles = [client.lookup(at, uscc) for at in CN]
    assert all(p == profiles[0] for p in profiles), profiles
    profile = profiles[0]
    assert (profile.uscc, profile.name, profile.home_node) == (
        uscc,
        "Shanghai Forwarding Ltd.",
        "CN-SH",
    )
    assert list(profile.roles) == ["forwarder"]
    assert profile.status == ipb.REGISTRATION_STATUS_ACTIVE
    assert before - 5000 <= profile.registered_at_unix_ms <= int(time.time() * 1000) + 5000
    # Public: no password, user or contact in it.
    assert set(ipb.EnterpriseProfile.DESCRIPTOR.fields_by_name) == {
        "uscc",
        "name",
        "home_node",
        "roles",
        "status",
        "registered_at_unix_ms",
    }
    for at in CN:
        missing = refusal_of(lambda at=at: client.lookup(at, new_uscc()))  # type: ignore[misc]
        assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "registry.unknown")


# -- one home per USCC -----------------------------------------------------------------------


def test_the_same_uscc_at_another_province(client: IdentityClient, network: Network) -> None:
    uscc = new_uscc()
    client.register("CN-GD", uscc)
    refusal = refusal_of(lambda: client.register("CN-SH", uscc, user="bob"))
    assert (refusal.code, refusal.reason, refusal.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "party.registered_elsewhere",
        "uscc",
    )
    assert "CN-GD" in refusal.details
    # CN-SH shows the enterprise why; the registry still names CN-GD only.
    seen = client.registration("CN-SH", uscc)
    assert (seen.status, seen.home_node) == (ipb.REGISTRATION_STATUS_REJECTED, "CN-GD")
    assert "CN-GD" in seen.reason
    assert national_registry(network, uscc) == [("CN-GD", "active")]
    # The same USCC again at its home node.
    again = refusal_of(lambda: client.register("CN-GD", uscc, user="carol"))
    assert (again.code, again.reason, again.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "party.exists",
        "uscc",
    )
    # The rejected attempt's user cannot log in; the real administrator can, also at CN-SH.
    bob = refusal_of(lambda: client.login("CN-SH", uscc, user="bob"))
    assert bob.reason == "login.failed"
    assert client.login("CN-SH", uscc).issuer == "CN-GD"


def test_two_provinces_register_one_uscc_at_the_same_moment(
    client: IdentityClient, network: Network
) -> None:
    for _ in range(3):
        uscc = new_uscc()
        outcomes = at_the_same_moment(
            {at: partial(client.register, at, uscc, user="admin") for at in ("CN-GD", "CN-SH")}
        )
        winners = [at for at, o in outcomes.items() if isinstance(o, ipb.Registration)]
        assert len(winners) == 1, outcomes
        [winner] = winners
        [loser] = [at for at in outcomes if at != winner]
        won, lost = outcomes[winner], outcomes[loser]
        assert isinstance(won, ipb.Registration) and isinstance(lost, Refusal)
        assert (won.status, won.home_node) == (ipb.REGISTRATION_STATUS_ACTIVE, winner)
        assert (lost.code, lost.reason, lost.field) == (
            grpc.StatusCode.ALREADY_EXISTS,
            "party.registered_elsewhere",
            "uscc",
        )
        assert f"its home node is {winner}" in lost.details
        assert national_registry(network, uscc) == [(winner, "active")]
        assert client.lookup("CN", uscc).home_node == winner
        loser_view = client.registration(loser, uscc)
        assert (loser_view.status, loser_view.home_node) == (
            ipb.REGISTRATION_STATUS_REJECTED,
            winner,
        )


# -- what is refused, and why ----------------------------------------------------------------


def test_an_invalid_uscc_is_refused_naming_the_field(client: IdentityClient) -> None:
    bad = wrong_check_character(new_uscc())
    for at in CN:
        for call in (
            lambda at=at: client.register(at, bad),
            lambda at=at: client.registration(at, bad),
            lambda at=at: client.lookup(at, bad),
        ):
            refusal = refusal_of(call)
            assert (refusal.code, refusal.reason, refusal.field) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "party.bad_uscc",
                "uscc",
            ), at
            assert "check character" in refusal.details
    for changes, reason, field_name in (
        ({"name": " "}, "party.bad_name", "name"),
        ({"roles": ()}, "party.no_roles", "roles"),
        ({"roles": ("declarant", "admin")}, "party.bad_role", "roles"),
        ({"user": "Alice"}, "user.bad_name", "admin_user"),
        ({"password": "short"}, "user.weak_password", "admin_password"),
    ):
        refusal = refusal_of(lambda c=changes: client.register("CN-GD", new_uscc(), **c))  # type: ignore[misc]
        assert (refusal.code, refusal.reason, refusal.field) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
            field_name,
        )
    incomplete = refusal_of(lambda: client.login("CN-SH", "", "alice"))
    assert (incomplete.code, incomplete.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "login.incomplete",
    )


def test_forged_and_unusable_tokens_are_refused_at_every_node(
    client: IdentityClient, network: Network, secrets_seen: Secrets
) -> None:
    uscc, tokens = client.enterprise("CN-GD")
    secrets_seen.tokens(tokens)
    gd = network.keys("CN-GD").token_key
    sh = network.keys("CN-SH").token_key
    gd_kid, sh_kid = token_key_id("CN-GD", gd), token_key_id("CN-SH", sh)
    assert isinstance(gd, Ed25519PrivateKey)
    gd_public = gd.public_key()

    def like(**changes: Any) -> dict[str, Any]:
        return claims(issuer="CN-GD", party=uscc, now_s=now_s(), **changes)

    stranger = Ed25519PrivateKey.generate()
    head, _, signature = tokens.access_token.split(".")
    _, more_roles, _ = forge(
        header(gd_kid), like(roles=["admin", "customs_broker"]), ed25519=stranger
    ).split(".")
    cases = {
        "token.expired": forge(
            header(gd_kid), like(iat=now_s() - 1000, exp=now_s() - 100), ed25519=gd
        ),
        # CN-SH's real token key, claiming to be CN-GD.
        "token.issuer_mismatch": forge(header(sh_kid), like(), ed25519=sh),
        "token.bad_signature": forge(header(gd_kid), like(), ed25519=sh),
        "token.unknown_key": forge(
            header(token_key_id("CN-GD", stranger)), like(), ed25519=stranger
        ),
        "token.bad_algorithm": forge(header(gd_kid, alg="none"), like()),
        "token.wrong_audience": forge(header(gd_kid), like(aud="swnode:SG"), ed25519=gd),
        "token.bad_lifetime": forge(header(gd_kid), like(lifetime_s=3600), ed25519=gd),
        "token.malformed": "not.a.jwt",
    }
    hmac_forgeries = [
        forge(header(gd_kid, alg="HS256"), like(), hmac_secret=raw_public(gd_public)),
        forge(
            header(gd_kid, alg="HS256"),
            like(),
            hmac_secret=gd_public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        ),
        forge(
            header(gd_kid, alg="HS256"), like(), hmac_secret=b64url(raw_public(gd_public)).encode()
        ),
    ]
    tampered = f"{head}.{more_roles}.{signature}"
    for node in CN:
        for reason, token in cases.items():
            refusal = client.whoami_refusal(node, token)
            assert (refusal.code, refusal.reason) == (
                grpc.StatusCode.UNAUTHENTICATED,
                reason,
            ), (node, reason, refusal)
        for token in hmac_forgeries:
            refusal = client.whoami_refusal(node, token)
            assert (refusal.code, refusal.reason) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "token.bad_algorithm",
            ), (node, refusal)
        refusal = client.whoami_refusal(node, tampered)
        assert refusal.reason == "token.bad_signature", (node, refusal)
        missing = refusal_of(lambda n=node: client.stub(n).WhoAmI(ipb.WhoAmIRequest(), timeout=5))  # type: ignore[misc]
        assert (missing.code, missing.reason) == (grpc.StatusCode.UNAUTHENTICATED, "auth.missing")
        # The real token, for comparison.
        assert client.whoami(node, tokens.access_token).subject == f"{uscc}/alice"


def test_a_token_without_the_role_is_denied(client: IdentityClient, secrets_seen: Secrets) -> None:
    uscc, admin = client.enterprise("CN-GD")
    secrets_seen.tokens(admin)
    bob = client.add_user("CN-GD", admin.access_token, "bob", roles=("declarant",))
    assert (bob.party, bob.user, list(bob.roles), bob.disabled) == (
        uscc,
        "bob",
        ["declarant"],
        False,
    )
    clerk = secrets_seen.tokens(client.login("CN-SH", uscc, "bob"))
    assert list(client.whoami("CN", clerk.access_token).roles) == ["declarant"]
    for call in (
        lambda: client.add_user("CN-GD", clerk.access_token, "carol", roles=("admin",)),
        lambda: client.disable_user("CN-GD", clerk.access_token, "alice"),
        lambda: client.list_users("CN-GD", clerk.access_token),
    ):
        refusal = refusal_of(call)
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "auth.missing_role",
        )
    # Users are managed at the party's home node only.
    elsewhere = refusal_of(lambda: client.list_users("CN-SH", admin.access_token))
    assert (elsewhere.code, elsewhere.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "users.not_home",
    )
    for changes, code, reason in (
        ({"user": "bob"}, grpc.StatusCode.ALREADY_EXISTS, "user.exists"),
        (
            {"user": "carol", "roles": ("carrier",)},
            grpc.StatusCode.INVALID_ARGUMENT,
            "user.bad_role",
        ),
        (
            {"user": "carol", "password": "aaaaaaaaaaaa"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "user.weak_password",
        ),
        ({"user": "Carol"}, grpc.StatusCode.INVALID_ARGUMENT, "user.bad_name"),
    ):
        refusal = refusal_of(lambda c=changes: client.add_user("CN-GD", admin.access_token, **c))  # type: ignore[misc]
        assert (refusal.code, refusal.reason) == (code, reason), changes
    unknown = refusal_of(lambda: client.disable_user("CN-GD", admin.access_token, "nobody"))
    assert (unknown.code, unknown.reason, unknown.field) == (
        grpc.StatusCode.NOT_FOUND,
        "user.unknown",
        "user",
    )
    listed = client.list_users("CN-GD", admin.access_token)
    assert [(u.user, list(u.roles)) for u in listed.users] == [
        ("alice", ["admin", "declarant"]),
        ("bob", ["declarant"]),
    ]


# -- revocation: logout, disabled users, suspended parties -----------------------------------


def test_logout_is_refused_everywhere_within_the_bound(
    client: IdentityClient, secrets_seen: Secrets
) -> None:
    uscc, first = client.enterprise("CN-GD")
    other = secrets_seen.tokens(client.login("CN-SH", uscc))
    secrets_seen.tokens(first)
    client.accepted_everywhere(first.access_token, CN)
    # Logging out at a node that is not the home node ends the session everywhere.
    done = client.logout("CN-SH", first.access_token)
    since = time.monotonic()
    assert done.revoked_everywhere_within == PROPAGATION_BOUND
    assert PROPAGATION_BOUND.startswith(f"{PROPAGATION_BOUND_S}s at every node that is up")
    client.refused_everywhere_within(
        first.access_token, CN, reason="token.revoked", since=since, bound_s=PROPAGATION_BOUND_S
    )
    # The home node heard of it too: the session cannot be refreshed.
    ended = refusal_of(lambda: client.refresh("CN-GD", first.refresh_token))
    assert (ended.code, ended.reason) == (grpc.StatusCode.UNAUTHENTICATED, "refresh.ended")
    # Another session of the same user goes on.
    client.accepted_everywhere(other.access_token, CN)
    # Logging out at the home node is refused there at once.
    client.logout("CN-GD", other.access_token)
    assert client.whoami_refusal("CN-GD", other.access_token).reason == "token.revoked"


def test_a_disabled_user_is_refused_everywhere_within_the_bound(
    client: IdentityClient, secrets_seen: Secrets
) -> None:
    uscc, admin = client.enterprise("CN-GD")
    secrets_seen.tokens(admin)
    client.add_user("CN-GD", admin.access_token, "bob", roles=("declarant",))
    bob = secrets_seen.tokens(client.login("CN-GD", uscc, "bob"))
    bob_elsewhere = secrets_seen.tokens(client.login("CN", uscc, "bob"))
    client.accepted_everywhere(bob.access_token, CN)
    disabled = client.disable_user("CN-GD", admin.access_token, "bob")
    since = time.monotonic()
    assert disabled.disabled
    for token in (bob.access_token, bob_elsewhere.access_token):
        client.refused_everywhere_within(
            token, CN, reason="token.revoked", since=since, bound_s=PROPAGATION_BOUND_S
        )
    for at in CN:
        refusal = refusal_of(lambda at=at: client.login(at, uscc, "bob"))  # type: ignore[misc]
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "login.disabled",
        )
    ended = refusal_of(lambda: client.refresh("CN-GD", bob.refresh_token))
    assert ended.reason == "refresh.ended"
    client.accepted_everywhere(admin.access_token, CN)
    listed = {u.user: u.disabled for u in client.list_users("CN-GD", admin.access_token).users}
    assert listed == {"alice": False, "bob": True}


def test_a_suspended_enterprise_is_refused_everywhere_within_the_bound(
    client: IdentityClient, network: Network, secrets_seen: Secrets
) -> None:
    uscc, tokens = client.enterprise("CN-GD")
    via_sh = secrets_seen.tokens(client.login("CN-SH", uscc))
    secrets_seen.tokens(tokens)
    client.accepted_everywhere(tokens.access_token, CN)
    done = swnode("party", "suspend", "--dir", str(network.dir("CN-GD")), "--id", uscc)
    since = time.monotonic()
    assert done.returncode == 0, done.stderr
    for token in (tokens.access_token, via_sh.access_token):
        client.refused_everywhere_within(
            token, CN, reason="token.revoked", since=since, bound_s=PROPAGATION_BOUND_S
        )
    assert client.registration("CN-GD", uscc).status == ipb.REGISTRATION_STATUS_SUSPENDED
    for at in CN:
        assert client.lookup(at, uscc).status == ipb.REGISTRATION_STATUS_SUSPENDED
        refusal = refusal_of(lambda at=at: client.login(at, uscc))  # type: ignore[misc]
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "party.not_active",
        )
    ended = refusal_of(lambda: client.refresh("CN-GD", tokens.refresh_token))
    assert ended.reason == "refresh.ended"

    resumed = swnode("party", "resume", "--dir", str(network.dir("CN-GD")), "--id", uscc)
    assert resumed.returncode == 0, resumed.stderr
    time.sleep(1.0)  # tokens are stamped in whole seconds; the suspension covers its second
    fresh = secrets_seen.tokens(client.login("CN-SH", uscc))
    client.accepted_everywhere(fresh.access_token, CN)
    assert client.lookup("CN", uscc).status == ipb.REGISTRATION_STATUS_ACTIVE
    assert client.whoami_refusal("CN-SH", tokens.access_token).reason == "token.revoked"


def test_suspending_an_agency_spares_its_namesake_at_another_node(
    client: IdentityClient, network: Network, secrets_seen: Secrets
) -> None:
    """Agency ids are unique per node only: CN-GD's `portauth` and CN-SH's `portauth` are two
    parties (`CN-GD/portauth`, `CN-SH/portauth`); suspending one leaves the other alone."""
    logins = {}
    for home in ("CN-GD", "CN-SH"):
        user, password = run_coroutine(
            add_party(
                network.dir(home), "portauth", "agency", f"Port authority {home}", (), "officer"
            )
        )
        secrets_seen.values.add(password)
        logins[home] = secrets_seen.tokens(client.login(home, "portauth", user, password))
        assert client.whoami(home, logins[home].access_token).party_kind == "agency"
    done = swnode("party", "suspend", "--dir", str(network.dir("CN-GD")), "--id", "portauth")
    since = time.monotonic()
    assert done.returncode == 0, done.stderr
    client.refused_everywhere_within(
        logins["CN-GD"].access_token,
        ["CN-GD"],
        reason="token.revoked",
        since=since,
        bound_s=PROPAGATION_BOUND_S,
    )
    client.accepted_everywhere(logins["CN-SH"].access_token, ["CN-SH"])
    # (Away from its own node an agency's token acts nowhere: token.not_local.)


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_at_home_only_rotates_and_a_reused_token_ends_the_session(
    client: IdentityClient, secrets_seen: Secrets
) -> None:
    uscc = new_uscc()
    client.register("CN-GD", uscc)
    first = secrets_seen.tokens(client.login("CN-SH", uscc))
    for at in ("CN-SH", "CN"):
        elsewhere = refusal_of(lambda at=at: client.refresh(at, first.refresh_token))  # type: ignore[misc]
        assert (elsewhere.code, elsewhere.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "refresh.unknown",
        )
        assert "home node" in elsewhere.details
    second = secrets_seen.tokens(client.refresh("CN-GD", first.refresh_token))
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert (second.issuer, second.subject) == ("CN-GD", f"{uscc}/alice")
    old_claims, new_claims = jwt_parts(first.access_token)[1], jwt_parts(second.access_token)[1]
    assert new_claims["sid"] == old_claims["sid"] and new_claims["jti"] != old_claims["jti"]
    client.accepted_everywhere(second.access_token, CN)
    third = secrets_seen.tokens(client.refresh("CN-GD", second.refresh_token))

    # The first refresh token again: someone holds a copy. The session ends, everywhere.
    reused = refusal_of(lambda: client.refresh("CN-GD", first.refresh_token))
    since = time.monotonic()
    assert (reused.code, reused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "refresh.reused")
    ended = refusal_of(lambda: client.refresh("CN-GD", third.refresh_token))
    assert ended.reason == "refresh.ended"
    for token in (second.access_token, third.access_token):
        client.refused_everywhere_within(
            token, CN, reason="token.revoked", since=since, bound_s=PROPAGATION_BOUND_S
        )
    for junk in ("", "nodot", f"{old_claims['sid']}.", f"{old_claims['sid']}.guess", ".x"):
        refusal = refusal_of(lambda j=junk: client.refresh("CN-GD", j))  # type: ignore[misc]
        assert refusal.code == grpc.StatusCode.UNAUTHENTICATED, junk
        assert refusal.reason in ("refresh.unknown", "refresh.ended"), (junk, refusal)


# -- tokens and JWKS, checked by another JOSE implementation ---------------------------------


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # RFC 9864; see docs/IDENTITY.md §4.3
def test_jwks_is_the_directorys_token_keys_and_verifies_tokens_with_joserfc(
    client: IdentityClient, network: Network, secrets_seen: Secrets
) -> None:
    with network.peer_channel("CN", as_node="CN-SH") as channel:
        bundle = peer_pb2_grpc.PeerStub(channel).GetDirectory(
            peer_pb2.GetDirectoryRequest(), timeout=10
        )
    directory_key = network.keys("CN").directory_public
    assert directory_key is not None
    directory = verify_directory(bundle.own, directory_key=directory_key, federation="CN")
    listed = {n.id: n for n in directory.nodes}
    for node in CN:
        code, body = network.ops(node, "/.well-known/jwks.json")
        assert code == 200
        keyset = KeySet.import_key_set(_json(body))
        expected = [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url(k.public_key),
                "kid": k.key_id,
                "alg": "EdDSA",
                "use": "sig",
            }
            for k in listed[node].token_keys
        ]
        assert _json(body) == {"keys": expected}, node
        assert [k.kid for k in keyset.keys] == [k.key_id for k in listed[node].token_keys]
        # ... and the key the node really signs with (its keys/token.key file).
        assert listed[node].token_keys[0].public_key == raw_public(network.keys(node).token_key)

    uscc, tokens = client.enterprise("CN-GD")
    secrets_seen.tokens(tokens)
    code, body = network.ops("CN-GD", "/.well-known/jwks.json")
    keyset = KeySet.import_key_set(_json(body))
    token = jose_jwt.decode(tokens.access_token, keyset, algorithms=["EdDSA"])
    assert token.header["alg"] == "EdDSA" and token.header["typ"] == "at+jwt"
    assert token.header["kid"] == listed["CN-GD"].token_keys[0].key_id
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "CN-GD"},
        aud={"essential": True, "value": "swnode:CN"},
        sub={"essential": True, "value": f"{uscc}/alice"},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    assert token.claims["exp"] - token.claims["iat"] <= 900
    assert token.claims["party"] == uscc and token.claims["sid"]
    # The other nodes' keys do not verify it.
    code, body = network.ops("CN-SH", "/.well-known/jwks.json")
    with pytest.raises(JoseError):
        jose_jwt.decode(
            tokens.access_token,
            KeySet.import_key_set(_json(body)).keys[0],
            algorithms=["EdDSA"],
        )


def _json(body: bytes) -> Any:
    return json.loads(body)


def test_reflection_on_the_client_port_lists_identity(network: Network) -> None:
    with network.client_channel("CN-SH") as channel:
        reflection = ProtoReflectionDescriptorDatabase(channel)
        services = set(reflection.get_services())
        assert "swf.v1.Identity" in services
        assert "swf.v1.Registry" not in services  # peer port only
        described = reflection.FindFileContainingSymbol("swf.v1.Identity")
    [service] = [s for s in described.service if s.name == "Identity"]
    assert {m.name for m in service.method} == {
        "RegisterEnterprise",
        "GetRegistration",
        "Login",
        "Refresh",
        "Logout",
        "WhoAmI",
        "AddUser",
        "DisableUser",
        "EnableUser",
        "ListUsers",
        "LookupEnterprise",
    }


# -- passwords and secrets -------------------------------------------------------------------


def test_passwords_are_argon2id_and_no_secret_reaches_a_log(
    client: IdentityClient, network: Network, secrets_seen: Secrets
) -> None:
    """Runs its own flows (register, logins everywhere, a failed login, refresh, logout), then
    looks at the storage and every log of the network for any password or token this module
    used."""
    uscc, tokens = client.enterprise("CN-GD")
    secrets_seen.tokens(tokens)
    secrets_seen.tokens(client.login("CN", uscc))
    refreshed = secrets_seen.tokens(client.refresh("CN-GD", tokens.refresh_token))
    refusal_of(lambda: client.login("CN-SH", uscc, password="a wrong password 123"))
    secrets_seen.values.add("a wrong password 123")
    client.logout("CN-SH", refreshed.access_token)
    time.sleep(1.0)  # the revocation reaches the other nodes, which may log it

    path = network.dir("CN-GD") / "node.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        hashes = dict(
            db.execute(
                "SELECT party_id || '/' || username, password_hash FROM users WHERE party_id = ?",
                (uscc,),
            )
        )
        everything = [h for (h,) in db.execute("SELECT password_hash FROM users")]
    assert set(hashes) == {f"{uscc}/alice"}
    assert all(h.startswith("$argon2id$") for h in everything), everything
    assert PASSWORD not in "".join(everything)

    leaks = []
    for node in network.ids:
        for name in ("node.log", "console.log"):
            log = network.dir(node) / name
            text = log.read_text(errors="replace") if log.exists() else ""
            assert text or name == "console.log", f"{node}/{name} is empty"
            leaks += [f"{node}/{name}" for s in secrets_seen.values if s and s in text]
    assert not leaks, f"a password or token appears in {sorted(set(leaks))}"
    assert len(secrets_seen.values) > 3
