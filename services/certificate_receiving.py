"""Receiving certificates, at the importing window.

A certificate arrives as an envelope whose signature chains, through the anchor this federation
pinned, to the issuing node's key; it is checked (core/certificate_checks.py), stored with the
envelope as `delivered`, and offered to the window's agencies. One that fails the checks is
rejected at once and the issuer told; one its sender may not send is not stored at all. A
replacement marks the certificate it supersedes replaced.
"""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError

from core import certificate_status as cs
from core.certificate_checks import kind_name, not_senders, refusals
from core.envelope import Sealed
from federation.dispatch import Received
from services.certificate_messages import CertificateMessages
from services.certificate_records import RECEIVED
from storage.certificates import CertificateRow
from swf.v1 import certificates_pb2 as cpb

__all__ = ["CertificateReceiving"]

log = logging.getLogger("swnode.certificates")


class CertificateReceiving(CertificateMessages):
    """A certificate from another federation's issuing node, checked and kept."""

    async def receive(self, message: Received) -> None:
        """A certificate arrived from another federation's issuing node."""
        try:
            certificate = cpb.Certificate.FromString(message.payload)
        except DecodeError:
            log.warning(
                "a %s from %s does not parse; dropped", message.document_type, message.origin
            )
            return
        not_its_own = not_senders(certificate, message.origin, self.federation)
        if not_its_own:
            await self._refuse_unstored(certificate, message, "; ".join(not_its_own))
            return
        problems = refusals(certificate, message.document_type)
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            stored = await self._db.certificates.insert_txn(
                tx,
                CertificateRow(
                    issuing_country=certificate.issuing_country,
                    number=certificate.number,
                    side=RECEIVED,
                    kind=kind_name(certificate.kind),
                    status=cs.Status.DELIVERED,
                    certificate=message.payload,
                    envelope=message.envelope,
                    exporter_uscc=certificate.exporter_uscc,
                    issuing_body=certificate.issuing_body,
                    importing_country=certificate.importing_country,
                    message_id=message.message_id,
                    replaced_by="",
                    import_declaration="",
                ),
                now_ms,
            )
            if not stored:
                return  # the same number again: the first one stands
            await self._db.certificates.add_event_txn(
                tx,
                certificate.issuing_country,
                certificate.number,
                RECEIVED,
                status=cs.Status.DELIVERED,
                actor=certificate.issuing_body,
                node=message.origin,
                note=f"signed by {message.origin}",
                at_ms=now_ms,
            )
            sealed: list[Sealed] = []
            if problems:
                row = await self._db.certificates.lock_txn(
                    tx, certificate.issuing_country, certificate.number, RECEIVED
                )
                assert row is not None
                reason = "; ".join(problems)
                await self._move_txn(
                    tx, row, "reject", actor="node", node=self.node_id, note=reason, now_ms=now_ms
                )
                sealed = await self._tell_txn(
                    tx, message.origin, row, cs.Status.REJECTED, "node", reason
                )
            if certificate.supersedes:
                old = await self._db.certificates.lock_txn(
                    tx, certificate.issuing_country, certificate.supersedes, RECEIVED
                )
                if old is not None and old.status not in (
                    cs.Status.REPLACED,
                    cs.Status.CANCELLED,
                    cs.Status.USED,
                ):
                    await self._move_txn(
                        tx,
                        old,
                        "replace",
                        actor=certificate.issuing_body,
                        node=message.origin,
                        note=f"replaced by {certificate.number}",
                        now_ms=now_ms,
                        replaced_by=certificate.number,
                    )
        self._outbox.wake(sealed)

    async def _refuse_unstored(
        self, certificate: cpb.Certificate, message: Received, reason: str
    ) -> None:
        """Tell the sender its certificate was rejected, keeping nothing of it but a log line."""
        log.warning(
            "certificate %r from %s rejected and not stored: %s",
            certificate.number,
            message.origin,
            reason,
        )
        async with self._db.transaction() as tx:
            sealed = await self._tell_txn(
                tx, message.origin, certificate, cs.Status.REJECTED, "node", reason
            )
        self._outbox.wake(sealed)
