"""Identity when things go wrong, on a test network of CN and three provinces: registrations
while the central node is down, repeated failed logins (CN-GD runs a small lockout policy so
that locks end within the test), a revocation for a node that was down, and tokens of a revoked
node. Each test restores what it stops; only the revoked-node test changes the network for good,
and only for CN-ZJ, which no other test uses."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial

import grpc
import pytest

from identity.accounts import PROPAGATION_BOUND_S
from node.config import load_config, write_config
from swf.v1 import identity_pb2 as ipb
from tests.harness import Network, NetworkFactory, NetworkSpec, Refusal, eventually, refusal_of
from tests.harness import swnode as run_swnode
from tests.identity_client import (
    PASSWORD,
    IdentityClient,
    at_the_same_moment,
    attempt,
    identity_client,
    new_uscc,
)

pytestmark = pytest.mark.network

CN = ["CN-GD", "CN-SH", "CN"]
# CN-GD's lockout policy: one free failure, then 0.5 s, 1 s, 1 s; a user locked for 5 s after 4
# in a row, a source after 4 in a window of 5 s.
LOCK_AFTER = 4
LOCK_S = 5.0
POLL_S = 0.5


@pytest.fixture(scope="module")
def network(module_network_factory: NetworkFactory) -> Network:
    network = module_network_factory(NetworkSpec(provinces=3, foreign=0, poll_interval_s=POLL_S))
    config = load_config(network.dir("CN-GD"))
    network.stop("CN-GD")
    write_config(
        replace(
            config,
            lockout_free_failures=1,
            lockout_delay_step_s=0.5,
            lockout_max_delay_s=1.0,
            lockout_after=LOCK_AFTER,
            lockout_s=LOCK_S,
            lockout_source_after=LOCK_AFTER,
            lockout_window_s=LOCK_S,
        )
    )
    network.start("CN-GD")
    network.wait_healthy()
    return network


@pytest.fixture(scope="module")
def client(network: Network) -> Iterator[IdentityClient]:
    with identity_client(network) as c:
        yield c


def registration_cli(network: Network, at: str, uscc: str) -> dict[str, str]:
    """`swnode client registration --json`, as the enterprise would check."""
    done = run_swnode(
        "client",
        "--devnet",
        str(network.root),
        "--at",
        at,
        "registration",
        "--uscc",
        uscc,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


def national_registry(network: Network, uscc: str) -> list[tuple[str, str]]:
    path = network.dir("CN") / "node.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(
            db.execute("SELECT home_node, status FROM national_registry WHERE uscc = ?", (uscc,))
        )


# -- the central node unreachable ------------------------------------------------------------


def test_registrations_stay_pending_until_the_central_node_answers(
    client: IdentityClient, network: Network
) -> None:
    contested, alone = new_uscc(), new_uscc()
    network.stop("CN")
    try:
        for at, uscc in (("CN-GD", contested), ("CN-SH", contested), ("CN-SH", alone)):
            registration = client.register(at, uscc, user="admin")
            assert registration.status == ipb.REGISTRATION_STATUS_PENDING, (at, registration)
            assert registration.home_node == at
        assert client.registration("CN-GD", contested).status == ipb.REGISTRATION_STATUS_PENDING
        shown = registration_cli(network, "CN-SH", alone)
        assert (shown["uscc"], shown["status"]) == (alone, "REGISTRATION_STATUS_PENDING")
        # Not usable yet, and nobody can look it up.
        early = refusal_of(lambda: client.login("CN-SH", alone, "admin"))
        assert (early.code, early.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "party.not_active",
        )
        down = refusal_of(lambda: client.lookup("CN-GD", contested))
        assert (down.code, down.reason) == (grpc.StatusCode.UNAVAILABLE, "registry.unreachable")
    finally:
        network.start("CN")
        network.wait_healthy(["CN"])

    def decided() -> dict[str, ipb.Registration]:
        seen = {at: client.registration(at, contested) for at in ("CN-GD", "CN-SH")}
        assert all(r.status != ipb.REGISTRATION_STATUS_PENDING for r in seen.values()), seen
        return seen

    seen = eventually(decided, timeout_s=30, interval_s=0.2)
    [winner] = [at for at, r in seen.items() if r.status == ipb.REGISTRATION_STATUS_ACTIVE]
    [loser] = [at for at in seen if at != winner]
    assert (seen[loser].status, seen[loser].home_node) == (
        ipb.REGISTRATION_STATUS_REJECTED,
        winner,
    )
    assert winner in seen[loser].reason
    assert national_registry(network, contested) == [(winner, "active")]
    shown = registration_cli(network, loser, contested)
    assert (shown["status"], shown["home_node"]) == ("REGISTRATION_STATUS_REJECTED", winner)

    eventually(
        lambda: _assert_status(client.registration("CN-SH", alone), ipb.REGISTRATION_STATUS_ACTIVE),
        timeout_s=30,
        interval_s=0.2,
    )
    assert registration_cli(network, "CN-SH", alone)["status"] == "REGISTRATION_STATUS_ACTIVE"
    assert client.login("CN-GD", contested, "admin").issuer == winner
    assert client.login("CN", alone, "admin").issuer == "CN-SH"


def _assert_status(registration: ipb.Registration, status: int) -> None:
    assert registration.status == status, registration


# -- failed logins ---------------------------------------------------------------------------


def timed_login(
    client: IdentityClient, at: str, party: str, user: str, password: str = PASSWORD
) -> tuple[ipb.Tokens | Refusal, float]:
    started = time.monotonic()
    outcome = attempt(partial(client.login, at, party, user, password))
    return outcome, time.monotonic() - started


def reason(outcome: ipb.Tokens | Refusal) -> str | None:
    return outcome.reason if isinstance(outcome, Refusal) else None


def test_failed_logins_are_slowed_then_locked_per_user_and_per_source(
    client: IdentityClient,
) -> None:
    """At CN-GD directly (source 127.0.0.1), and forwarded by CN-SH (source CN-SH:127.0.0.1)
    and CN (source CN:127.0.0.1): each user and each source has its own count."""
    uscc, admin = client.enterprise("CN-GD")
    for user in ("bob", "carol"):
        client.add_user("CN-GD", admin.access_token, user, roles=("declarant",))

    # Wrong passwords for alice: answered later and later, then the fourth sets the lock.
    failures = [
        timed_login(client, "CN-GD", uscc, "alice", "wrong horse battery")
        for _ in range(LOCK_AFTER)
    ]
    locked_at = time.monotonic()
    assert [reason(o) for o, _ in failures] == ["login.failed"] * LOCK_AFTER
    waited = [t for _, t in failures]
    assert waited[1] >= 0.5 and waited[2] >= 1.0 and waited[3] >= 1.0, waited
    # Now even the right password is refused: for alice wherever she comes from ...
    for at in ("CN-GD", "CN-SH"):
        outcome, _ = timed_login(client, at, uscc, "alice")
        assert isinstance(outcome, Refusal)
        assert (outcome.code, outcome.reason) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "login.locked",
        ), at
        assert "try again in" in outcome.details
    # ... and for anyone from the source that failed, but not for others from elsewhere.
    assert reason(timed_login(client, "CN-GD", uscc, "bob")[0]) == "login.locked"
    assert isinstance(timed_login(client, "CN-SH", uscc, "bob")[0], ipb.Tokens)

    # When the lock ends, the right password works again, and clears the count.
    time.sleep(max(0.0, locked_at + LOCK_S + 0.2 - time.monotonic()))
    assert isinstance(timed_login(client, "CN-GD", uscc, "alice")[0], ipb.Tokens)
    assert isinstance(timed_login(client, "CN-GD", uscc, "bob")[0], ipb.Tokens)
    assert reason(timed_login(client, "CN-GD", uscc, "alice", "wrong horse battery")[0]) == (
        "login.failed"
    )

    # Many guesses at the same moment (forwarded by CN): no more than the limit get checked.
    guesses = at_the_same_moment(
        {
            f"guess {n}": partial(client.login, "CN", uscc, "carol", f"guess number {n:04d}")
            for n in range(3 * LOCK_AFTER)
        }
    )
    reasons = sorted(reason(o) or "accepted" for o in guesses.values())
    assert reasons.count("login.failed") <= LOCK_AFTER, reasons
    assert set(reasons) == {"login.failed", "login.locked"}, reasons
    assert reason(timed_login(client, "CN", uscc, "carol")[0]) == "login.locked"


# -- revocation and nodes that were down -----------------------------------------------------


def test_a_node_that_was_down_learns_of_a_logout_when_it_is_back(
    client: IdentityClient, network: Network
) -> None:
    uscc = new_uscc()
    client.register("CN-SH", uscc)
    first, second = client.login("CN-SH", uscc), client.login("CN-SH", uscc)
    client.logout("CN-SH", first.access_token)
    client.refused_everywhere_within(
        first.access_token,
        ["CN-GD", "CN"],
        reason="token.revoked",
        since=time.monotonic(),
        bound_s=PROPAGATION_BOUND_S,
    )
    network.stop("CN-GD")
    try:
        client.logout("CN-SH", second.access_token)
    finally:
        network.start("CN-GD")
        network.wait_healthy(["CN-GD"])
        client.forget("CN-GD")
    back = time.monotonic()
    # What it held before it stopped, it still holds.
    assert client.whoami_refusal("CN-GD", first.access_token).reason == "token.revoked"
    # What happened while it was down reaches it once the sender retries (the delivery backoff);
    # until then the token's own expiry is the bound.
    took = client.refused_everywhere_within(
        second.access_token, ["CN-GD"], reason="token.revoked", since=back, bound_s=60
    )
    assert took["CN-GD"] < 60


def test_tokens_of_a_revoked_node_are_refused_everywhere(
    client: IdentityClient, network: Network
) -> None:
    _, tokens = client.enterprise("CN-ZJ")
    client.accepted_everywhere(tokens.access_token, CN)
    done = run_swnode(
        "revoke", "--dir", str(network.dir("CN")), "--id", "CN-ZJ", "--reason", "test"
    )
    assert done.returncode == 0, done.stderr
    client.refused_everywhere_within(
        tokens.access_token,
        CN,
        reason="token.revoked_issuer",
        since=time.monotonic(),
        bound_s=POLL_S + 4.5,  # one poll interval, the fetch, and a busy machine
    )
