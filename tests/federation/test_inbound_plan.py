"""The inbound plan alone (federation/inbound_plan.py): what a receiver does with each accepted
message of a frame, from what storage knows (docs/PROTOCOL.md §5.2 step 4, §5.6, §5.7)."""

from __future__ import annotations

import pytest

from core.envelope import DELIVERY_RECEIPT_TYPE
from core.signer import Signer
from core.trust import TrustView
from federation.inbound_plan import (
    Decision,
    Duplicate,
    Facts,
    Refuse,
    Store,
    confirmed_deliveries,
    end_to_end_receipt,
    plan,
    receipt_body,
    wants_end_to_end,
)
from swf.v1 import envelope_pb2 as pb
from tests.factories import Federation

NONE = Facts(seen={}, taken={})


def header(
    sender: str = "CN-GD", recipient: str = "CN", document_type: str = "certificate.origin"
) -> pb.Header:
    return pb.Header(
        message_id="m1", sender=sender, recipient=recipient, document_type=document_type
    )


def decide(h: pb.Header, facts: Facts = NONE, *, previous_hop: str = "CN-GD") -> Decision:
    """The plan's decision for `h` arriving at CN from `previous_hop`."""
    key = (h.sender, h.message_id)
    return plan({key: h}, facts, node_id="CN", previous_hop=previous_hop)[key]


def test_a_new_message_for_this_node_is_received() -> None:
    assert decide(header()) == Store("received", relay=False, end_to_end=False, apply_receipt=False)


def test_a_new_message_relayed_to_this_node_earns_an_end_to_end_receipt() -> None:
    h = header(sender="SG-01")
    assert decide(h, previous_hop="SG") == Store(
        "received", relay=False, end_to_end=True, apply_receipt=False
    )
    assert wants_end_to_end(h, node_id="CN", previous_hop="SG")


def test_an_end_to_end_receipt_is_applied_and_earns_none() -> None:
    h = header(sender="SG-01", document_type=DELIVERY_RECEIPT_TYPE)
    assert decide(h, previous_hop="SG") == Store(
        "processed", relay=False, end_to_end=False, apply_receipt=True
    )
    assert not wants_end_to_end(h, node_id="CN", previous_hop="SG")


def test_a_message_for_another_node_is_relayed() -> None:
    h = header(sender="CN-GD", recipient="SG")
    assert decide(h) == Store("relayed", relay=True, end_to_end=False, apply_receipt=False)
    assert not wants_end_to_end(h, node_id="CN", previous_hop="CN-GD")


@pytest.mark.parametrize("recipient", ["CN", "SG"])
def test_a_message_seen_before_is_answered_with_its_first_receipt(recipient: str) -> None:
    facts = Facts(seen={("CN-GD", "m1"): b"first"}, taken={"m1": "SG-01"})
    assert decide(header(recipient=recipient), facts) == Duplicate(b"first")


def test_an_id_another_origin_holds_in_the_outbox_is_refused() -> None:
    decision = decide(header(recipient="SG"), Facts(seen={}, taken={"m1": "CN-SH"}))
    assert isinstance(decision, Refuse)
    assert decision.error.reason == "envelope.duplicate_id"


def test_the_same_origin_in_the_outbox_is_no_clash() -> None:
    decision = decide(header(recipient="SG"), Facts(seen={}, taken={"m1": "CN-GD"}))
    assert isinstance(decision, Store)


def test_the_receipt_body_names_the_origin_or_the_previous_hop() -> None:
    final = receipt_body(
        header(sender="SG-01"), b"h", node_id="CN", previous_hop="SG", now_ms=5, key_id="k"
    )
    assert (final.kind, final.from_node, final.issuer) == (pb.RECEIPT_KIND_DELIVERY, "SG-01", "CN")
    hop = receipt_body(
        header(recipient="SG"), b"h", node_id="CN", previous_hop="CN-GD", now_ms=5, key_id="k"
    )
    assert (hop.kind, hop.from_node, hop.received_at_unix_ms) == (pb.RECEIPT_KIND_HOP, "CN-GD", 5)


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


def signed(cn: Federation, issuer: str, kind: pb.ReceiptKind.ValueType) -> bytes:
    signer = Signer.of(issuer, cn.members[issuer].signing_key)
    body = pb.ReceiptBody(
        message_id="m1", header_sha256=b"h", issuer=issuer, kind=kind, key_id=signer.key_id
    )
    (receipt,) = signer.seal_receipts([body])
    return receipt.SerializeToString()


def test_an_end_to_end_receipt_counts_only_from_its_issuer_and_of_kind_delivery(
    cn: Federation,
) -> None:
    trust = TrustView.build("CN-GD", cn.directory())
    good = end_to_end_receipt(
        signed(cn, "CN-SH", pb.RECEIPT_KIND_DELIVERY), "CN-SH", trust.signing_key
    )
    assert isinstance(good, pb.ReceiptBody)
    assert good.issuer == "CN-SH"
    hop = end_to_end_receipt(signed(cn, "CN-SH", pb.RECEIPT_KIND_HOP), "CN-SH", trust.signing_key)
    assert isinstance(hop, str)
    other = end_to_end_receipt(
        signed(cn, "CN", pb.RECEIPT_KIND_DELIVERY), "CN-SH", trust.signing_key
    )
    assert isinstance(other, str)
    assert isinstance(end_to_end_receipt(b"", "CN-SH", trust.signing_key), str)  # unsigned


def test_an_end_to_end_receipt_that_does_not_decode_is_ignored_with_a_reason(
    cn: Federation,
) -> None:
    """§5.6: a payload that is not a Receipt is ignored, never an error that ends the stream."""
    trust = TrustView.build("CN-GD", cn.directory())
    good = signed(cn, "CN-SH", pb.RECEIPT_KIND_DELIVERY)
    for payload in (b"\xff\xff\xff", good[:-3], b"\x0a\x05abc"):
        outcome = end_to_end_receipt(payload, "CN-SH", trust.signing_key)
        assert isinstance(outcome, str), payload
        assert "ignoring an end-to-end receipt from CN-SH" in outcome


def test_a_delivery_is_confirmed_only_by_the_recipient_for_a_header_sealed_here() -> None:
    body = pb.ReceiptBody(message_id="m1", issuer="CN-SH", header_sha256=b"h")
    found = [(b"raw", body)]
    assert confirmed_deliveries(found, {"m1": ("CN-SH", {b"old", b"h"})}) == found
    assert confirmed_deliveries(found, {"m1": ("CN", {b"h"})}) == []
    assert confirmed_deliveries(found, {"m1": ("CN-SH", {b"other"})}) == []
    assert confirmed_deliveries(found, {}) == []
