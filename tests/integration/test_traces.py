"""One declaration's journey is one trace across three nodes: an exporter submits a certificate
of origin application at CN-SH, the issuing body approves it, and the certificate travels to
SG's window through CN — the client's call, the submission, the agency's decision, CN-SH's send,
CN's relay, SG's receipt and its handling are spans of one trace, each the child of the one
before it, and SG's end-to-end delivery receipt comes back to CN-SH in the same trace.

The three nodes run in this process (node.runtime.Node, real gRPC over real TLS, real SQLite,
real signatures; their folders built by the same operator actions as any devnet), each with its
own tracer provider and the SDK's in-memory exporter, so the spans of each node are read as
they were made. Nodes in their own processes cannot share an in-memory exporter; in-process,
each node's spans still carry its own resource (`swnode.node`) and nothing is shared between
nodes but the wire: the trace context can only have crossed in the frames and the metadata.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from stdnum.cn import uscc

from federation.tracing import traceparent_of
from node.config import load_config
from node.devnet.network import Devnet
from node.runtime import Node
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import identity_pb2 as ipb
from tests.conftest import run_coroutine
from tests.declarations_client import Desk, example, office
from tests.harness import Network, NetworkSpec, eventually
from tests.messages import listed

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(240)]

EXPORTER = "91310000MA1FL1234Q"
JOURNEY = ("CN-SH", "CN", "SG")
STARTED = ("CN", "SG", "CN-SH")  # the central first: the others fetch their directories there


class InProcessNodes:
    """`ids` of a devnet folder run as `Node`s on an event loop in a thread of this process,
    each exporting its spans to its own in-memory exporter."""

    def __init__(self, devnet: Devnet, ids: Sequence[str]) -> None:
        self.devnet = devnet
        self.ids = list(ids)
        self.spans = {node_id: InMemorySpanExporter() for node_id in ids}
        self._stop = threading.Event()  # set by the test's thread
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.nodes: list[Node] = []
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        self.nodes = nodes = [
            Node(load_config(self.devnet.node_dir(i)), span_exporter=self.spans[i])
            for i in self.ids
        ]
        try:
            for node in nodes:
                await node.start()
            self._started.set()
            await asyncio.to_thread(self._stop.wait)
        except BaseException as exc:
            self._error = exc
            self._started.set()
        finally:
            for node in reversed(nodes):
                await node.stop(grace_s=1)

    def __enter__(self) -> InProcessNodes:
        self._thread.start()
        assert self._started.wait(60), "the nodes did not start in 60 s"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the nodes did not stop in 30 s"

    def finished(self, node_id: str) -> list[ReadableSpan]:
        """The spans `node_id` has ended, all of them exported (the batch flushed)."""
        for node in self.nodes:
            node.tracing.flush()
        return list(self.spans[node_id].get_finished_spans())


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Network, InProcessNodes]]:
    spec = NetworkSpec(provinces=2, foreign=1)
    devnet = Devnet(Path(tmp_path_factory.mktemp("traced")))
    try:
        run_coroutine(devnet.create(spec.provinces, spec.foreign, spec.settings))
    finally:
        devnet.stop()  # create leaves CN running for the enrolments; it runs here instead
    network = Network(devnet, spec)
    with InProcessNodes(devnet, STARTED) as nodes:
        eventually(lambda: _settled(network), timeout_s=60, interval_s=0.3)
        yield network, nodes


def _settled(network: Network) -> None:
    """Every node serves, holds every directory it trusts, and reaches its neighbours."""
    for node_id in JOURNEY:
        assert network.healthz(node_id)[0] == 200, f"{node_id} does not serve yet"
        status = network.status(node_id)
        directory = status["directory"]
        held = {f for f, d in directory.get("foreign", {}).items() if d["valid"]}
        assert set(directory.get("trusted_federations", [])) <= held, f"{node_id}: {directory}"
        for peer in status["peers"]:
            if peer["id"] in JOURNEY and peer["route"] == "direct":
                assert peer["reachable"], f"{node_id} does not reach {peer['id']} yet"


def by_id(spans: list[ReadableSpan], name: str, **attributes: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.name == name
        and all((s.attributes or {}).get(f"swnode.{k}") == v for k, v in attributes.items())
    ]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_submit_certificate_and_delivery_at_sg_are_one_trace_across_three_nodes(
    journey: tuple[Network, InProcessNodes],
) -> None:
    network, nodes = journey
    client_tracer = TracerProvider()
    client_spans = InMemorySpanExporter()
    client_tracer.add_span_processor(SimpleSpanProcessor(client_spans))
    with office(network) as o:
        exporter = o.enterprise(EXPORTER, home="CN-SH", roles=("declarant", "exporter"))
        application = example("certificate_of_origin_application")
        application.certificate_of_origin_application.exporter.uscc = EXPORTER
        # 1. The trader's client starts the trace and calls CN-SH with its traceparent.
        with client_tracer.get_tracer("trader").start_as_current_span(
            "apply for a certificate of origin", kind=SpanKind.CLIENT
        ) as client_span:
            applied: dpb.Declaration = exporter.declarations.Submit(
                dpb.SubmitRequest(document=application),
                metadata=(*exporter.meta, ("traceparent", traceparent_of(client_span))),
                timeout=30,
            )
        exporter.wait_status(applied.id, "approved", timeout_s=60)
        certificates = eventually(lambda: _delivered(exporter, applied.id), timeout_s=60)
    trace_id = client_span.get_span_context().trace_id
    client_span_id = client_span.get_span_context().span_id
    at = {n: [s for s in nodes.finished(n) if s.context.trace_id == trace_id] for n in JOURNEY}
    for node_id, spans in at.items():
        assert spans, f"{node_id} made no span in the declaration's trace"
        assert {s.resource.attributes["swnode.node"] for s in spans} == {node_id}

    # 2. CN-SH: the Submit call continues the client's span; every decision on the declaration
    #    continues the submission, and the approving one issues the certificate, whose send
    #    span (to CN, the next hop to SG) is the decision's child.
    (submit,) = [s for s in at["CN-SH"] if s.name.endswith("Declarations/Submit")]
    assert parent_of(submit) == client_span_id and submit.kind is SpanKind.SERVER
    decisions = by_id(at["CN-SH"], "swnode.decide", declaration_id=applied.id)
    assert decisions and all(parent_of(d) == submit.context.span_id for d in decisions)
    (sent,) = by_id(at["CN-SH"], "swnode.send", recipient="SG", peer="CN")
    assert parent_of(sent) in {d.context.span_id for d in decisions}
    message_id = str((sent.attributes or {})["swnode.message_id"])
    assert (sent.attributes or {})["swnode.outcome"] == "acknowledged"

    # 3. CN receives it from CN-SH and relays it to SG, in the same trace.
    (relay_in,) = by_id(at["CN"], "swnode.receive", message_id=message_id, previous_hop="CN-SH")
    assert parent_of(relay_in) == sent.context.span_id
    assert (relay_in.attributes or {})["swnode.document_type"] == "certificate.origin"
    (relay_out,) = by_id(at["CN"], "swnode.send", message_id=message_id, peer="SG")
    assert parent_of(relay_out) == relay_in.context.span_id
    assert (relay_out.attributes or {})["swnode.outcome"] == "delivered"

    # 4. SG receives it: the certificate delivered at SG is the last hop of the same trace.
    (delivered,) = by_id(at["SG"], "swnode.receive", message_id=message_id, previous_hop="CN")
    assert parent_of(delivered) == relay_out.context.span_id
    # SG's certificates service takes it in, in the same trace ...
    (handled,) = by_id(at["SG"], "swnode.handle", message_id=message_id)
    assert parent_of(handled) == delivered.context.span_id
    assert (handled.attributes or {})["swnode.document_type"] == "certificate.origin"
    # ... and SG's end-to-end delivery receipt reaches CN-SH through CN in it too.
    (receipt,) = by_id(at["CN-SH"], "swnode.receive", document_type="swnode.delivery-receipt")
    assert (receipt.attributes or {})["swnode.previous_hop"] == "CN"
    assert _descends(receipt, delivered, [*at["SG"], *at["CN"], *at["CN-SH"]])
    assert certificates[0].certificate.application_id == applied.id
    # An operator at any of the three finds the trace from the message: `swnode messages`.
    for node_id in JOURNEY:
        records = [r for r in listed(network.dir(node_id)) if r["message_id"] == message_id]
        assert records and {r["trace_id"] for r in records} == {f"{trace_id:032x}"}, node_id


def _delivered(exporter: Desk, application_id: str) -> list[cpb.CertificateRecord]:
    """The exporter's certificate for `application_id`, once CN-SH holds SG's delivery receipt."""
    with exporter.network.client_channel(exporter.at) as channel:
        listed = cgrpc.CertificatesStub(channel).ListCertificates(
            cpb.ListCertificatesRequest(), metadata=exporter.meta, timeout=10
        )
    mine = [c for c in listed.certificates if c.certificate.application_id == application_id]
    assert mine and mine[0].status == "delivered", [c.status for c in mine]
    return mine


def test_a_registration_forwarded_to_the_national_registry_is_one_trace(
    journey: tuple[Network, InProcessNodes],
) -> None:
    """The node's own calls to its peers carry the trace on: CN-SH asks CN's registry to record
    the enterprise inside the caller's trace."""
    network, nodes = journey
    client = TracerProvider().get_tracer("registrar")
    with office(network) as o, client.start_as_current_span("register") as span:
        o.identity.stub("CN-SH").RegisterEnterprise(
            _registration("91310000MA1FL5678"),
            metadata=(("traceparent", traceparent_of(span)),),
            timeout=30,
        )
    trace_id = span.get_span_context().trace_id
    sh = [s for s in nodes.finished("CN-SH") if s.context.trace_id == trace_id]
    cn = [s for s in nodes.finished("CN") if s.context.trace_id == trace_id]
    (received,) = [s for s in sh if s.name.endswith("Identity/RegisterEnterprise")]
    assert parent_of(received) == span.get_span_context().span_id
    (asked,) = [s for s in sh if s.name.endswith("Registry/Register") and s.kind is SpanKind.CLIENT]
    (answered,) = [s for s in cn if s.name.endswith("Registry/Register")]
    assert answered.kind is SpanKind.SERVER and parent_of(answered) == asked.context.span_id
    assert _descends(asked, received, sh)


def _descends(span: ReadableSpan, ancestor: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    by_span = {s.context.span_id: s for s in spans}
    current: ReadableSpan | None = span
    while current is not None:
        if current.context.span_id == ancestor.context.span_id:
            return True
        parent = parent_of(current)
        current = by_span.get(parent) if parent is not None else None
    return False


def _registration(base: str) -> ipb.RegisterEnterpriseRequest:
    return ipb.RegisterEnterpriseRequest(
        uscc=base + uscc.calc_check_digit(base),
        name="Shanghai Example Trading Co., Ltd.",
        address="1 Example Road, Shanghai",
        contact=ipb.Contact(name="Han Meimei", email="han@example.cn", phone="+86 21 0000"),
        roles=["declarant"],
        admin_user="han",
        admin_password="a long and private passphrase",
    )
