"""Certificates across the border, end to end: CN-GD's issuing bodies, CN's central, SG's window."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import grpc
import pytest

from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from tests.declarations_client import Desk, Office, example, office
from tests.harness import Network, NetworkFactory, NetworkSpec, refusal_of, swnode
from tests.messages import exchange, seal_as

pytestmark = pytest.mark.network

T = TypeVar("T")
EXPORTER = "91440300MA5G1234XY"


def until(what: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 30) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = what()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout_s}s: {value}"
        time.sleep(0.2)


class Certs:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.stub = cgrpc.CertificatesStub(desk.network.client_channel(desk.at))

    def listed(self) -> list[cpb.CertificateRecord]:
        got = self.stub.ListCertificates(
            cpb.ListCertificatesRequest(), metadata=self.desk.meta, timeout=10
        )
        return list(got.certificates)

    def get(self, number: str, country: str = "CN") -> cpb.CertificateRecord:
        record: cpb.CertificateRecord = self.stub.GetCertificate(
            cpb.CertificateRef(number=number, issuing_country=country),
            metadata=self.desk.meta,
            timeout=10,
        )
        return record

    def status(self, number: str, country: str = "CN") -> str:
        return self.get(number, country).status

    def decide(
        self,
        number: str,
        decision: cpb.CertificateDecision.ValueType,
        *,
        reason: str = "",
        used_for: str = "",
    ) -> cpb.CertificateRecord:
        record: cpb.CertificateRecord = self.stub.DecideCertificate(
            cpb.DecideCertificateRequest(
                certificate=cpb.CertificateRef(number=number, issuing_country="CN"),
                decision=decision,
                reason=reason,
                import_declaration=used_for,
            ),
            metadata=self.desk.meta,
            timeout=10,
        )
        return record


@pytest.fixture(scope="module")
def world(module_network_factory: NetworkFactory) -> Iterator[tuple[Network, Office]]:
    net = module_network_factory(NetworkSpec(provinces=1, foreign=1))
    with office(net) as o:
        yield net, o


def issue(o: Office, application: str = "certificate_of_origin_application") -> tuple[Certs, str]:
    """An exporter at CN-GD applies; the simulated issuing body approves; the certificate is
    issued. Returns the exporter's view and the certificate number."""
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    applied = exporter.submit(example(application))
    exporter.wait_status(applied.id, "approved")
    mine = Certs(exporter)
    record = until(
        lambda: next(
            (c for c in mine.listed() if c.certificate.application_id == applied.id), None
        ),
        lambda c: c is not None,
    )
    assert record is not None
    return mine, record.certificate.number


def sg_customs(o: Office) -> Certs:
    return Certs(o.agency("SG", "customs"))


def test_issued_delivered_accepted_and_used_with_the_status_at_both_ends(
    world: tuple[Network, Office],
) -> None:
    _, o = world
    exporter, number = issue(o)
    assert number.startswith("RCEP-CN-GD-")
    assert until(lambda: exporter.status(number), lambda s: s == "delivered") == "delivered"
    sg = sg_customs(o)
    received = sg.get(number)
    assert received.side == "received" and received.status == "delivered"
    assert received.certificate.origin.importer.country == "SG"
    check = sg.stub.VerifyCertificate(
        cpb.CertificateRef(number=number, issuing_country="CN"), metadata=sg.desk.meta, timeout=10
    )
    assert check.authentic and check.signed_by == "CN-GD" and check.status == "delivered"
    assert sg.decide(number, cpb.CERTIFICATE_DECISION_ACCEPT).status == "accepted"
    assert until(lambda: exporter.status(number), lambda s: s == "accepted") == "accepted"
    assert sg.decide(number, cpb.CERTIFICATE_DECISION_USE, used_for="SG-IMP-1").status == "used"
    issuer_side = until(lambda: exporter.get(number), lambda r: r.status == "used")
    assert issuer_side.import_declaration == "SG-IMP-1"
    assert [e.status for e in issuer_side.history] == ["issued", "delivered", "accepted", "used"]
    assert issuer_side.history[-1].node == "SG" and issuer_side.history[-1].actor.startswith(
        "customs/"
    )
    # The issuing body sees it too; SG's full history is there as well.
    ccpit = Certs(o.agency("CN-GD", "ccpit"))
    assert ccpit.status(number) == "used"
    assert [e.status for e in sg.get(number).history] == ["delivered", "accepted", "used"]


def test_a_rejection_travels_back_with_its_reason(world: tuple[Network, Office]) -> None:
    _, o = world
    exporter, number = issue(o)
    until(lambda: exporter.status(number), lambda s: s == "delivered")
    sg = sg_customs(o)
    refused = refusal_of(lambda: sg.decide(number, cpb.CERTIFICATE_DECISION_REJECT))
    assert refused.reason == "certificate.reason_required"
    sg.decide(
        number, cpb.CERTIFICATE_DECISION_REJECT, reason="the HS code does not match the invoice"
    )
    back = until(lambda: exporter.get(number), lambda r: r.status == "rejected")
    assert back.history[-1].note == "the HS code does not match the invoice"


def test_a_replaced_certificate_cannot_be_used_and_its_replacement_can(
    world: tuple[Network, Office],
) -> None:
    _, o = world
    exporter, old = issue(o)
    until(lambda: exporter.status(old), lambda s: s == "delivered")
    ccpit = Certs(o.agency("CN-GD", "ccpit"))
    corrected = example("certificate_of_origin_application").certificate_of_origin_application
    corrected.invoice_number = "INV-2026-CORRECTED"
    new = ccpit.stub.ReplaceCertificate(
        cpb.ReplaceCertificateRequest(number=old, origin=corrected, reason="wrong invoice number"),
        metadata=ccpit.desk.meta,
        timeout=10,
    )
    assert new.certificate.supersedes == old and new.certificate.number != old
    assert (
        ccpit.get(old).status == "replaced" and ccpit.get(old).replaced_by == new.certificate.number
    )
    sg = sg_customs(o)
    until(lambda: sg.status(old), lambda s: s == "replaced")
    refused = refusal_of(lambda: sg.decide(old, cpb.CERTIFICATE_DECISION_USE, used_for="SG-IMP-2"))
    assert (
        refused.code == grpc.StatusCode.FAILED_PRECONDITION
        and refused.reason == "certificate.not_usable"
    )
    replacement = until(lambda: sg.get(new.certificate.number), lambda r: r.status == "delivered")
    assert replacement.certificate.origin.invoice_number == "INV-2026-CORRECTED"
    assert (
        sg.decide(new.certificate.number, cpb.CERTIFICATE_DECISION_USE, used_for="SG-IMP-2").status
        == "used"
    )


def test_a_cancelled_certificate_cannot_be_used(world: tuple[Network, Office]) -> None:
    _, o = world
    exporter, number = issue(o)
    until(lambda: exporter.status(number), lambda s: s == "delivered")
    ccpit = Certs(o.agency("CN-GD", "ccpit"))
    cancelled = ccpit.stub.CancelCertificate(
        cpb.CancelCertificateRequest(number=number, reason="shipment cancelled"),
        metadata=ccpit.desk.meta,
        timeout=10,
    )
    assert cancelled.status == "cancelled"
    sg = sg_customs(o)
    until(lambda: sg.status(number), lambda s: s == "cancelled")
    refused = refusal_of(lambda: sg.decide(number, cpb.CERTIFICATE_DECISION_ACCEPT))
    assert refused.reason == "certificate.not_usable"
    # The exporter sees the cancellation; nobody else's certificates.
    assert exporter.status(number) == "cancelled"


def test_verify_by_number_says_when_a_certificate_is_unknown(world: tuple[Network, Office]) -> None:
    _, o = world
    sg = sg_customs(o)
    check = sg.stub.VerifyCertificate(
        cpb.CertificateRef(number="RCEP-CN-GD-2026-999999", issuing_country="CN"),
        metadata=sg.desk.meta,
        timeout=10,
    )
    assert not check.authentic and "no certificate" in check.reason
    # An enterprise at the importing window is not an authority that verifies.
    trader = o.enterprise("91310115MA1K4B2C3J", home="CN-GD", roles=("importer",))
    refused = refusal_of(
        lambda: cgrpc.CertificatesStub(trader.network.client_channel("CN-GD")).VerifyCertificate(
            cpb.CertificateRef(number="x", issuing_country="CN"), metadata=trader.meta, timeout=10
        )
    )
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_phytosanitary_certificate_follows_the_same_path(world: tuple[Network, Office]) -> None:
    _, o = world
    exporter, number = issue(o, "phytosanitary_certificate_application")
    assert number.startswith("EPHYTO-CN-GD-")
    until(lambda: exporter.status(number), lambda s: s == "delivered")
    sg = sg_customs(o)
    received = sg.get(number)
    assert received.certificate.kind == cpb.CERTIFICATE_KIND_PHYTOSANITARY
    assert received.certificate.phytosanitary.items[0].botanical_name == "Litchi chinensis"
    assert sg.decide(number, cpb.CERTIFICATE_DECISION_ACCEPT).status == "accepted"
    assert until(lambda: exporter.status(number), lambda s: s == "accepted") == "accepted"


def test_a_federation_sg_does_not_trust_cannot_have_its_certificate_accepted(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(
        NetworkSpec(provinces=0, foreign=2, simulator=False)
    )  # SG and TH trust CN only
    (forged,) = seal_as(net, "TH", "SG", [b"a certificate signed in TH"])
    # CN trusts TH and can reach SG, yet SG does not know TH's key.
    acks = exchange(net, "SG", as_node="CN", frames=[[forged.SerializeToString()]])
    assert acks[0].refusal.reason == "envelope.unknown_key"
    # And TH cannot even open a connection to SG's peer port.
    refused = net.ping_outcome("SG", as_node="TH")
    assert refused is not None and refused.code == grpc.StatusCode.UNAVAILABLE


def test_the_window_down_while_a_certificate_is_sent_gets_it_once_when_back(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=1, foreign=1))
    with office(net) as o:
        net.stop("SG")
        try:
            exporter, number = issue(o)
            time.sleep(2)
            assert exporter.status(number) == "pending_delivery"
        finally:
            net.start("SG")
            net.wait_healthy(["SG"])
        assert until(lambda: exporter.status(number), lambda s: s == "delivered", 60) == "delivered"
        sg = sg_customs(o)
        assert sg.status(number) == "delivered"
        received = [c for c in sg.listed() if c.certificate.number == number]
        assert len(received) == 1


def test_the_command_line_shows_verifies_and_decides(world: tuple[Network, Office]) -> None:
    net, o = world
    exporter, number = issue(o)
    until(lambda: exporter.status(number), lambda s: s == "delivered")
    sg = sg_customs(o)
    base = ("client", "--devnet", str(net.root), "--at", "SG", "certificate")
    verified = swnode(
        *base, "verify", "--token", sg.desk.token, "--number", number, "--country", "CN"
    )
    assert verified.returncode == 0 and verified.stdout.startswith("AUTHENTIC"), verified.stderr
    decided = swnode(
        *base,
        "decide",
        "--token",
        sg.desk.token,
        "--number",
        number,
        "--country",
        "CN",
        "--decision",
        "use",
        "--import-declaration",
        "SG-IMP-CLI",
        "--json",
    )
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["status"] == "used"
    unknown = swnode(
        *base, "verify", "--token", sg.desk.token, "--number", "NOPE", "--country", "CN"
    )
    assert unknown.returncode == 2 and unknown.stdout.startswith("NOT AUTHENTIC")
    shown = swnode(
        "client",
        "--devnet",
        str(net.root),
        "--at",
        "CN-GD",
        "certificate",
        "show",
        "--token",
        exporter.desk.token,
        "--number",
        number,
    )
    assert shown.returncode == 0 and "used" in shown.stdout and "SG-IMP-CLI" in shown.stdout
