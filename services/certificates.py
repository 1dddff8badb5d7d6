"""Certificates across the border: certificates of origin and phytosanitary certificates.

Issuing side. When the issuing body (an agency of this node) approves an application, the
certificate is issued in the same transaction: numbered, stored, and sealed in an envelope to the
importing country's window (its central node), which the outbox delivers through this
federation's central. Its status is `pending_delivery` until the end-to-end delivery receipt
comes back (`delivered`), or the outbox gives up (`delivery_failed`). The issuing body may cancel
a certificate or replace it with a corrected one that names the one it supersedes.

Importing side. A certificate arrives as an envelope whose signature chains, through the anchor
this federation pinned, to the issuing node's key; it is checked, stored with the envelope, and
offered to the window's agencies, which accept it, reject it with a reason, or record its use
against an import declaration. Each answer travels back to the issuing node; a cancellation or a
replacement travels the other way. Both ends follow the state machine of
core/certificate_status.py, so both show the same status.

Each job has its module: issuing (services/certificate_issuing.py), receiving
(services/certificate_receiving.py), the importing window's decisions
(services/certificate_decisions.py), the status messages between the windows
(services/certificate_messages.py), and records and reads (services/certificate_records.py). The
checks on what arrives are pure, in core/certificate_checks.py. `Certificates` is all of them,
as the node serves them.
"""

from __future__ import annotations

from services.certificate_decisions import CertificateDecisions
from services.certificate_issuing import CertificateIssuing
from services.certificate_messages import STATUS_TYPE
from services.certificate_receiving import CertificateReceiving

__all__ = ["STATUS_TYPE", "Certificates"]


class Certificates(CertificateIssuing, CertificateReceiving, CertificateDecisions):
    """Issuing, cancelling and replacing at the exporting window; receiving, deciding and
    verifying at the importing one; the status messages between them."""
