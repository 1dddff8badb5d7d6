"""Whether this node can serve, and its figures: the storage answers and the directory is
current. Told three ways at once — the gRPC health service of both ports, the ops port's
/healthz (with /status and the JWKS beside it), and the Prometheus gauges — refreshed at the
directory's poll interval (at most `MAX_TICK_S` apart), at once when the directory, the TLS
certificate in use or keys/ca.crt changes (`wake`), and when the held directory expires; the
outbox backlog by peer and status only after the outbox has moved (`outbox_moved`), so that an
idle node asks its database nothing but the storage check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from core import directory as dirs
from core.expiry import expiries
from core.trust import TrustView
from federation.reachability import Reachability
from identity.keys import NodeKeys
from node.metrics import Metrics
from node.servers.ops import OpsServer
from node.servers.ports import SERVICE_NAMES
from node.servers.status_document import iso, tls_in_use
from storage.database import Database

__all__ = ["Health"]

log = logging.getLogger("swnode.node")

MAX_TICK_S = 10.0


class Health:
    def __init__(
        self,
        *,
        db: Database,
        trust: Callable[[], TrustView],
        reachability: Reachability,
        clock_ms: Callable[[], int],
        metrics: Metrics,
        servicer: HealthServicer,
        ops: OpsServer,
        jwks: Callable[[], dict[str, Any]],
        status: Callable[[], dict[str, Any]],
        keys: Callable[[], NodeKeys],
    ) -> None:
        self._db = db
        self._trust = trust
        self._reachability = reachability
        self._clock_ms = clock_ms
        self._metrics = metrics
        self._servicer = servicer
        self._ops = ops
        self._jwks = jwks
        self._status = status
        self._keys = keys
        self._outbox_labels: set[tuple[str, str]] = set()
        self.storage_error: str | None = None
        self._wake = asyncio.Event()
        self._outbox_moved = True

    def wake(self) -> None:
        self._wake.set()

    def outbox_moved(self, *_: object) -> None:
        self._outbox_moved = True

    def reasons(self) -> list[str]:
        """Why the node does not serve; empty when it does."""
        reasons = []
        if self.storage_error is not None:
            reasons.append(f"storage unreachable: {self.storage_error}")
        now = self._clock_ms()
        own = self._trust().own
        if own is None:
            reasons.append("no directory held")
        elif not dirs.is_current(own, now):
            reasons.append(
                f"directory v{own.version} expired at {iso(own.expires_at_unix_ms)}; "
                "peer traffic refused until a fresh one arrives"
            )
        return reasons

    async def check_storage(self) -> None:
        try:
            await asyncio.wait_for(self._db.ping(), timeout=2.0)
        except Exception as exc:  # any failure to answer means the node cannot serve
            if self.storage_error is None:
                log.error("storage unreachable: %s", exc)
            self.storage_error = str(exc) or type(exc).__name__
            return
        if self.storage_error is not None:
            log.info("storage reachable again")
        self.storage_error = None

    async def refresh(self) -> None:
        await self.check_storage()
        reasons = self.reasons()
        serving = not reasons
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self._servicer.set(name, status)
        trust = self._trust()
        own = trust.own
        m = self._metrics
        m.healthy.set(1 if serving else 0)
        m.storage_up.set(0 if self.storage_error is not None else 1)
        m.directory_version.set(trust.version)
        m.directory_valid.set(1 if trust.valid(self._clock_ms()) else 0)
        m.directory_expires.set((own.expires_at_unix_ms if own else 0) / 1000)
        now = self._clock_ms()
        keys = self._keys()
        cert, held = tls_in_use(keys)
        for kind, at in expiries(trust, trust.self_id, now, in_use=cert, held=held).items():
            m.key_expiry.labels(kind, trust.self_id).set((at - now) / 1000)
        for name, x509_cert in (("tls", keys.tls_cert), ("ca", keys.ca_cert)):
            if x509_cert is not None:
                expires = x509_cert.not_valid_after_utc.timestamp()
                m.certificate_expires.labels(name).set(expires)
        for fed, d in trust.foreign.items():
            m.foreign_directory_version.labels(fed).set(d.version)
        for peer, state in self._reachability.peers.items():
            m.peer_reachable.labels(peer).set(1 if state.reachable else 0)
        snap = self._ops.snapshot
        snap.jwks = self._jwks()
        snap.status = self._status()
        snap.reasons = reasons
        snap.healthy = serving

    async def run(self, interval_s: float = 1.0) -> None:
        tick_s = min(interval_s, MAX_TICK_S)
        while True:
            self._wake.clear()
            try:
                await self.refresh()
                if self._outbox_moved and self.storage_error is None:
                    self._outbox_moved = False
                    await self.refresh_outbox_metrics()
            except Exception:
                log.exception("health refresh failed")
            wait_s = tick_s
            own = self._trust().own
            if own is not None and dirs.is_current(own, self._clock_ms()):
                wait_s = min(wait_s, (own.expires_at_unix_ms - self._clock_ms()) / 1000 + 0.01)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait_s, 0.01))

    async def refresh_outbox_metrics(self) -> None:
        """The backlog by peer and status; a pair that emptied reads 0 rather than vanishing,
        so that an alert on it resolves."""
        backlog = await self._db.outbox.backlog()
        for peer, status in self._outbox_labels - backlog.keys():
            self._metrics.outbox.labels(peer, status).set(0)
        for (peer, status), n in backlog.items():
            self._metrics.outbox.labels(peer, status).set(n)
        self._outbox_labels |= backlog.keys()
