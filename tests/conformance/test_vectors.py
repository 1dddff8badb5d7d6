"""The conformance vectors (PROTOCOL.md §9): the committed files are what scripts/gen-vectors
makes today, and this repository's core reproduces every expected output in them."""

from __future__ import annotations

import json

import pytest

from conformance import check, vectors
from conformance.fixtures import SEEDS


def test_the_files_are_up_to_date() -> None:
    for name, data in vectors.build().items():
        path = vectors.HERE / name
        assert path.exists(), f"{name} is missing: run scripts/gen-vectors"
        assert path.read_text(encoding="utf-8") == vectors.render(data), (
            f"{name} is out of date: run scripts/gen-vectors"
        )


@pytest.mark.parametrize(
    "name",
    [
        "envelope_refusals.json",
        "receipt_refusals.json",
        "directory_refusals.json",
        "invitation_refusals.json",
        "peer_refusals.json",
        "csr_refusals.json",
    ],
)
def test_the_core_reproduces_every_refusal(name: str) -> None:
    data = json.loads((vectors.HERE / name).read_text(encoding="utf-8"))
    assert check.mismatches(name, data) == []


def test_every_envelope_refusal_of_section_6_3_has_a_vector() -> None:
    """Each envelope reason §6.3 lists that a frame alone can cause (envelope.duplicate_id needs
    a node's outbox: the runner checks it on the wire)."""
    data = json.loads((vectors.HERE / "envelope_refusals.json").read_text(encoding="utf-8"))
    covered = {c["expected"].get("reason") for c in data["cases"].values()}
    wire = {
        "envelope.malformed", "envelope.too_large", "envelope.unknown_key", "directory.expired",
        "envelope.revoked_sender", "envelope.bad_signature", "envelope.sender_mismatch",
        "envelope.bad_message_id", "envelope.misaddressed", "envelope.revoked_recipient",
        "envelope.unsupported_type", "envelope.wrong_hop", "envelope.clock_skew",
        "envelope.bad_expiry", "envelope.expired", "envelope.payload_mismatch",
    }  # fmt: skip
    assert wire <= covered


def test_the_examples_match_protocol_section_7() -> None:
    """Every expected value of examples.json is written in PROTOCOL.md §7."""
    doc = (vectors.HERE.parent.parent / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    data = json.loads((vectors.HERE / "examples.json").read_text(encoding="utf-8"))

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [x for v in value.values() for x in leaves(v)]
        if isinstance(value, list):
            return [x for v in value for x in leaves(v)]
        return [value]

    missing = {
        f"{section}: {field}"
        for section, example in data.items()
        for field, value in example["expected"].items()
        if any(str(item) not in doc for item in leaves(value))
    }
    # The full envelopes of the batch are not printed in §7.3; their headers are.
    assert missing <= {"7.3 a batch of three envelopes: envelopes"}
    assert data["7.1 public keys and key ids"]["input"]["seeds"]["CN-GD"] == "01" * 32
    assert SEEDS["CN-GD"] == 1
