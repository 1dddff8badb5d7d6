"""Labels of the codes that pages show (statuses), as messages of the catalogs. A code with no
label here is shown as the code itself."""

from __future__ import annotations

from core.declaration_status import Status

__all__ = ["CERTIFICATE_LABELS", "EVENT_LABELS", "MODE_LABELS", "N_", "STATUS_LABELS"]


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
    "issued": N_("Issued"),  # the first event of a certificate's history
    "pending_delivery": N_("Being delivered"),
    "delivered": N_("Delivered"),
    "delivery_failed": N_("Delivery failed"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
    "used": N_("Used"),
    "replaced": N_("Replaced"),
    "cancelled": N_("Cancelled"),
}

# swf.v1.EventKind: what a logistics operator reports.
EVENT_LABELS: dict[str, str] = {
    "EVENT_KIND_GATE_IN": N_("Gate in"),
    "EVENT_KIND_GATE_OUT": N_("Gate out"),
    "EVENT_KIND_LOADED": N_("Loaded"),
    "EVENT_KIND_DISCHARGED": N_("Discharged"),
    "EVENT_KIND_DEPARTED": N_("Departed"),
    "EVENT_KIND_ARRIVED": N_("Arrived"),
    "EVENT_KIND_TRANSSHIPPED": N_("Transshipped"),
    "EVENT_KIND_CUSTOMS_RELEASED": N_("Released by customs"),
    "EVENT_KIND_INSPECTED": N_("Inspected"),
}

# swf.v1.TransportMode.
MODE_LABELS: dict[str, str] = {
    "TRANSPORT_MODE_SEA": N_("Sea"),
    "TRANSPORT_MODE_AIR": N_("Air"),
    "TRANSPORT_MODE_RAIL": N_("Rail"),
    "TRANSPORT_MODE_ROAD": N_("Road"),
    "TRANSPORT_MODE_MULTIMODAL": N_("Multimodal"),
}
