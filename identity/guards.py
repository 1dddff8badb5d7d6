"""Counting failed logins and registrations, and what the counts decide: how long a failed login
waits for its answer, which logins are refused unchecked (docs/IDENTITY.md, "Failed logins"),
and when a source may register again.

- Per source address: every failed login is an attempt in a sliding window
  (`lockout_window_s`); nothing but time takes one back. A login is recorded before its
  password is checked, so that guesses sent at once each count, and taken back only if it
  succeeds or is refused unchecked. The attacker's own good logins therefore clear nothing.
- Per user, at the home node: failures in a row, cleared by that user's success; a lock for
  `lockout_s` once `lockout_after` is reached.
- A party or user that does not exist costs, waits and counts exactly as one that does: the
  same keys are counted, a password hash is checked all the same, and the same delay applies.

The decisions are identity/lockout.py's (pure); this module only moves the counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from core.errors import ResourceExhausted, Unauthenticated
from identity.lockout import LockoutPolicy, RateLimit
from storage.database import Database

__all__ = [
    "Attempt",
    "LoginGuard",
    "RegistrationLimit",
    "Sleep",
    "locked",
    "login_failed",
    "minutes_until",
    "source_key",
    "user_key",
]

Sleep = Callable[[float], Awaitable[None]]


def minutes_until(until_ms: int, now_ms: int) -> int:
    return max(1, -(-(until_ms - now_ms) // 60000))


def locked(locked_until_ms: int, now_ms: int) -> ResourceExhausted:
    minutes = minutes_until(locked_until_ms, now_ms)
    return ResourceExhausted("login.locked", f"too many failed logins; try again in {minutes} min")


def login_failed() -> Unauthenticated:
    return Unauthenticated("login.failed", "wrong party, user or password")


def source_key(source: str) -> str:
    return f"login:{source}"


def user_key(party_id: str, user: str) -> str:
    return f"user:{party_id}/{user}"


@dataclass(frozen=True)
class Attempt:
    """A login under way from one source: recorded as a failure until it is known to be not."""

    attempt_id: int
    source_failures: int  # this one included


class LoginGuard:
    def __init__(
        self,
        db: Database,
        policy: LockoutPolicy,
        clock_ms: Callable[[], int],
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._db = db
        self.policy = policy
        self._clock_ms = clock_ms
        self._sleep = sleep

    async def admit_source(self, source: str) -> Attempt:
        """Record a login from `source`, or refuse it (`login.locked`) while the source has
        failed too often within the window."""
        now_ms = self._clock_ms()
        window = self.policy.source
        recorded = await self._db.attempts.record(source_key(source), now_ms, window.window_ms)
        until = window.refused_until_ms(recorded.earlier_ms, now_ms)
        if until is not None:
            await self._db.attempts.forget(recorded.attempt_id)
            raise locked(until, now_ms)
        return Attempt(recorded.attempt_id, len(recorded.earlier_ms) + 1)

    async def admit_user(self, key: str) -> int:
        """Count a login of the user `key` as a failure before its password is checked; return
        the count, or refuse (`login.locked`) while the user is locked. The attempt that
        reaches the limit sets the lock and is still checked; others at the limit while the
        lock is in force are refused unchecked (one guess per lock period)."""
        now_ms = self._clock_ms()
        _, locked_until = await self._db.login_failures.failures(key)
        if locked_until is not None and locked_until > now_ms:
            raise locked(locked_until, now_ms)
        count = await self._db.login_failures.count(key, now_ms)
        locked_until = self.policy.locked_until_ms(count, now_ms)
        if locked_until is not None and not await self._db.login_failures.lock(
            key, locked_until, now_ms
        ):
            raise locked(locked_until, now_ms)
        return count

    async def take_back(self, attempt: Attempt) -> None:
        """The login was not a failure (its password was right, or it was never checked)."""
        await self._db.attempts.forget(attempt.attempt_id)

    async def succeeded(self, key: str) -> None:
        """The user's password was right: its failures in a row start again from none."""
        await self._db.login_failures.clear(key)

    def delay_s(self, attempt: Attempt | None, user_failures: int) -> float:
        source_failures = attempt.source_failures if attempt else 0
        return max(self.policy.delay_s(user_failures), self.policy.delay_s(source_failures))

    async def failed(self, attempt: Attempt | None, user_failures: int) -> NoReturn:
        """Answer a failed login, as late as the counts say; the attempt stays counted."""
        await self._sleep(self.delay_s(attempt, user_failures))
        raise login_failed()


class RegistrationLimit:
    """Registrations per source address, counted in a sliding window."""

    def __init__(self, db: Database, limit: RateLimit, clock_ms: Callable[[], int]) -> None:
        self._db = db
        self.limit = limit
        self._clock_ms = clock_ms

    async def admit(self, source: str) -> None:
        now_ms = self._clock_ms()
        recorded = await self._db.attempts.record(
            f"register:{source}", now_ms, self.limit.window_ms
        )
        until = self.limit.refused_until_ms(recorded.earlier_ms, now_ms)
        if until is not None:
            await self._db.attempts.forget(recorded.attempt_id)
            minutes = minutes_until(until, now_ms)
            raise ResourceExhausted(
                "registration.rate_limited",
                f"too many registrations from this address; try again in {minutes} min",
            )
