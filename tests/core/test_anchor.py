"""Federation anchors: the fingerprint covers federation, CA and directory key, not the endpoint."""

from __future__ import annotations

import hashlib
import json

import pytest

from core.anchor import (
    anchor_fingerprint,
    check_anchor_fingerprint,
    decode_anchor,
    encode_anchor,
)
from core.errors import InvalidArgument, PermissionDenied
from swf.v1 import directory_pb2 as pb
from tests.factories import Federation


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def copy(anchor: pb.Anchor) -> pb.Anchor:
    c = pb.Anchor()
    c.CopyFrom(anchor)
    return c


def test_fingerprint_is_stable_and_follows_the_documented_formula(sg: Federation) -> None:
    anchor = sg.anchor()
    expected = hashlib.sha256(
        b"swnode/anchor/v1\x00SG\x00" + sg.ca_der + sg.directory_public
    ).hexdigest()
    assert anchor_fingerprint(anchor) == expected
    assert anchor_fingerprint(decode_anchor(encode_anchor(anchor))) == expected


def test_tampering_with_ca_key_or_federation_changes_the_fingerprint(sg: Federation) -> None:
    original = anchor_fingerprint(sg.anchor())
    other = Federation("SG")
    swapped_ca = copy(sg.anchor())
    swapped_ca.ca_certificate = other.ca_der
    swapped_key = copy(sg.anchor())
    swapped_key.directory_key = other.directory_public
    renamed = copy(sg.anchor())
    renamed.federation = "TH"
    flipped = copy(sg.anchor())
    flipped.ca_certificate = sg.ca_der[:-1] + bytes([sg.ca_der[-1] ^ 1])
    prints = {anchor_fingerprint(a) for a in (swapped_ca, swapped_key, renamed, flipped)}
    assert original not in prints
    assert len(prints) == 4


def test_the_endpoint_may_move_without_changing_the_fingerprint(sg: Federation) -> None:
    moved = sg.anchor(endpoint="sg-window.example:443")
    assert anchor_fingerprint(moved) == anchor_fingerprint(sg.anchor())


def test_check_accepts_the_fingerprint_as_people_print_it(sg: Federation) -> None:
    fp = anchor_fingerprint(sg.anchor())
    check_anchor_fingerprint(sg.anchor(), fp)
    check_anchor_fingerprint(
        sg.anchor(), "SHA256:" + ":".join(fp[i : i + 2] for i in range(0, 64, 2))
    )


def test_check_refuses_another_fingerprint(sg: Federation) -> None:
    wrong = hashlib.sha256(b"not it").hexdigest()
    with pytest.raises(PermissionDenied) as refused:
        check_anchor_fingerprint(sg.anchor(), wrong)
    assert refused.value.reason == "anchor.fingerprint_mismatch"
    assert refused.value.field == "fingerprint"
    assert wrong in refused.value.message


def test_check_refuses_a_malformed_fingerprint(sg: Federation) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_anchor_fingerprint(sg.anchor(), "abc")
    assert refused.value.reason == "fingerprint.malformed"


def anchor_json(sg: Federation, **changes: str) -> str:
    data = json.loads(encode_anchor(sg.anchor()))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"federation": "CN-GD"}, "anchor.federation"),
        ({"federation": "XX"}, "anchor.federation"),
        ({"caCertificate": "bm90IGEgY2VydGlmaWNhdGU="}, "anchor.ca_certificate"),
        ({"directoryKey": "c2hvcnQ="}, "anchor.directory_key"),
        ({"endpoint": "no-port"}, "anchor.endpoint"),
        ({"unknownField": "x"}, "anchor"),
    ],
)
def test_decode_refuses_a_bad_anchor_file_naming_the_field(
    sg: Federation, change: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        decode_anchor(anchor_json(sg, **change))
    assert refused.value.field == field
    assert refused.value.message.startswith(field + ": ")


def test_decode_refuses_what_is_not_json() -> None:
    with pytest.raises(InvalidArgument) as refused:
        decode_anchor("-----BEGIN CERTIFICATE-----")
    assert refused.value.reason == "anchor.malformed"
