"""The certificate status messages between the two windows, and what both ends share.

Each decision at one end (accepted, rejected, used at the importing window; cancelled or
replaced at the issuer) travels to the other as a signed `certificate.status` message
(`STATUS_TYPE`); `on_status` applies one, catching up on a delivery this end has not yet heard
of, and only from the node that may speak for the other end. `CertificateMessages` holds what
issuing (services/certificate_issuing.py), receiving (services/certificate_receiving.py) and the
importing window's decisions (services/certificate_decisions.py) seal and send with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from google.protobuf.message import DecodeError

from core import certificate_status as cs
from core.envelope import Draft, Sealed
from core.errors import FailedPrecondition
from core.ids import federation_of
from core.trust import TrustView
from federation.dispatch import Received
from federation.outbox import Outbox
from services.certificate_records import ISSUED, RECEIVED, CertificateRecords
from storage.certificates import CertificateRow
from storage.database import Database
from storage.engine import Tx
from swf.v1 import certificates_pb2 as cpb

__all__ = ["STATUS_TYPE", "CertificateMessages"]

log = logging.getLogger("swnode.certificates")

STATUS_TYPE = "certificate.status"


class CertificateMessages(CertificateRecords):
    """Records, plus the outbox, trust and clock that every certificate message needs."""

    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        outbox: Outbox,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        directory_current: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(node_id=node_id, db=db)
        self._outbox = outbox
        self._trust = trust
        self._clock_ms = clock_ms
        # Whether the directory was refreshed lately: only such a one may judge a window
        # untrusted (services/certificate_issuing.py holds a certificate until then).
        self._directory_current = directory_current
        # Queued inside another service's transaction (an approval): woken once it commits.
        self._queued: list[Sealed] = []

    def wake_queued(self) -> None:
        """Hand what was queued in a committed transaction to delivery (the declarations'
        change signal calls it after each commit; waking for a rolled-back one is harmless)."""
        if self._queued:
            queued, self._queued = self._queued, []
            self._outbox.wake(queued)

    def _seal(self, recipient: str, document_type: str, payload: bytes) -> Sealed:
        (sealed,) = self._outbox.seal([Draft(recipient, document_type, payload)], self._clock_ms())
        return sealed

    async def _tell_txn(
        self,
        tx: Tx,
        recipient: str,
        row: CertificateRow | cpb.Certificate,
        status: str,
        actor: str,
        reason: str,
        import_declaration: str = "",
    ) -> list[Sealed]:
        trust = self._trust()
        if trust.node(recipient) is None or not trust.is_active(recipient):
            log.warning(
                "cannot tell %s that %s is %s: not reachable", recipient, row.number, status
            )
            return []
        update = cpb.CertificateStatusUpdate(
            number=row.number,
            issuing_country=row.issuing_country,
            status=status,
            reason=reason,
            actor=actor,
            import_declaration=import_declaration,
            at_unix_ms=self._clock_ms(),
        )
        sealed = self._seal(recipient, STATUS_TYPE, update.SerializeToString())
        await self._outbox.queue_txn(tx, [sealed], self._clock_ms())
        return [sealed]

    async def on_status(self, message: Received) -> None:
        """A status change from the other end of a certificate."""
        try:
            update = cpb.CertificateStatusUpdate.FromString(message.payload)
            reported = cs.Status(update.status)
        except (DecodeError, ValueError):
            log.warning("a certificate status from %s does not parse; dropped", message.origin)
            return
        side = ISSUED if update.issuing_country == self.federation else RECEIVED
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            row = await self._db.certificates.lock_txn(
                tx, update.issuing_country, update.number, side
            )
            if row is None:
                log.warning(
                    "status of unknown certificate %s from %s", update.number, message.origin
                )
                return
            allowed = (
                federation_of(message.origin) == row.importing_country
                if side == ISSUED
                else message.origin == cpb.Certificate.FromString(row.certificate).issuing_node
            )
            if not allowed:
                log.warning("%s may not change certificate %s; ignored", message.origin, row.number)
                return
            for transition in cs.catch_up(cs.Status(row.status), reported):
                try:
                    cs.apply(cs.Status(row.status), transition)
                except FailedPrecondition as exc:
                    log.warning(
                        "certificate %s: %s from %s ignored: %s",
                        row.number,
                        transition,
                        message.origin,
                        exc,
                    )
                    return
                await self._move_txn(
                    tx,
                    row,
                    transition,
                    actor=update.actor,
                    node=message.origin,
                    note=update.reason
                    or (
                        f"against {update.import_declaration}" if update.import_declaration else ""
                    ),
                    now_ms=now_ms,
                    import_declaration=update.import_declaration or None,
                )
                refreshed = await self._db.certificates.lock_txn(
                    tx, row.issuing_country, row.number, side
                )
                assert refreshed is not None
                row = refreshed
