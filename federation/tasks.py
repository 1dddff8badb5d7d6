"""Every asyncio task a node starts belongs to a `Tasks` group, which keeps a reference to it,
makes sure its exception is seen, and ends it.

- `start`: a task that runs once. If the code that started it reads its outcome (`awaited=True`:
  a stream's reader, a pending write), the group only makes sure the outcome counts as read, so
  a failure that the owner reported another way (the stream broke, and the reader says why) is
  not logged a second time by asyncio as "Task exception was never retrieved". Otherwise an
  exception it ends with is logged once, at ERROR, with the group's and the task's names.
- `supervise`: a loop meant to run until shutdown (directory sync, delivery, a peer's queue).
  When it raises, the exception is logged once with its traceback and the loop is started again
  after a delay that doubles with each failure in a row up to a cap (core.backoff); a run that
  lasted longer than the cap counts as a fresh start.
- `close` (or leaving `async with`): cancels every task still running and waits for all of them,
  so nothing outlives its owner and nothing is left for the garbage collector to complain about.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from core.backoff import Backoff

__all__ = ["RESTART_BACKOFF", "Tasks"]

T = TypeVar("T")

log = logging.getLogger("swnode.tasks")

RESTART_BACKOFF = Backoff(base_s=1.0, cap_s=30.0)


class Tasks:
    def __init__(
        self,
        owner: str,
        *,
        backoff: Backoff = RESTART_BACKOFF,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = lambda: asyncio.get_running_loop().time(),
    ) -> None:
        self.owner = owner
        self._backoff = backoff
        self._rand = rand
        self._sleep = sleep
        self._clock = clock
        self._running: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._running)

    @property
    def closed(self) -> bool:
        return self._closed

    def start(
        self, name: str, coro: Coroutine[Any, Any, T], *, awaited: bool = False
    ) -> asyncio.Task[T]:
        """Run `coro` as a task of this group; see the module docstring for `awaited`."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"{self.owner}: tasks are closed; not starting {name}")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}/{name}")
        self._running.add(task)
        task.add_done_callback(self._awaited_done if awaited else self._done)
        return task

    def _awaited_done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # its owner reads the outcome; mark it seen

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s failed", task.get_name(), exc_info=exc)

    def supervise(
        self, name: str, run: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Keep `run()` running until the group closes, restarting it when it fails."""
        return self.start(name, self._keep(f"{self.owner}/{name}", run))

    async def _keep(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        failures = 0
        while True:
            started = self._clock()
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._clock() - started > self._backoff.cap_s:
                    failures = 0
                failures += 1
                delay_s = self._backoff.delay_s(failures, self._rand())
                log.exception(
                    "%s failed (%d in a row); restarting in %.1fs", name, failures, delay_s
                )
            else:
                failures = 0
                delay_s = self._backoff.delay_s(1, self._rand())
                log.warning("%s returned; a loop should not: restarting in %.1fs", name, delay_s)
            await self._sleep(delay_s)

    async def close(self) -> None:
        """Cancel every task still running and wait until each has ended."""
        self._closed = True
        while self._running:
            pending = list(self._running)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self._running.difference_update(pending)

    async def __aenter__(self) -> Tasks:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
