"""Running vectors against this repository's core: each `run_*` takes a vector's `input` and
returns what the core answers, in the vector's `expected` form; `mismatches` compares a whole
vector file. Another implementation does the same with its own code."""

from __future__ import annotations

import hashlib
from typing import Any

from core import envelope, receipts
from core.directory import verify_directory
from core.envelope import Limits
from core.errors import InvalidArgument, SwnodeError
from core.grpc_status import TABLE
from core.invitation import Invitation
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

Json = dict[str, Any]


def refusal(error: SwnodeError) -> Json:
    """What a refusal looks like on the wire: reason, gRPC code, retryable (§5.2, §6.1)."""
    code = TABLE[error.kind].value[0]
    out: Json = {"reason": error.reason, "code": code, "retryable": code == 14}
    if error.field:
        out["field"] = error.field
    return out


def _directory(hex_signed: str) -> dpb.Directory:
    return dpb.Directory.FromString(
        dpb.SignedDirectory.FromString(bytes.fromhex(hex_signed)).directory
    )


def trust_view(receiver: str, names: list[str], directories: dict[str, str]) -> TrustView:
    """`receiver`'s view: the directory of its federation as its own, the others as foreign."""
    held = [_directory(directories[n]) for n in names]
    own = next(d for d in held if d.federation == receiver.split("-")[0])
    return TrustView.build(receiver, own, {d.federation: d for d in held if d is not own})


def run_envelope(given: Json, directories: dict[str, str]) -> Json:
    trust = trust_view(given["receiver"], given["directories"], directories)
    try:
        parsed = envelope.parse_envelope(bytes.fromhex(given["envelope"]))
        accepted = envelope.verify(
            parsed,
            trust=trust,
            self_id=given["receiver"],
            previous_hop=given["previous_hop"],
            now_ms=given["now_unix_ms"],
            limits=Limits(given["max_message_bytes"], given["clock_skew_ms"]),
        )
    except SwnodeError as exc:
        return refusal(exc)
    return {"accepted": True, "header_sha256": accepted.header_sha256.hex()}


def run_receipt(given: Json, directories: dict[str, str]) -> Json:
    trust = trust_view("CN", ["CN"], directories)
    try:
        body = receipts.verify(
            pb.Receipt.FromString(bytes.fromhex(given["receipt"])), trust.signing_key
        )
        receipts.check_for(
            body,
            message_id=given["message_id"],
            header_sha256=bytes.fromhex(given["header_sha256"]),
            issuer=given["expected_issuer"],
        )
    except SwnodeError as exc:
        return refusal(exc)
    return {"accepted": True, "kind": pb.ReceiptKind.Name(body.kind)}


def run_directory(given: Json) -> Json:
    ca = given["ca_certificate"]
    try:
        directory = verify_directory(
            dpb.SignedDirectory.FromString(bytes.fromhex(given["signed_directory"])),
            directory_key=bytes.fromhex(given["directory_key"]),
            federation=given["federation"],
            held_version=given["held_version"],
            ca_certificate=bytes.fromhex(ca) if ca is not None else None,
        )
    except SwnodeError as exc:
        return refusal(exc)
    return {"accepted": True, "version": directory.version}


def run_invitation(text: str) -> Json:
    try:
        invitation = Invitation.parse(text)
    except SwnodeError as exc:
        return refusal(exc)
    return {
        "accepted": True,
        "node_id": invitation.node_id,
        "secret_sha256": hashlib.sha256(invitation.secret).hexdigest(),
    }


def run_peer(given: Json, directories: dict[str, str]) -> Json:
    trust = trust_view(given["receiver"], given["directories"], directories)
    try:
        node = trust.authenticate_neighbour(
            bytes.fromhex(given["client_certificate"]), given["now_unix_ms"]
        )
    except SwnodeError as exc:
        return refusal(exc)
    return {"accepted": True, "node_id": node.id}


def run_csr(node_id: str, der: bytes) -> Json:
    """The central's checks of a CSR (§1.5 steps 3 and 7), with a throwaway CA: only the
    refusal, or that a certificate was issued, is compared."""
    from cryptography import x509

    from conformance.certificates import ca, tls_key
    from identity.ca import issue_certificate

    try:
        try:
            request = x509.load_der_x509_csr(der)
        except ValueError as exc:
            raise InvalidArgument(
                "enrol.bad_csr", "csr: not a DER PKCS#10 request", field="csr"
            ) from exc
        issue_certificate(
            ca_key=tls_key("CN/ca"), ca_cert=ca("CN"), csr=request, node_id=node_id, now_ms=0
        )
    except SwnodeError as exc:
        return refusal(exc)
    return {"accepted": True}


def mismatches(name: str, data: Json) -> list[str]:
    """Cases of a refusal vector file whose expected output the core does not reproduce, or
    whose name does not begin with the reason it expects."""
    wrong = []
    for case_name, case in data.get("cases", {}).items():
        given, expected = case["input"], case["expected"]
        if name == "envelope_refusals.json":
            got = run_envelope(given, data["directories"])
        elif name == "receipt_refusals.json":
            got = run_receipt(given, data["directories"])
        elif name == "directory_refusals.json":
            got = run_directory(given)
        elif name == "peer_refusals.json":
            got = run_peer(given, data["directories"])
        elif name == "csr_refusals.json":
            got = run_csr(given["node_id"], bytes.fromhex(given["csr"]))
        elif name == "invitation_refusals.json":
            got = run_invitation(given["invitation"])
        else:
            continue
        if got != expected:
            wrong.append(f"{name}: {case_name}: expected {expected}, got {got}")
        if case_name.split(" ")[0] != expected.get("reason", "accepted"):
            wrong.append(f"{name}: {case_name}: names another outcome than {expected}")
    return wrong
