"""Slowing and then locking repeated failed logins, per user and per source address.

A pure policy: given how many logins failed in a row, how long to make the caller wait before
answering, and until when to refuse outright.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 3  # answered at once
    delay_step_s: float = 1.0  # then each further failure waits one step more
    max_delay_s: float = 5.0
    lock_after: int = 10  # failures in a row before the account (or source) is locked
    lock_s: float = 15 * 60

    def delay_s(self, failures: int) -> float:
        extra = failures - self.free_failures
        return 0.0 if extra <= 0 else min(self.max_delay_s, extra * self.delay_step_s)

    def locked_until_ms(self, failures: int, now_ms: int) -> int | None:
        return now_ms + int(self.lock_s * 1000) if failures >= self.lock_after else None
