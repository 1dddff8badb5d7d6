"""Certificates across the border, end to end: CN-GD's issuing bodies, CN's central, SG's window."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import grpc
import pytest

from core.envelope import Draft, Sealed
from core.ids import federation_of
from node.operator.messaging import node_context
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import documents_pb2 as docs
from swf.v1 import envelope_pb2 as epb
from tests.conftest import run_coroutine
from tests.declarations_client import Desk, Office, example, office
from tests.harness import Network, NetworkFactory, NetworkSpec, outcome_of, refusal_of, swnode
from tests.messages import exchange

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

    def found(self, number: str, country: str = "CN") -> cpb.CertificateRecord | None:
        """The certificate, or None while this node holds none visible here by that number."""
        try:
            return self.get(number, country)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None

    def status(self, number: str, country: str = "CN") -> str:
        return self.get(number, country).status

    def verify(self, number: str, country: str = "CN") -> cpb.Verification:
        """Verification by number, as the importing window's agencies ask for it."""
        check: cpb.Verification = self.stub.VerifyCertificate(
            cpb.CertificateRef(number=number, issuing_country=country),
            metadata=self.desk.meta,
            timeout=10,
        )
        return check

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


def issue(
    o: Office, application: str = "certificate_of_origin_application", exporter: Desk | None = None
) -> tuple[Certs, str]:
    """An exporter at CN-GD applies; the simulated issuing body approves; the certificate is
    issued. Returns the exporter's view and the certificate number."""
    exporter = exporter or o.enterprise(EXPORTER, roles=("declarant", "exporter"))
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


def certificate_of_origin(
    node: str, number: str, content: docs.CertificateOfOriginApplication | None = None
) -> cpb.Certificate:
    """A certificate of origin as `node`'s issuing body issues it (services/certificates.py):
    the approved application's content, numbered, addressed to its importing country."""
    origin = (
        content or example("certificate_of_origin_application").certificate_of_origin_application
    )
    return cpb.Certificate(
        number=number,
        kind=cpb.CERTIFICATE_KIND_ORIGIN,
        issuing_country=federation_of(node),
        issuing_node=node,
        issuing_body="ccpit",
        issued_on=datetime.now(tz=UTC).date().isoformat(),
        importing_country=origin.importing_country,
        exporter_uscc=origin.exporter.uscc,
        application_id=str(uuid.uuid4()),
        origin=origin,
    )


def sealed_by(
    net: Network,
    node: str,
    recipient: str,
    certificate: cpb.Certificate,
    document_type: str = "certificate.origin",
) -> Sealed:
    """`certificate` in an envelope signed by `node`'s own outbox, as that node sends it."""

    async def seal() -> Sealed:
        async with node_context(net.dir(node)) as ctx:
            (sealed,) = ctx.outbox().seal(
                [Draft(recipient, document_type, certificate.SerializeToString())],
                int(time.time() * 1000),
            )
            return sealed

    return run_coroutine(seal())


def received_column(net: Network, node: str, number: str, column: str) -> bytes:
    with closing(sqlite3.connect(net.dir(node) / "node.db", timeout=10)) as conn:
        row = conn.execute(
            f"SELECT {column} FROM certificates WHERE number = ? AND side = 'received'",  # noqa: S608
            (number,),
        ).fetchone()
    assert row is not None, f"{node} holds no received certificate {number}"
    return bytes(row[0])


def tamper(net: Network, node: str, number: str, column: str, value: bytes) -> None:
    """Overwrite a received certificate's stored bytes in `node`'s database, as an intruder or a
    faulty disk would."""
    with closing(sqlite3.connect(net.dir(node) / "node.db", timeout=10)) as conn, conn:
        changed = conn.execute(
            f"UPDATE certificates SET {column} = ? WHERE number = ? AND side = 'received'",  # noqa: S608
            (value, number),
        ).rowcount
    assert changed == 1


def next_numbers(ccpit: Certs, count: int) -> list[str]:
    """The next `count` RCEP numbers CN-GD's issuing body will give."""
    prefix = f"RCEP-CN-GD-{datetime.now(tz=UTC).year}-"
    last = max(
        (
            int(c.certificate.number.removeprefix(prefix))
            for c in ccpit.listed()
            if c.certificate.number.startswith(prefix)
        ),
        default=0,
    )
    return [f"{prefix}{last + n:06d}" for n in range(1, count + 1)]


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
        "SG/customs/"
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


def test_verify_by_number_says_not_authentic_when_the_stored_certificate_was_tampered_with(
    world: tuple[Network, Office],
) -> None:
    net, o = world
    exporter, number = issue(o)
    until(lambda: exporter.status(number), lambda s: s == "delivered")
    sg = sg_customs(o)
    assert sg.verify(number).authentic
    envelope = received_column(net, "SG", number, "envelope")
    stored = received_column(net, "SG", number, "certificate")
    invoice = b"PCT-2025-0318"
    assert envelope.count(invoice) == 1 and stored.count(invoice) == 1

    def seen_after(column: str, value: bytes) -> cpb.Verification:
        tamper(net, "SG", number, column, value)
        try:
            return sg.verify(number)
        finally:
            tamper(net, "SG", number, column, envelope if column == "envelope" else stored)

    # One byte of the certificate inside the envelope it came in.
    check = seen_after("envelope", envelope.replace(invoice, b"PCT-2025-0319"))
    assert not check.authentic and check.signed_by == ""
    assert check.reason == "the content does not match what was signed"
    assert check.status == "delivered" and check.key_id.startswith("CN-GD")
    # The certificate the window shows its users, edited beside an intact envelope.
    check = seen_after("certificate", stored.replace(invoice, b"PCT-2025-0319"))
    assert not check.authentic
    assert check.reason == "the stored certificate differs from the one signed"
    assert check.record.certificate.origin.invoice_number == "PCT-2025-0319"
    # One bit of the issuing node's signature.
    forged = epb.Envelope.FromString(envelope)
    forged.signature.signature = bytes([forged.signature.signature[0] ^ 1]) + bytes(
        forged.signature.signature[1:]
    )
    check = seen_after("envelope", forged.SerializeToString())
    assert not check.authentic and check.reason == "the signature does not verify"
    # Put back as it came, it verifies again.
    again = sg.verify(number)
    assert again.authentic and again.signed_by == "CN-GD"


def test_verify_by_number_says_not_authentic_once_the_issuing_node_is_revoked(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=1, foreign=1))
    with office(net) as o:
        exporter, number = issue(o)
        until(lambda: exporter.status(number), lambda s: s == "delivered")
        sg = sg_customs(o)
        assert sg.verify(number).authentic
        done = swnode(
            "revoke", "--dir", str(net.dir("CN")), "--id", "CN-GD", "--reason", "key compromised"
        )
        assert done.returncode == 0, done.stderr
        check = until(lambda: sg.verify(number), lambda c: not c.authentic)
        assert check.reason == "the issuing node CN-GD has been revoked"
        assert check.signed_by == "" and check.status == "delivered"
        assert [e.status for e in check.record.history] == ["delivered"]


def test_an_arriving_certificate_that_fails_its_checks_is_rejected_at_both_ends(
    world: tuple[Network, Office],
) -> None:
    """CN-GD misbehaves: it signs certificates whose content is invalid, or whose kind is not
    the document type it sends them as, under the numbers its issuing body gives next; they
    reach SG before the certificates CN-GD's issuing body then issues under those numbers."""
    net, o = world
    ccpit = Certs(o.agency("CN-GD", "ccpit"))
    invalid_number, mismatched_number = next_numbers(ccpit, 2)
    invalid = example("certificate_of_origin_application").certificate_of_origin_application
    invalid.items[0].hs_code = "8517AB"
    forged = [
        sealed_by(net, "CN-GD", "SG", certificate_of_origin("CN-GD", invalid_number, invalid)),
        sealed_by(
            net,
            "CN-GD",
            "SG",
            certificate_of_origin("CN-GD", mismatched_number),
            "certificate.phytosanitary",
        ),
    ]
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    # With CN down, SG's answers wait in its outbox until CN-GD has issued those numbers.
    net.stop("CN")
    try:
        acks = exchange(
            net, "SG", as_node="CN", frames=[[f.envelope.SerializeToString() for f in forged]]
        )
        assert all(a.HasField("receipt") for a in acks), acks
        mine, first = issue(o, exporter=exporter)
        _, second = issue(o, exporter=exporter)
        assert {first, second} == {invalid_number, mismatched_number}
        assert mine.status(first) == "pending_delivery"
    finally:
        net.start("CN")
        net.wait_healthy(["CN"])
    sg = sg_customs(o)
    why = {
        invalid_number: "items[0].hs_code: Commodity code (HS): '8517AB' is not 6 digits",
        mismatched_number: "the document type does not match the certificate kind",
    }
    for number, reason in why.items():
        at_sg = until(
            partial(sg.found, number), lambda r: r is not None and r.status == "rejected", 60
        )
        assert at_sg is not None
        assert [e.status for e in at_sg.history] == ["delivered", "rejected"]
        assert reason in at_sg.history[-1].note and at_sg.history[-1].node == "SG"
        at_issuer = until(partial(mine.get, number), lambda r: r.status == "rejected", 90)
        assert [e.status for e in at_issuer.history] == ["issued", "delivered", "rejected"]
        assert reason in at_issuer.history[-1].note and at_issuer.history[-1].node == "SG"
        assert ccpit.status(number) == "rejected"
    # What SG holds is what was signed under that number, not the one issued after it.
    assert sg.get(invalid_number).certificate.origin.items[0].hs_code == "8517AB"
    refused = refusal_of(lambda: sg.decide(invalid_number, cpb.CERTIFICATE_DECISION_ACCEPT))
    assert refused.reason == "certificate.bad_transition"


def test_a_certificate_under_another_nodes_number_is_not_kept_and_does_not_block_it(
    world: tuple[Network, Office],
) -> None:
    """CN (a node of the same federation, trusted by SG) sends certificates under the number
    CN-GD's issuing body gives next: one claiming CN-GD issued it, one as its own. SG keeps
    neither, so CN-GD's real certificate under that number arrives and stands."""
    net, o = world
    (number,) = next_numbers(Certs(o.agency("CN-GD", "ccpit")), 1)
    posing = [
        sealed_by(net, "CN", "SG", certificate_of_origin("CN-GD", number)),
        sealed_by(net, "CN", "SG", certificate_of_origin("CN", number)),
    ]
    acks = exchange(
        net, "SG", as_node="CN", frames=[[p.envelope.SerializeToString() for p in posing]]
    )
    assert all(a.HasField("receipt") for a in acks), acks  # received, then judged
    sg = sg_customs(o)
    assert sg.found(number) is None
    mine, issued = issue(o)
    assert issued == number
    at_sg = until(partial(sg.found, number), lambda r: r is not None, 60)
    assert at_sg is not None and at_sg.status == "delivered"
    assert at_sg.certificate.issuing_node == "CN-GD"
    assert sg.verify(number).authentic
    assert until(partial(mine.get, number), lambda r: r.status == "delivered").status == (
        "delivered"
    )


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
    number = f"RCEP-TH-{datetime.now(tz=UTC).year}-000001"
    forged = sealed_by(net, "TH", "SG", certificate_of_origin("TH", number))
    assert forged.header.document_type == "certificate.origin" and forged.header.sender == "TH"
    # CN trusts TH and can reach SG, yet SG does not know TH's key.
    acks = exchange(net, "SG", as_node="CN", frames=[[forged.envelope.SerializeToString()]])
    assert acks[0].refusal.reason == "envelope.unknown_key" and not acks[0].HasField("receipt")
    # And TH cannot even open a connection to SG's peer port.
    refused = net.ping_outcome("SG", as_node="TH")
    assert refused is not None and refused.code == grpc.StatusCode.UNAVAILABLE
    # SG's customs holds no such certificate, and verification by number says so.
    with office(net) as o:
        sg = sg_customs(o)
        assert sg.listed() == []
        check = sg.verify(number, "TH")
        assert (
            not check.authentic
            and check.reason == f"no certificate {number} from TH was received here"
        )
        assert check.signed_by == "" and not check.HasField("record")
        refusal = refusal_of(lambda: sg.get(number, "TH"))
        assert refusal.code == grpc.StatusCode.NOT_FOUND and refusal.reason == "certificate.unknown"


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


def test_a_certificate_issued_before_a_restarted_province_refreshed_its_directory_waits_for_one(
    network_factory: NetworkFactory,
) -> None:
    """CN-GD starts again while CN is down, holding a directory without SG's: the certificate
    it issues is held, not failed as for an untrusted window, and sent once the directory is
    current."""
    net = network_factory(NetworkSpec(provinces=1, foreign=1))
    with office(net) as o:
        exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
        net.stop("CN-GD")
        net.stop("CN")
        with closing(sqlite3.connect(net.dir("CN-GD") / "node.db", timeout=10)) as conn, conn:
            assert conn.execute("DELETE FROM held_directories WHERE federation = 'SG'").rowcount
        net.start("CN-GD")
        try:
            until(lambda: outcome_of(lambda: Certs(exporter).listed()), lambda r: r is None)
            mine, number = issue(o, exporter=exporter)
            time.sleep(2)
            held = mine.get(number)
            assert held.status == "pending_delivery", held
            assert [e.note for e in held.history][-1] == (
                "held until a current directory says whether SG is trusted"
            )
        finally:
            net.start("CN")
        assert until(lambda: mine.status(number), lambda s: s == "delivered", 90) == "delivered"
        assert [c.certificate.number for c in sg_customs(o).listed()].count(number) == 1


def test_a_certificate_for_a_window_a_current_directory_does_not_trust_fails_at_once(
    network_factory: NetworkFactory,
) -> None:
    """CN trusts no other federation: with CN-GD's directory current, the certificate for SG
    is not held but failed, saying why."""
    net = network_factory(NetworkSpec(provinces=1, foreign=0))
    with office(net) as o:
        mine, number = issue(o)
        record = until(lambda: mine.get(number), lambda r: r.status == "delivery_failed", 10)
        assert [e.note for e in record.history][-1] == (
            "SG is not the window of a federation this node trusts"
        )
