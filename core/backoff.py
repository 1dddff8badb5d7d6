"""Retry timing: capped exponential backoff with jitter, a pure function of the failure count
and a random number the caller supplies."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 60.0

    def ceiling_s(self, failures: int) -> float:
        """The longest wait after `failures` consecutive failures (0 → no wait)."""
        if failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * float(2 ** min(failures - 1, 32)))

    def delay_s(self, failures: int, rand: float) -> float:
        """A wait in [ceiling/2, ceiling] ("equal jitter"); `rand` is uniform in [0, 1)."""
        ceiling = self.ceiling_s(failures)
        return ceiling / 2 + rand * ceiling / 2
