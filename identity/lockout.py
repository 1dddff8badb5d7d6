"""Slowing and then locking repeated failed logins, per user and per source address, and
limiting registrations per source address.

A pure policy: given how many logins failed (for a user: in a row; for a source: when, within a
sliding window), how long to make the caller wait before answering, and until when to refuse
outright. Storage only records and counts; these functions decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["LockoutPolicy", "RateLimit"]


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` events per `window_s`, counted in a sliding window: an event is refused
    while `limit` earlier ones lie within the window, and allowed again as they age out.
    Nothing but time clears the count."""

    limit: int
    window_s: float

    @property
    def window_ms(self) -> int:
        return int(self.window_s * 1000)

    def in_window(self, earlier_ms: Sequence[int], now_ms: int) -> list[int]:
        return sorted(t for t in earlier_ms if t > now_ms - self.window_ms)

    def refused_until_ms(self, earlier_ms: Sequence[int], now_ms: int) -> int | None:
        """`earlier_ms`: when the earlier events happened. None if one more is allowed now;
        else the instant at which enough of them have left the window for the next."""
        recent = self.in_window(earlier_ms, now_ms)
        if len(recent) < self.limit:
            return None
        return recent[len(recent) - self.limit] + self.window_ms


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 3  # answered at once
    delay_step_s: float = 1.0  # then each further failure waits one step more
    max_delay_s: float = 5.0
    lock_after: int = 10  # failures in a row before the user is locked
    lock_s: float = 15 * 60
    # Failed logins from one source, whatever else succeeds from it (its own logins included).
    source: RateLimit = field(default_factory=lambda: RateLimit(limit=20, window_s=3600))

    def delay_s(self, failures: int) -> float:
        extra = failures - self.free_failures
        return 0.0 if extra <= 0 else min(self.max_delay_s, extra * self.delay_step_s)

    def locked_until_ms(self, failures: int, now_ms: int) -> int | None:
        return now_ms + int(self.lock_s * 1000) if failures >= self.lock_after else None
