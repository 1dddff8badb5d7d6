"""The trust view: who is behind a peer's TLS certificate, checked against the directories."""

from __future__ import annotations

import hashlib

import pytest

from core.errors import PermissionDenied, Unauthenticated, Unavailable
from core.trust import TrustView
from swf.v1 import directory_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def view(cn: Federation, sg: Federation, **own: object) -> TrustView:
    """CN-GD's view: CN's directory (trusting SG) and SG's directory."""
    return TrustView.build(
        "CN-GD",
        cn.directory(trusts=[sg], **own),  # type: ignore[arg-type]
        {"SG": sg.directory(trusts=[cn])},
    )


def test_a_listed_member_is_authenticated(cn: Federation, sg: Federation) -> None:
    trust = view(cn, sg)
    entry = trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS)
    assert entry.id == "CN-SH"
    foreign = trust.authenticate_peer(sg.members["SG"].certificate, NOW_MS)
    assert foreign.id == "SG"


def test_an_expired_own_directory_refuses_everyone(cn: Federation, sg: Federation) -> None:
    trust = view(cn, sg)
    with pytest.raises(Unavailable) as refused:
        trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS + HOUR_MS)
    assert refused.value.reason == "directory.expired"
    assert not trust.valid(NOW_MS + HOUR_MS)
    assert trust.valid(NOW_MS)


def test_no_directory_at_all_refuses_everyone(cn: Federation) -> None:
    trust = TrustView.build("CN-GD", None)
    with pytest.raises(Unavailable) as refused:
        trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS)
    assert refused.value.reason == "directory.expired"


def test_a_revoked_member_is_refused(cn: Federation, sg: Federation) -> None:
    trust = view(cn, sg, revoked=["CN-SH"])
    with pytest.raises(PermissionDenied) as refused:
        trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS)
    assert refused.value.reason == "peer.revoked"
    assert trust.authenticate_peer(cn.members["CN"].certificate, NOW_MS).id == "CN"


def test_a_member_marked_revoked_without_a_revocation_entry_is_refused(
    cn: Federation, sg: Federation
) -> None:
    directory = cn.directory()
    for node in directory.nodes:
        if node.id == "CN-SH":
            node.status = pb.NODE_STATUS_REVOKED
    trust = TrustView.build("CN-GD", directory)
    with pytest.raises(PermissionDenied) as refused:
        trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS)
    assert refused.value.reason == "peer.revoked"


def test_a_certificate_of_a_node_not_listed_is_unknown(cn: Federation, sg: Federation) -> None:
    stranger = cn.issue("CN-ZJ")
    with pytest.raises(Unauthenticated) as refused:
        view(cn, sg).authenticate_peer(stranger.certificate, NOW_MS)
    assert refused.value.reason == "peer.unknown"


def test_another_certificate_for_a_listed_node_is_refused(cn: Federation, sg: Federation) -> None:
    """Right CA, right name, but not the certificate the directory lists."""
    second = cn.issue("CN-SH")
    with pytest.raises(Unauthenticated) as refused:
        view(cn, sg).authenticate_peer(second.certificate, NOW_MS)
    assert refused.value.reason == "peer.certificate_mismatch"


def test_a_member_of_a_foreign_federation_needs_its_directory_current(
    cn: Federation, sg: Federation
) -> None:
    trust = TrustView.build(
        "CN-GD",
        cn.directory(trusts=[sg], validity_ms=4 * HOUR_MS),
        {"SG": sg.directory(validity_ms=HOUR_MS)},
    )
    assert trust.authenticate_peer(sg.members["SG"].certificate, NOW_MS).id == "SG"
    with pytest.raises(Unavailable) as refused:
        trust.authenticate_peer(sg.members["SG"].certificate, NOW_MS + 2 * HOUR_MS)
    assert refused.value.reason == "directory.expired"
    # Own members are still accepted: only the foreign federation's copy expired.
    assert trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS + 2 * HOUR_MS)


def test_a_foreign_directory_cannot_speak_for_another_federations_node(
    cn: Federation, sg: Federation
) -> None:
    """SG's directory is trusted for SG's nodes only: an entry it lists for CN-SH (with a
    certificate SG's CA issued) must neither authenticate as CN-SH nor displace CN's entry."""
    impostor = sg.issue("CN-SH")
    trust = TrustView.build(
        "CN-GD", cn.directory(trusts=[sg]), {"SG": sg.directory(extra=[impostor])}
    )
    with pytest.raises(Unauthenticated):
        trust.authenticate_peer(impostor.certificate, NOW_MS)
    assert trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS).id == "CN-SH"
    node = trust.node("CN-SH")
    assert node is not None and node.tls_certificate == cn.members["CN-SH"].certificate
    impostor_key = sg.directory(extra=[impostor]).nodes[-1].signing_keys[0].key_id
    assert trust.signing_key(impostor_key) is None


def test_a_foreign_directory_cannot_revoke_another_federations_node(
    cn: Federation, sg: Federation
) -> None:
    hostile = sg.directory()
    hostile.revocations.append(
        pb.Revocation(
            node_id="SG",
            certificate_sha256=hashlib.sha256(cn.members["CN-SH"].certificate).digest(),
        )
    )
    trust = TrustView.build("CN-GD", cn.directory(trusts=[sg]), {"SG": hostile})
    assert trust.authenticate_peer(cn.members["CN-SH"].certificate, NOW_MS).id == "CN-SH"


def test_lookups_by_key_id_and_anchors(cn: Federation, sg: Federation) -> None:
    trust = view(cn, sg)
    entry = cn.members["CN-SH"].entry()
    ref = trust.signing_key(entry.signing_keys[0].key_id)
    assert ref is not None and ref.node_id == "CN-SH"
    assert ref.public_key == entry.signing_keys[0].public_key
    token = trust.token_key(entry.token_keys[0].key_id)
    assert token is not None and token.node_id == "CN-SH"
    assert trust.signing_key("CN-SH/sig/0000000000000000") is None
    assert [a.federation for a in trust.trusted_anchors()] == ["SG"]
    assert trust.ca_certificates() == [cn.ca_der, sg.ca_der]
    assert trust.is_active("CN-SH")
    assert not view(cn, sg, revoked=["CN-SH"]).is_active("CN-SH")


def test_directory_reader_own_member_and_anchored_foreign_central(
    cn: Federation, sg: Federation
) -> None:
    # CN's own view: it trusts SG by anchor, and may not yet hold SG's directory.
    central = TrustView.build("CN", cn.directory(trusts=[sg]))
    assert central.authenticate_directory_reader(cn.members["CN-GD"].certificate, NOW_MS) == "CN-GD"
    assert central.authenticate_directory_reader(sg.members["SG"].certificate, NOW_MS) == "SG"


def test_directory_reader_refuses_a_foreign_central_from_another_ca(
    cn: Federation, sg: Federation
) -> None:
    central = TrustView.build("CN", cn.directory(trusts=[sg]))
    forged = Federation("SG").members["SG"]
    with pytest.raises(Unauthenticated) as refused:
        central.authenticate_directory_reader(forged.certificate, NOW_MS)
    assert refused.value.reason == "peer.certificate_mismatch"


def test_directory_reader_refuses_foreign_provinces_and_untrusted_federations(
    cn: Federation, sg: Federation
) -> None:
    central = TrustView.build("CN", cn.directory(trusts=[sg]))
    for stranger in (sg.issue("SG-01"), Federation("TH").members["TH"]):
        with pytest.raises(Unauthenticated) as refused:
            central.authenticate_directory_reader(stranger.certificate, NOW_MS)
        assert refused.value.reason == "peer.unknown"


def test_across_the_border_only_centrals_are_neighbours(cn: Federation) -> None:
    """PROTOCOL.md §2.6 step 7: a province of another federation is authenticated (its
    federation's directory lists it) but may not call Ping or Exchange here."""
    sg = Federation("SG", ["SG-01"])
    central = TrustView.build("CN", cn.directory(trusts=[sg]), {"SG": sg.directory(trusts=[cn])})
    assert central.authenticate_neighbour(sg.members["SG"].certificate, NOW_MS).id == "SG"
    assert central.authenticate_neighbour(cn.members["CN-GD"].certificate, NOW_MS).id == "CN-GD"
    with pytest.raises(PermissionDenied) as refused:
        central.authenticate_neighbour(sg.members["SG-01"].certificate, NOW_MS)
    assert refused.value.reason == "peer.cross_border"
    province = view(cn, sg)
    with pytest.raises(PermissionDenied) as refused:
        province.authenticate_neighbour(sg.members["SG"].certificate, NOW_MS)
    assert refused.value.reason == "peer.cross_border"
