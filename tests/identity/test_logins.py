"""Failed logins and registrations counted per source (identity/guards.py), the way an attacker
would try to get around them: a good login of its own between guesses, parties that do not
exist to learn which do, and many registrations from one address. Delays are asserted as the
decisions recorded (tests/identity/world.py), never as wall-clock time."""

from __future__ import annotations

import pytest

from core.errors import ResourceExhausted, SwnodeError, Unauthenticated
from identity.accounts import AccountSettings
from identity.guards import source_key
from identity.lockout import LockoutPolicy, RateLimit
from swf.v1 import identity_pb2 as ipb
from tests.identity.world import World, request
from tests.identity_client import PASSWORD, new_uscc

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.1"
WINDOW_S = 3600.0


@pytest.fixture
def settings() -> AccountSettings:
    return AccountSettings(
        registry_wait_s=0.1,
        lockout=LockoutPolicy(
            free_failures=2,
            delay_step_s=1.0,
            max_delay_s=3.0,
            lock_after=10,
            lock_s=900,
            source=RateLimit(limit=20, window_s=WINDOW_S),
        ),
        registrations=RateLimit(limit=10, window_s=WINDOW_S),
    )


async def outcome(world: World, at: str, party: str, user: str, password: str, src: str) -> str:
    """The reason a login was refused, or "ok"."""
    try:
        await world.nodes[at].sessions.login(
            ipb.LoginRequest(party=party, user=user, password=password), src
        )
    except SwnodeError as exc:
        return exc.reason
    return "ok"


async def enterprise(world: World, at: str, *users: str, source: str = "10.0.0.9") -> str:
    uscc = new_uscc()
    await world.nodes[at].registrations.register_enterprise(
        request(uscc, admin_user=users[0]), source
    )
    return uscc


# -- one source, many users ------------------------------------------------------------------


async def test_a_good_login_between_guesses_does_not_reset_the_source(world: World) -> None:
    """The attack of the review: one good login of the attacker's own every 8 guesses, the
    guesses spread over users so that no user reaches its own lock. The source is locked after
    `limit` failures in the window all the same, for its own good logins too."""
    own = await enterprise(world, "CN-GD", "mallory")
    victims = [await enterprise(world, "CN-GD", "admin") for _ in range(3)]
    outcomes = []
    for n in range(24):
        if n % 8 == 0:
            assert await outcome(world, "CN-GD", own, "mallory", PASSWORD, ATTACKER) in (
                "ok",
                "login.locked",
            )
        victim = victims[n % 3]
        outcomes.append(await outcome(world, "CN-GD", victim, "admin", f"guess {n}", ATTACKER))
        world.clock.now_ms += 1000
    assert outcomes == ["login.failed"] * 20 + ["login.locked"] * 4
    assert await outcome(world, "CN-GD", own, "mallory", PASSWORD, ATTACKER) == "login.locked"
    # Another source is not affected, nor are the victims themselves.
    assert await outcome(world, "CN-GD", victims[0], "admin", PASSWORD, ELSEWHERE) == "ok"
    # The lock lasts until the oldest failures leave the window, then one more guess each.
    world.clock.now_ms += int(WINDOW_S * 1000) - 24_000
    assert await outcome(world, "CN-GD", victims[0], "admin", "guess", ATTACKER) == "login.failed"
    assert await outcome(world, "CN-GD", victims[0], "admin", "guess", ATTACKER) == "login.locked"


async def test_guesses_forwarded_by_another_node_count_there_too(world: World) -> None:
    """Through CN-SH, guesses at CN-GD's users count at CN-SH for the source, so that spreading
    them over several home nodes gains nothing."""
    victims = [await enterprise(world, "CN-GD", "admin") for _ in range(3)]
    outcomes = [
        await outcome(world, "CN-SH", victims[n % 3], "admin", f"guess {n}", ATTACKER)
        for n in range(21)
    ]
    assert outcomes == ["login.failed"] * 20 + ["login.locked"]
    sh = world.databases["CN-SH"].attempts
    assert len(await sh.recent(source_key(ATTACKER), world.clock.now_ms, 3600_000)) == 20


async def test_good_logins_are_not_counted(world: World) -> None:
    uscc = await enterprise(world, "CN-GD", "alice")
    for _ in range(30):
        assert await outcome(world, "CN-GD", uscc, "alice", PASSWORD, ATTACKER) == "ok"
    gd = world.databases["CN-GD"].attempts
    assert await gd.recent(source_key(ATTACKER), world.clock.now_ms, 3600_000) == []


# -- parties and users that do not exist -----------------------------------------------------


async def failures_of(world: World, at: str, party: str, user: str, src: str) -> list[str]:
    """Eleven wrong passwords for one user: the outcomes, with the delay each was given."""
    world.slept.clear()
    reasons = [await outcome(world, at, party, user, f"wrong {n}", src) for n in range(11)]
    return [f"{r} after {s}s" for r, s in zip(reasons, [*world.slept, *[0.0] * 11], strict=False)]


@pytest.mark.parametrize("at", ["CN-GD", "CN-SH"])
async def test_an_unknown_party_is_refused_like_a_known_one(world: World, at: str) -> None:
    """A well-formed USCC that nobody registered, an unknown user of a real party, and a real
    user with a wrong password: the same delays, the same lock, the same counts."""
    known = await enterprise(world, "CN-GD", "alice")
    unknown = new_uscc()
    seen = {
        "known": await failures_of(world, at, known, "alice", "10.0.0.1"),
        "unknown user": await failures_of(world, at, known, "nobody", "10.0.0.2"),
        "unknown party": await failures_of(world, at, unknown, "alice", "10.0.0.3"),
        "not an id": await failures_of(world, at, "no-such-agency", "alice", "10.0.0.4"),
    }
    # Two free failures, then one second more each, up to three.
    delays = [0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    expected = [f"login.failed after {d}s" for d in delays]
    assert seen["known"][:10] == expected
    assert all(s[:10] == expected for s in seen.values()), seen
    assert {s[10].split()[0] for s in seen.values()} == {"login.locked"}
    db = world.databases[at].attempts
    for n in range(1, 5):
        assert len(await db.recent(source_key(f"10.0.0.{n}"), world.clock.now_ms, 3600_000)) == 10


# -- registrations ---------------------------------------------------------------------------


async def test_registrations_are_limited_per_source(world: World) -> None:
    gd = world.nodes["CN-GD"]
    for _ in range(10):
        await gd.registrations.register_enterprise(request(new_uscc()), ATTACKER)
    with pytest.raises(ResourceExhausted) as info:
        await gd.registrations.register_enterprise(request(new_uscc()), ATTACKER)
    assert info.value.reason == "registration.rate_limited"
    assert "try again in 60 min" in info.value.message
    # Asking whether a USCC is taken counts the same: refused before it is looked up.
    with pytest.raises(ResourceExhausted):
        await gd.registrations.register_enterprise(request(new_uscc()), ATTACKER)
    await gd.registrations.register_enterprise(request(new_uscc()), ELSEWHERE)
    world.clock.now_ms += int(WINDOW_S * 1000) + 1
    await gd.registrations.register_enterprise(request(new_uscc()), ATTACKER)


async def test_old_attempts_are_forgotten(world: World) -> None:
    gd, db = world.nodes["CN-GD"], world.databases["CN-GD"]
    await gd.registrations.register_enterprise(request(new_uscc()), ATTACKER)
    with pytest.raises(Unauthenticated):
        await gd.sessions.login(
            ipb.LoginRequest(party=new_uscc(), user="x", password="y"), ATTACKER
        )
    world.clock.now_ms += int(WINDOW_S * 1000) + 1
    await gd.forget_old_attempts()
    assert await db.attempts.recent(source_key(ATTACKER), world.clock.now_ms, 10**12) == []
    assert await db.attempts.recent(f"register:{ATTACKER}", world.clock.now_ms, 10**12) == []
