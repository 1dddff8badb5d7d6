"""Labels of the codes that pages show (statuses), as messages of the catalogs. A code with no
label here is shown as the code itself."""

from __future__ import annotations

from core.declaration_status import Status

__all__ = ["CERTIFICATE_LABELS", "N_", "STATUS_LABELS"]


def N_(message: str) -> str:
    """Marks a message for the catalogs; translated where it is shown."""
    return message


STATUS_LABELS: dict[str, str] = {
    Status.SUBMITTED: N_("Submitted"),
    Status.VALIDATED: N_("Validated"),
    Status.UNDER_REVIEW: N_("Under review"),
    Status.NEEDS_INFORMATION: N_("Needs information"),
    Status.INSPECTION: N_("Inspection"),
    Status.AWAITING_PAYMENT: N_("Awaiting payment"),
    Status.CLEARED: N_("Cleared"),
    Status.APPROVED: N_("Approved"),
    Status.REJECTED: N_("Rejected"),
}

# services/certificate_records.py: where a certificate that crosses the border is.
CERTIFICATE_LABELS: dict[str, str] = {
    "pending_delivery": N_("Being delivered"),
    "delivered": N_("Delivered"),
    "delivery_failed": N_("Delivery failed"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
    "used": N_("Used"),
    "replaced": N_("Replaced"),
    "cancelled": N_("Cancelled"),
}
