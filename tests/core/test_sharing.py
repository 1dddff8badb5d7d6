"""The sharing pool's rules (core/sharing.py): who may read a dataset given values and a clock,
the life of a request and its grant, what a request and a dataset may say, and the signed peer
query with every check of docs/LOGISTICS.md §6 refusing what it should."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import SwnodeError
from core.sharing import (
    MAX_PERIOD_MS,
    QUERY_DOMAIN,
    GrantRecord,
    Requester,
    after,
    check_dataset,
    check_request,
    evaluate,
    sign_query,
    status_at,
    verify_query,
)
from core.signing import PURPOSE_SIGNING, key_id, raw_public, signing_input
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import logistics_pb2 as lpb

NOW = 1_800_000_000_000
HOUR = 3_600_000
DATASET = "CN-ZJ/zj-rail/logistics-events"
OWNER = "CN-ZJ/zj-rail"
ENTERPRISE = Requester("CN-GD/91440300MA5G1234XY", "enterprise")


def grant(
    status: str = "granted",
    *,
    start: int = NOW - HOUR,
    until: int = NOW + HOUR,
    decided: int = NOW - HOUR,
    revoked: int = 0,
    id: str = "g1",
) -> GrantRecord:
    return GrantRecord(id, status, start, until, decided, revoked)


def decide(
    requester: Requester = ENTERPRISE,
    *grants: GrantRecord,
    policy: str = "open_to_agencies",
    declared: str = "",
    now: int = NOW,
) -> tuple[bool, str]:
    d = evaluate(
        dataset=DATASET,
        owner=OWNER,
        policy=policy,
        requester=requester,
        grants=grants,
        now_ms=now,
        declared=declared,
    )
    return d.allowed, d.reason


# -- evaluate --------------------------------------------------------------------------------


def test_the_owner_reads_its_own() -> None:
    assert decide(Requester(OWNER, "rail"), policy="restricted") == (True, "owner")


def test_agencies_of_the_federation_read_what_is_open_to_agencies() -> None:
    customs = Requester("CN-GD/customs", "agency")
    assert decide(customs) == (True, "policy")
    assert decide(customs, policy="restricted") == (False, "sharing.no_grant")
    assert decide(Requester("SG/customs", "agency")) == (False, "sharing.no_grant")


def test_an_enterprise_needs_a_grant_in_its_period() -> None:
    assert decide() == (False, "sharing.no_grant")
    assert decide(ENTERPRISE, grant()) == (True, "grant")
    assert decide(ENTERPRISE, grant(start=NOW + 1)) == (False, "sharing.no_grant")
    assert decide(ENTERPRISE, grant("pending")) == (False, "sharing.no_grant")
    assert decide(ENTERPRISE, grant("refused")) == (False, "sharing.no_grant")


def test_an_expired_grant_and_a_revoked_one_say_so() -> None:
    assert decide(ENTERPRISE, grant(until=NOW)) == (False, "sharing.grant_expired")
    assert decide(ENTERPRISE, grant("revoked", revoked=NOW - 1)) == (
        False,
        "sharing.grant_revoked",
    )


def test_the_most_recent_grant_explains_a_refusal_and_any_live_grant_allows() -> None:
    old_revoked = grant("revoked", decided=NOW - 10 * HOUR, revoked=NOW - 9 * HOUR, id="a")
    newer_expired = grant(start=NOW - 5 * HOUR, until=NOW - HOUR, decided=NOW - 5 * HOUR, id="b")
    assert decide(ENTERPRISE, old_revoked, newer_expired) == (False, "sharing.grant_expired")
    assert decide(ENTERPRISE, newer_expired, old_revoked, grant(id="c")) == (True, "grant")


def test_own_declared_cargo_is_visible_without_a_grant() -> None:
    assert decide(declared="CN-GD:0190") == (True, "declaration")
    assert decide(ENTERPRISE, grant("revoked", revoked=NOW), declared="CN-GD:0190") == (
        True,
        "declaration",
    )


def test_the_decision_names_the_grant_or_the_declaration() -> None:
    d = evaluate(
        dataset=DATASET,
        owner=OWNER,
        policy="restricted",
        requester=ENTERPRISE,
        grants=[grant(id="g7")],
        now_ms=NOW,
    )
    assert d.detail == "g7"
    refused = evaluate(
        dataset=DATASET,
        owner=OWNER,
        policy="restricted",
        requester=ENTERPRISE,
        grants=[],
        now_ms=NOW,
    )
    assert DATASET in refused.message and OWNER in refused.message


# -- requests and their grants ---------------------------------------------------------------


def test_a_request_is_granted_or_refused_once_and_only_a_grant_is_revoked() -> None:
    assert after("pending", "grant") == "granted"
    assert after("pending", "refuse") == "refused"
    assert after("granted", "revoke") == "revoked"
    for status, action in [
        ("granted", "grant"),
        ("refused", "grant"),
        ("revoked", "grant"),
        ("granted", "refuse"),
        ("pending", "revoke"),
        ("revoked", "revoke"),
    ]:
        with pytest.raises(SwnodeError) as caught:
            after(status, action)
        assert caught.value.reason == "sharing.bad_state"


def test_a_grant_past_its_period_reads_as_expired() -> None:
    assert status_at(grant(until=NOW + 1), NOW) == "granted"
    assert status_at(grant(until=NOW), NOW) == "expired"
    assert status_at(grant("revoked", until=NOW - 1), NOW) == "revoked"


def test_what_a_request_may_ask() -> None:
    assert check_request(" tracking my cargo ", 0, NOW + HOUR, NOW) == (
        "tracking my cargo",
        NOW,
        NOW + HOUR,
    )
    for purpose, start, until, field in [
        ("", 0, NOW + HOUR, "purpose"),
        ("x" * 501, 0, NOW + HOUR, "purpose"),
        ("p", 0, 0, "valid_until_unix_ms"),
        ("p", 0, NOW, "valid_until_unix_ms"),
        ("p", NOW + 2 * HOUR, NOW + HOUR, "valid_until_unix_ms"),
        ("p", 0, NOW + MAX_PERIOD_MS + 1, "valid_until_unix_ms"),
    ]:
        with pytest.raises(SwnodeError) as caught:
            check_request(purpose, start, until, NOW)
        assert (caught.value.reason, caught.value.field) == ("sharing.bad_request", field)


def test_what_a_dataset_may_say() -> None:
    ok = lpb.PublishDatasetRequest(name="vgm-weights", description="Verified gross mass")
    assert check_dataset(ok) == ("vgm-weights", "Verified gross mass", (), "open_to_agencies")
    ok.policy = lpb.SHARING_POLICY_RESTRICTED
    ok.fields.extend(["container", "vgm_kg", "container"])
    assert check_dataset(ok)[2:] == (("container", "vgm_kg"), "restricted")
    cases: list[tuple[dict[str, object], str]] = [
        ({"name": "VGM"}, "name"),
        ({"name": "x"}, "name"),
        ({"description": " "}, "description"),
        ({"policy": 9}, "policy"),
    ]
    for change, field in cases:
        bad = lpb.PublishDatasetRequest()
        bad.CopyFrom(ok)
        for name, value in change.items():
            setattr(bad, name, value)
        with pytest.raises(SwnodeError) as caught:
            check_dataset(bad)
        assert (caught.value.reason, caught.value.field) == ("dataset.invalid", field)


# -- the signed query ------------------------------------------------------------------------

GD_KEY = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
SH_KEY = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
GD_KID = key_id("CN-GD", PURPOSE_SIGNING, raw_public(GD_KEY))
SH_KID = key_id("CN-SH", PURPOSE_SIGNING, raw_public(SH_KEY))


def _node(node_id: str, key: Ed25519PrivateKey, kid: str) -> dpb.NodeEntry:
    return dpb.NodeEntry(
        id=node_id,
        role=dpb.ROLE_PROVINCE,
        status=dpb.NODE_STATUS_ACTIVE,
        signing_keys=[dpb.PublicKey(key_id=kid, public_key=raw_public(key))],
    )


TRUST = TrustView.build(
    "CN-ZJ",
    dpb.Directory(
        federation="CN",
        version=1,
        issued_at_unix_ms=NOW - HOUR,
        expires_at_unix_ms=NOW + HOUR,
        nodes=[_node("CN-GD", GD_KEY, GD_KID), _node("CN-SH", SH_KEY, SH_KID)],
    ),
)


def query(**changes: object) -> lpb.PeerQuery:
    q = lpb.PeerQuery(
        action="query_events",
        from_node="CN-GD",
        to_node="CN-ZJ",
        party="CN-GD/91440300MA5G1234XY",
        party_kind="enterprise",
        user="91440300MA5G1234XY/alice",
        keys=[lpb.TimelineKey(container="CSNU6391242")],
        purpose="timeline",
        issued_at_unix_ms=NOW,
        nonce=bytes(range(16)),
    )
    for name, value in changes.items():
        setattr(q, name, value)
    return q


def verify(
    signed: lpb.SignedQuery, *, caller: str = "CN-GD", action: str = "query_events", now: int = NOW
) -> lpb.PeerQuery:
    return verify_query(
        signed,
        trust=TRUST,
        caller=caller,
        self_id="CN-ZJ",
        action=action,
        now_ms=now,
        skew_ms=300_000,
    )


def refusal(
    signed: lpb.SignedQuery, *, caller: str = "CN-GD", action: str = "query_events", now: int = NOW
) -> str:
    with pytest.raises(SwnodeError) as caught:
        verify(signed, caller=caller, action=action, now=now)
    return caught.value.reason


def test_a_signed_query_verifies_and_is_exactly_what_was_signed() -> None:
    signed = sign_query(query(), GD_KEY, GD_KID)
    assert verify(signed) == query()
    assert signed.key_id == GD_KID
    public = GD_KEY.public_key()
    public.verify(signed.signature, signing_input(QUERY_DOMAIN, signed.query))
    assert (
        signing_input(QUERY_DOMAIN, b"").hex() == "73776e6f64652f73686172696e672d71756572792f763100"
    )


def test_each_check_refuses_in_its_order() -> None:
    good = sign_query(query(), GD_KEY, GD_KID)
    unknown = lpb.SignedQuery(query=good.query, signature=good.signature, key_id="CN-GD/sig/00")
    assert refusal(unknown) == "query.unknown_key"
    assert refusal(good, caller="CN-SH") == "query.wrong_node"
    tampered = lpb.SignedQuery()
    tampered.CopyFrom(good)
    tampered.query = query(purpose="something else").SerializeToString()
    assert refusal(tampered) == "query.bad_signature"
    other_domain = lpb.SignedQuery(
        query=good.query, signature=GD_KEY.sign(b"swnode/batch/v1\x00" + good.query), key_id=GD_KID
    )
    assert refusal(other_domain) == "query.bad_signature"
    garbage = lpb.SignedQuery(
        query=b"\xff\xff",
        signature=GD_KEY.sign(signing_input(QUERY_DOMAIN, b"\xff\xff")),
        key_id=GD_KID,
    )
    assert refusal(garbage) == "query.malformed"
    assert refusal(sign_query(query(from_node="CN-SH"), GD_KEY, GD_KID)) == "query.wrong_node"
    assert refusal(sign_query(query(to_node="CN-SH"), GD_KEY, GD_KID)) == "query.misaddressed"
    assert refusal(good, action="request_access") == "query.wrong_action"
    assert refusal(good, now=NOW - 300_001) == "query.clock_skew"
    assert refusal(good, now=NOW + 300_001) == "query.expired"
    assert verify(good, now=NOW + 300_000) == query()
    for bad in (
        query(nonce=b"short"),
        query(party="91440300MA5G1234XY"),
        query(party="SG/91440300MA5G1234XY"),
        query(party_kind="pirate"),
    ):
        assert refusal(sign_query(bad, GD_KEY, GD_KID)) == "query.malformed"


def test_a_node_of_another_federation_is_refused() -> None:
    sg_key = Ed25519PrivateKey.from_private_bytes(b"\x03" * 32)
    sg_kid = key_id("SG", PURPOSE_SIGNING, raw_public(sg_key))
    trust = TrustView.build(
        "CN-ZJ",
        TRUST.own,
        {
            "SG": dpb.Directory(
                federation="SG",
                version=1,
                issued_at_unix_ms=NOW - HOUR,
                expires_at_unix_ms=NOW + HOUR,
                nodes=[_node("SG", sg_key, sg_kid)],
            )
        },
    )
    with pytest.raises(SwnodeError) as caught:
        verify_query(
            sign_query(query(from_node="SG"), sg_key, sg_kid),
            trust=trust,
            caller="SG",
            self_id="CN-ZJ",
            action="query_events",
            now_ms=NOW,
            skew_ms=300_000,
        )
    assert caught.value.reason == "sharing.foreign"


def test_the_domain_is_documented_as_signed() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "LOGISTICS.md").read_text()
    with_zero = signing_input(QUERY_DOMAIN, b"").hex()
    assert f"`{QUERY_DOMAIN.decode()}` | `{with_zero}`" in doc
