"""The task supervisor: failures logged once with context, loops restarted with a bounded
backoff, everything cancelled and awaited on close, and no exception left unseen."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from core.backoff import Backoff
from federation.tasks import Tasks

UNSEEN = "never retrieved"


class FakeSleep:
    """Records each wait instead of waiting (a zero-length sleep keeps the loop turning)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def test_an_exception_is_logged_once_with_the_tasks_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async with Tasks("delivery to CN-SH") as tasks:
        task = tasks.start("read-acks", fails())
        await asyncio.wait({task})
    del task
    gc.collect()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["delivery to CN-SH/read-acks failed"]
    assert errors[0].exc_info is not None and "boom" in str(errors[0].exc_info[1])
    assert UNSEEN not in caplog.text


async def test_an_awaited_tasks_exception_is_left_to_its_owner(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise ConnectionError("stream ended")

    async with Tasks("session") as tasks:
        # Started and never read, as a write is when the reader already said why a stream ended.
        await asyncio.wait({tasks.start("write", fails(), awaited=True)})
    gc.collect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_failing_loop_is_restarted_with_a_growing_bounded_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = FakeSleep()
    runs = 0
    stop = asyncio.Event()

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs < 6:
            raise RuntimeError(f"failure {runs}")
        await stop.wait()

    tasks = Tasks("node CN-GD", backoff=Backoff(base_s=1, cap_s=4), rand=lambda: 0.999, sleep=sleep)
    tasks.supervise("delivery", loop)
    for _ in range(100):
        if runs == 6:
            break
        await asyncio.sleep(0)
    assert runs == 6
    assert [round(w) for w in sleep.waits] == [1, 2, 4, 4, 4]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 5
    assert all("node CN-GD/delivery failed" in r.getMessage() for r in failures)
    await tasks.close()
    assert len(tasks) == 0


async def test_close_cancels_and_waits_for_every_task() -> None:
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits
            cleaned.append(name)

    tasks = Tasks("node CN-GD")
    tasks.supervise("sync", lambda: forever("sync"))
    tasks.start("probe", forever("probe"))
    await asyncio.sleep(0)
    assert len(tasks) == 2
    await tasks.close()
    assert sorted(cleaned) == ["probe", "sync"]
    assert len(tasks) == 0 and tasks.closed
    with pytest.raises(RuntimeError):
        tasks.start("late", forever("late"))
