"""Waking the streams that watch for changes (WatchDeclaration, WatchWork, WatchTimeline).

A change made by this process wakes its watchers at once; a watcher also wakes every second on
its own and reads storage again, so that a change made by another replica reaches it too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

__all__ = ["WatchSignal"]


class WatchSignal:
    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        # Told of every change too, without waiting (the agency simulator's wake-up).
        self.listeners: list[Callable[[], None]] = []

    async def notify(self) -> None:
        for listener in self.listeners:
            listener()
        async with self._condition:
            self._condition.notify_all()

    async def wait(self, timeout_s: float = 1.0) -> None:
        """Until something changes here, or `timeout_s` has passed."""
        async with self._condition:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._condition.wait(), timeout_s)
