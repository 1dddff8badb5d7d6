"""Who acts on each document type, who may submit it, and which field names the party whose
document it is. Routing can be changed per node in node.toml ([routing]); the rest is policy."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.message import Message

# Agencies (party ids of kind "agency" at the node) that must act on each document type.
DEFAULT_ROUTES: Mapping[str, tuple[str, ...]] = {
    "goods_declaration": ("customs", "inspection"),
    "conveyance_declaration": ("maritime", "customs", "inspection"),
    "cargo_manifest": ("customs",),
    "licence_application": ("commerce",),
    "certificate_of_origin_application": ("ccpit",),
    "qualification_filing": ("customs",),
    "duty_payment": ("tax",),
    "export_tax_rebate_application": ("tax",),
    "phytosanitary_certificate_application": ("inspection",),
}

# The agencies a test network creates at each province, with their names.
AGENCIES: Mapping[str, str] = {
    "customs": "Customs",
    "inspection": "Border inspection and quarantine",
    "maritime": "Maritime safety administration",
    "tax": "Taxation and treasury",
    "commerce": "Commerce department (licences)",
    "ccpit": "Certificate of origin issuing body (CCPIT)",
}

# A user needs one of these roles to submit the document type.
SUBMIT_ROLES: Mapping[str, tuple[str, ...]] = {
    "goods_declaration": ("declarant", "customs_broker"),
    "conveyance_declaration": ("carrier",),
    "cargo_manifest": ("carrier", "forwarder"),
    "licence_application": ("importer", "exporter", "declarant"),
    "certificate_of_origin_application": ("exporter",),
    "qualification_filing": ("admin",),
    "duty_payment": ("declarant", "customs_broker", "importer", "exporter"),
    "export_tax_rebate_application": ("exporter",),
    "phytosanitary_certificate_application": ("exporter",),
}

# The field (path) holding the USCC of the party that submits the document.
PARTY_FIELD: Mapping[str, str] = {
    "goods_declaration": "declarant_uscc",
    "conveyance_declaration": "carrier_uscc",
    "cargo_manifest": "carrier_uscc",
    "licence_application": "applicant_uscc",
    "certificate_of_origin_application": "exporter.uscc",
    "qualification_filing": "enterprise_uscc",
    "duty_payment": "payer_uscc",
    "export_tax_rebate_application": "exporter_uscc",
    "phytosanitary_certificate_application": "exporter.uscc",
}


def declaring_party(document_type: str, message: Message) -> tuple[str, str]:
    """(field path, value) of the USCC the document is declared for."""
    path = PARTY_FIELD[document_type]
    value: object = message
    for part in path.split("."):
        value = getattr(value, part)
    return path, str(value)
