"""The node's upkeep loops beside delivery and dispatch: certificates reconciled, and
revocations and pending registrations kept current. Each survives its own failures (logged) and
runs until cancelled, under the node's task supervisor (federation/tasks.py)."""

from __future__ import annotations

import asyncio
import logging

from identity.accounts import Accounts
from services.certificates import Certificates

__all__ = ["certificates_loop", "identity_loop"]

log = logging.getLogger("swnode.node")


async def certificates_loop(certificates: Certificates) -> None:
    while True:
        try:
            await certificates.reconcile()
        except Exception:
            log.exception("certificate upkeep failed")
        await asyncio.sleep(1.0)


async def identity_loop(accounts: Accounts, poll_interval_s: float) -> None:
    """Keep revocations current (other replicas record some) and settle pending
    registrations once the central node answers; forget attempts out of every window."""
    last_retry = 0.0
    while True:
        try:
            await accounts.revocations.load()
            now = asyncio.get_running_loop().time()
            if now - last_retry >= poll_interval_s:
                last_retry = now
                await accounts.registrations.retry_pending()
                await accounts.forget_old_attempts()
        except Exception:
            log.exception("identity upkeep failed")
        await asyncio.sleep(1.0)
