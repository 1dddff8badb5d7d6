"""The node's upkeep loops beside delivery and dispatch: certificates reconciled, and
revocations and pending registrations kept current. Each survives its own failures (logged) and
runs until cancelled, under the node's task supervisor (federation/tasks.py).

Neither runs on a short timer: certificates are reconciled when the outbox settles a message
(`wake`), and identity upkeep runs at the directory's poll interval. Both also sweep at that
interval, for what other replicas changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from federation.directory_sync import DirectorySync
from identity.accounts import Accounts
from services.certificates import Certificates

__all__ = ["certificates_loop", "directory_current", "identity_loop"]

log = logging.getLogger("swnode.node")


def directory_current(
    sync: DirectorySync, poll_interval_s: float, clock_ms: Callable[[], int]
) -> Callable[[], bool]:
    """Whether the node's directory is current: refreshed since the node started, and not a
    poll late (two intervals). Only such a directory may judge a window untrusted; till then
    a certificate for it is held (services/certificate_issuing.py)."""

    def current() -> bool:
        last = sync.last_success_ms
        return last is not None and clock_ms() - last <= 2 * poll_interval_s * 1000

    return current


async def certificates_loop(
    certificates: Certificates, wake: asyncio.Event, interval_s: float
) -> None:
    while True:
        wake.clear()
        try:
            await certificates.reconcile()
        except Exception:
            log.exception("certificate upkeep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval_s)


async def identity_loop(
    accounts: Accounts, poll_interval_s: float, revoked: asyncio.Event | None = None
) -> None:
    """Keep revocations current (other replicas record some: on PostgreSQL their NOTIFY sets
    `revoked`, and they are re-read at once) and settle pending registrations once the central
    node answers; forget attempts out of every window."""
    revoked = revoked or asyncio.Event()
    while True:
        revoked.clear()
        try:
            await accounts.revocations.load()
            await accounts.registrations.retry_pending()
            await accounts.forget_old_attempts()
        except Exception:
            log.exception("identity upkeep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(revoked.wait(), poll_interval_s)
