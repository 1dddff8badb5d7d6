"""Whose credential is it: attacks by members and by a trusted foreign window, on a network of
four nodes in two federations (CN, CN-GD, CN-SH; SG), each by the means an attacker has — a real
login at another node, a token signed with a real foreign node's key, a token signed with a real
member's key for another node's enterprise (docs/SECURITY.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import Desk, Office, example, office
from tests.harness import Network, NetworkFactory, NetworkSpec, refusal_of
from tests.identity_client import claims, forge, header, new_uscc, token_key_id

pytestmark = pytest.mark.network

EXPORTER = "91440300MA5G1234XY"  # the examples' Shenzhen exporter


@pytest.fixture(scope="module")
def world(module_network_factory: NetworkFactory) -> Iterator[tuple[Network, Office]]:
    # No simulator: work items stay open for the officers (and the attackers) to find.
    net = module_network_factory(NetworkSpec(provinces=2, foreign=1, simulator=False))
    with office(net) as o:
        yield net, o


def signed_with(net: Network, node_id: str, party: str, kind: str, federation: str) -> str:
    """A token signed with `node_id`'s real token key, claims chosen by the attacker."""
    key = net.keys(node_id).token_key
    payload = claims(
        issuer=node_id, party=party, now_s=int(time.time()), federation=federation, party_kind=kind
    )
    return forge(header(token_key_id(node_id, key)), payload, ed25519=key)


def open_item(o: Office, exporter: Desk) -> tuple[str, dpb.WorkItem]:
    declared = exporter.submit(example("goods_declaration"))
    return declared.id, o.agency("CN-GD", "customs").item_for(declared.id)


def test_an_agency_acts_at_its_own_node_only(world: tuple[Network, Office]) -> None:
    net, o = world
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    declaration_id, item = open_item(o, exporter)
    # CN-SH's customs officer, really logged in at CN-SH, carries the token to CN-GD.
    sh_customs = o.agency("CN-SH", "customs")
    assert all(i.declaration_id != declaration_id for i in sh_customs.inbox("all"))
    intruder = Desk(net, "CN-GD", sh_customs.token)
    for call in (
        lambda: intruder.inbox("all"),
        lambda: intruder.work.Claim(
            dpb.ClaimRequest(work_id=item.id), metadata=intruder.meta, timeout=10
        ),
    ):
        refused = refusal_of(call)
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "token.not_local",
        )
        assert "CN-SH/customs" in refused.details
    # The item is still open, and CN-GD's own officer claims it under a name that says whose.
    gd_customs = o.agency("CN-GD", "customs")
    claimed = gd_customs.work.Claim(
        dpb.ClaimRequest(work_id=item.id), metadata=gd_customs.meta, timeout=10
    )
    assert claimed.claimed_by.startswith("CN-GD/customs/")


def test_an_issuing_body_acts_on_its_own_certificates_only(world: tuple[Network, Office]) -> None:
    net, o = world
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    applied = exporter.submit(example("certificate_of_origin_application"))
    gd_ccpit = o.agency("CN-GD", "ccpit")
    gd_ccpit.decide(applied.id, dpb.DECISION_ACCEPT)
    exporter.wait_status(applied.id, "approved")
    mine = cgrpc.CertificatesStub(net.client_channel("CN-GD"))
    listed = mine.ListCertificates(cpb.ListCertificatesRequest(), metadata=gd_ccpit.meta)
    number = next(
        c.certificate.number
        for c in listed.certificates
        if c.certificate.application_id == applied.id
    )
    sh_ccpit = o.agency("CN-SH", "ccpit")
    for call in (
        lambda: mine.ListCertificates(cpb.ListCertificatesRequest(), metadata=sh_ccpit.meta),
        lambda: mine.CancelCertificate(
            cpb.CancelCertificateRequest(number=number, reason="not mine to cancel"),
            metadata=sh_ccpit.meta,
        ),
    ):
        refused = refusal_of(call)
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "token.not_local",
        )
    # At its own node, CN-SH's ccpit sees none of CN-GD's certificates.
    at_sh = cgrpc.CertificatesStub(net.client_channel("CN-SH"))
    seen = at_sh.ListCertificates(cpb.ListCertificatesRequest(), metadata=sh_ccpit.meta)
    assert number not in [c.certificate.number for c in seen.certificates]
    record = mine.GetCertificate(
        cpb.CertificateRef(number=number, issuing_country="CN"), metadata=gd_ccpit.meta
    )
    assert record.status != "cancelled"
    assert record.certificate.issuing_body == "ccpit"


def test_a_foreign_windows_key_signs_nothing_here(world: tuple[Network, Office]) -> None:
    net, o = world
    for kind, party in (("agency", "customs"), ("enterprise", EXPORTER)):
        forged = signed_with(net, "SG", party, kind, federation="CN")
        for node in ("CN", "CN-GD", "CN-SH"):
            desk = Desk(net, node, forged)
            refused = refusal_of(lambda desk=desk: desk.inbox("all"))  # type: ignore[misc]
            assert (refused.code, refused.reason) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "token.foreign_issuer",
            )
            refused = refusal_of(lambda desk=desk: desk.page())  # type: ignore[misc]
            assert refused.reason == "token.foreign_issuer"
    # SG's own officers still work at SG.
    assert isinstance(o.agency("SG", "customs").inbox("all"), list)


def test_a_member_cannot_act_as_another_members_enterprise(world: tuple[Network, Office]) -> None:
    net, o = world
    victim = new_uscc()
    at_home = o.enterprise(victim, home="CN-GD", roles=("declarant", "exporter"))
    document = example("goods_declaration")
    document.goods_declaration.declarant_uscc = victim
    document.goods_declaration.consignor.uscc = victim
    mine = at_home.submit(document)
    # CN-SH signs, with its own real key, a token for CN-GD's enterprise.
    forged = signed_with(net, "CN-SH", victim, "enterprise", federation="CN")
    for node in ("CN-GD", "CN-SH", "CN"):
        desk = Desk(net, node, forged)
        for call in (lambda d=desk: d.page(), lambda d=desk: d.submit(document)):
            refused = refusal_of(call)
            assert (refused.code, refused.reason) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "token.not_home",
            )
            assert "CN-GD" in refused.details
    # Nothing was submitted in the victim's name; the real one is still there, alone.
    listed = at_home.page()
    assert [d.id for d in listed.declarations] == [mine.id]


def test_a_list_is_bounded_whatever_limit_the_caller_asks(world: tuple[Network, Office]) -> None:
    """ListWork and ListCertificates take a limit from the caller: a negative one (no limit at
    all on SQLite) or a huge one would read a whole table in one answer; both are refused at
    the field, with the rule, as the paged lists' page_size is."""
    net, o = world
    customs = o.agency("CN-GD", "customs")
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    certs = cgrpc.CertificatesStub(net.client_channel("CN-GD"))
    for limit in (-1, 501, 2_000_000_000):
        for call in (
            lambda limit=limit: customs.work.ListWork(
                dpb.ListWorkRequest(limit=limit), metadata=customs.meta, timeout=10
            ),
            lambda limit=limit: certs.ListCertificates(
                cpb.ListCertificatesRequest(limit=limit), metadata=exporter.meta, timeout=10
            ),
        ):
            refused = refusal_of(call)
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT, (limit, refused)
            assert (refused.reason, refused.field) == ("list.page_size", "limit")
            assert refused.details == "limit: 1 to 500"
    # 0 still means the default, and the largest allowed is served.
    for limit in (0, 500):
        customs.work.ListWork(dpb.ListWorkRequest(limit=limit), metadata=customs.meta, timeout=10)
        certs.ListCertificates(
            cpb.ListCertificatesRequest(limit=limit), metadata=exporter.meta, timeout=10
        )


def short_lived(net: Network, node_id: str, party: str, kind: str, lifetime_s: int) -> str:
    """A token as `node_id` issues it (its real key), good for `lifetime_s` seconds only."""
    key = net.keys(node_id).token_key
    payload = claims(
        issuer=node_id, party=party, now_s=int(time.time()), lifetime_s=lifetime_s, party_kind=kind
    )
    return forge(header(token_key_id(node_id, key)), payload, ed25519=key)


def test_a_watch_ends_when_its_token_does(world: tuple[Network, Office]) -> None:
    """A stream is authorized once, at its start: WatchWork and WatchDeclaration would go on
    sending an agency's work and a declaration's history to a bearer whose token expired (or
    was revoked, or whose user was disabled) long ago. Each ends, refused as token.expired,
    once the token it was opened with has expired, and a new watch is checked again."""
    net, o = world
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    declaration_id, _ = open_item(o, exporter)
    customs = Desk(net, "CN-GD", short_lived(net, "CN-GD", "customs", "agency", 3))
    watcher = Desk(net, "CN-GD", short_lived(net, "CN-GD", EXPORTER, "enterprise", 3))
    for name, stream in (
        (
            "WatchWork",
            lambda: customs.work.WatchWork(
                dpb.WatchWorkRequest(), metadata=customs.meta, timeout=20
            ),
        ),
        (
            "WatchDeclaration",
            lambda: watcher.declarations.WatchDeclaration(
                dpb.WatchDeclarationRequest(id=declaration_id), metadata=watcher.meta, timeout=20
            ),
        ),
    ):
        started = time.monotonic()
        refused = refusal_of(lambda stream=stream: list(stream()))  # type: ignore[misc]
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "token.expired",
        ), (name, refused)
        assert time.monotonic() - started < 10, name
