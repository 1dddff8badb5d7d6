"""Access tokens (identity/tokens.py), without a network: what a home node issues, and each step
of the verification every node runs, with each refusal and its reason code.

Tokens are verified against a TrustView built from in-memory directories (tests/factories.py);
forged tokens are built by hand (tests/identity_client.py) so that any part can be wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.errors import PermissionDenied, Unauthenticated, Unavailable
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from identity import tokens
from tests.factories import HOUR_MS, NOW_MS, Federation
from tests.identity_client import claims, forge, header, jwt_parts, token_key_id

USCC = "91440300MA5G1234XY"
NOW_S = NOW_MS // 1000


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


@pytest.fixture(scope="module")
def trust(cn: Federation, sg: Federation) -> TrustView:
    """What CN-SH trusts: its own federation's directory and SG's."""
    return TrustView.build("CN-SH", cn.directory(trusts=[sg]), {"SG": sg.directory()})


def gd_key(cn: Federation) -> Ed25519PrivateKey:
    key = cn.members["CN-GD"].token_key
    assert isinstance(key, Ed25519PrivateKey)
    return key


def issue(cn: Federation, *, now_ms: int = NOW_MS, lifetime_s: int = 900) -> str:
    token, _ = tokens.issue(
        key=gd_key(cn),
        key_id=token_key_id("CN-GD", gd_key(cn)),
        issuer="CN-GD",
        party=USCC,
        party_kind="enterprise",
        user="alice",
        roles=["admin", "declarant"],
        party_roles=["declarant"],
        session_id="s1",
        now_ms=now_ms,
        lifetime_s=lifetime_s,
    )
    return token


def verify(
    token: str,
    trust: TrustView,
    *,
    at: str = "CN-SH",
    now_ms: int = NOW_MS,
    revoked: Callable[[tokens.Claims], str | None] = lambda _: None,
) -> tokens.Claims:
    return tokens.verify(token, trust=trust, self_id=at, now_ms=now_ms, revoked=revoked)


def refused(token: str, trust: TrustView, **kwargs: object) -> str:
    """The reason code `verify` refuses with."""
    with pytest.raises(Unauthenticated) as info:
        verify(token, trust, **kwargs)  # type: ignore[arg-type]
    return info.value.reason


def forged(cn: Federation, **changes: Any) -> str:
    """A token like a real one of CN-GD's, signed with CN-GD's token key, with changed claims."""
    return forge(
        header(token_key_id("CN-GD", gd_key(cn))),
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S, **changes),
        ed25519=gd_key(cn),
    )


# -- issuing ---------------------------------------------------------------------------------


def test_an_issued_token_has_the_documented_shape(cn: Federation) -> None:
    token, issued = tokens.issue(
        key=gd_key(cn),
        key_id=token_key_id("CN-GD", gd_key(cn)),
        issuer="CN-GD",
        party=USCC,
        party_kind="enterprise",
        user="alice",
        roles=["admin", "declarant"],
        party_roles=["declarant"],
        session_id="s1",
        now_ms=NOW_MS + 123,
    )
    head, payload = jwt_parts(token)
    assert head == {"alg": "EdDSA", "kid": token_key_id("CN-GD", gd_key(cn)), "typ": "at+jwt"}
    assert head["kid"].startswith("CN-GD/tok/")
    assert payload == {
        "iss": "CN-GD",
        "sub": f"{USCC}/alice",
        "aud": "swnode:CN",
        "iat": NOW_S,
        "exp": NOW_S + 900,
        "jti": issued.token_id,
        "sid": "s1",
        "party": USCC,
        "party_kind": "enterprise",
        "roles": ["admin", "declarant"],
        "party_roles": ["declarant"],
    }
    assert issued.expires_at_ms - issued.issued_at_ms == tokens.MAX_LIFETIME_S * 1000 == 900_000
    # Any standard library verifies it with the public key alone.
    public = gd_key(cn).public_key()
    decoded = jwt.decode(
        token,
        public,
        algorithms=["EdDSA"],
        audience="swnode:CN",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert decoded["sub"] == f"{USCC}/alice"


def test_no_token_lives_longer_than_15_minutes(cn: Federation) -> None:
    _, payload = jwt_parts(issue(cn, lifetime_s=86400))
    assert payload["exp"] - payload["iat"] == 900
    _, payload = jwt_parts(issue(cn, lifetime_s=60))
    assert payload["exp"] - payload["iat"] == 60


def test_token_ids_are_unique(cn: Federation) -> None:
    ids = {jwt_parts(issue(cn))[1]["jti"] for _ in range(20)}
    assert len(ids) == 20


# -- verifying: accepted ---------------------------------------------------------------------


def test_every_node_of_the_federation_accepts_the_same_identity(
    cn: Federation, sg: Federation
) -> None:
    token = issue(cn)
    seen = set()
    for at in ("CN-GD", "CN-SH", "CN"):
        view = TrustView.build(at, cn.directory(trusts=[sg]), {"SG": sg.directory()})
        got = verify(token, view, at=at)
        seen.add(got)
        assert got.issuer == "CN-GD" and got.subject == f"{USCC}/alice"
        assert (got.party, got.user, got.party_kind) == (USCC, "alice", "enterprise")
        assert got.roles == ("admin", "declarant") and got.party_roles == ("declarant",)
        assert got.session_id == "s1"
        assert got.issued_at_ms == NOW_MS and got.expires_at_ms == NOW_MS + 900_000
    assert len(seen) == 1


def test_accepted_until_it_expires(cn: Federation, trust: TrustView) -> None:
    token = issue(cn)
    assert verify(token, trust, now_ms=NOW_MS + 900_000 - 1).user == "alice"
    assert refused(token, trust, now_ms=NOW_MS + 900_000) == "token.expired"


def test_a_token_from_a_clock_a_little_ahead_is_accepted(cn: Federation, trust: TrustView) -> None:
    assert verify(issue(cn, now_ms=NOW_MS + 59_000), trust).user == "alice"


# -- step 1: the header ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "not a token", "a.b.c", "e30.e30", "e30.e30.e30.e30"])
def test_not_a_jwt(text: str, trust: TrustView) -> None:
    assert refused(text, trust) == "token.malformed"


def test_alg_none_is_refused(cn: Federation, trust: TrustView) -> None:
    kid = token_key_id("CN-GD", gd_key(cn))
    token = forge(
        {"alg": "none", "kid": kid, "typ": "at+jwt"},
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
    )
    assert token.endswith(".")
    assert refused(token, trust) == "token.bad_algorithm"
    for alg in ("None", "NONE", ""):
        token = forge(header(kid, alg=alg), claims(issuer="CN-GD", party=USCC, now_s=NOW_S))
        assert refused(token, trust) == "token.bad_algorithm"


@pytest.mark.parametrize("encoding", ["raw", "pem", "der", "jwk-x"])
def test_hmac_keyed_with_the_public_key_is_refused(
    cn: Federation, trust: TrustView, encoding: str
) -> None:
    """The classic confusion: HS256 with the issuer's *public* key (which everyone has) as the
    HMAC secret. A verifier that let the header choose the algorithm would accept it."""
    public = gd_key(cn).public_key()
    secret = {
        "raw": raw_public(public),
        "pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        "jwk-x": jwt_parts(forged(cn))[0]["kid"].encode(),
    }[encoding]
    kid = token_key_id("CN-GD", gd_key(cn))
    for alg in ("HS256", "HS384", "HS512"):
        token = forge(
            header(kid, alg=alg),
            claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
            hmac_secret=secret,
        )
        assert refused(token, trust) == "token.bad_algorithm", alg


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "Ed25519", "eddsa"])
def test_only_eddsa_is_accepted(cn: Federation, trust: TrustView, alg: str) -> None:
    token = forge(
        header(token_key_id("CN-GD", gd_key(cn)), alg=alg),
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
        ed25519=gd_key(cn),
    )
    assert refused(token, trust) == "token.bad_algorithm"


@pytest.mark.parametrize(
    "changes",
    [{"typ": "JWT"}, {"typ": None}, {"kid": None}, {"kid": 7}, {"typ": "at+JWT-ish"}],
)
def test_header_without_typ_or_kid(
    cn: Federation, trust: TrustView, changes: dict[str, object]
) -> None:
    head: dict[str, object] = header(token_key_id("CN-GD", gd_key(cn)))
    for name, value in changes.items():
        if value is None:
            del head[name]
        else:
            head[name] = value
    token = forge(head, claims(issuer="CN-GD", party=USCC, now_s=NOW_S), ed25519=gd_key(cn))
    assert refused(token, trust) == "token.malformed"


# -- step 2: the key -------------------------------------------------------------------------


def test_unknown_key(cn: Federation, trust: TrustView) -> None:
    stranger = Ed25519PrivateKey.generate()
    token = forge(
        header(token_key_id("CN-GD", stranger)),
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
        ed25519=stranger,
    )
    assert refused(token, trust) == "token.unknown_key"


def test_a_signing_key_is_not_a_token_key(cn: Federation, trust: TrustView) -> None:
    """Keys are separate per purpose: CN-GD's envelope signing key cannot sign tokens."""
    signing = cn.members["CN-GD"].signing_key
    kid = key_id("CN-GD", PURPOSE_SIGNING, raw_public(signing))
    token = forge(header(kid), claims(issuer="CN-GD", party=USCC, now_s=NOW_S), ed25519=signing)
    assert refused(token, trust) == "token.unknown_key"


# -- step 3: signature, audience, claims -----------------------------------------------------


def test_signed_by_another_key_than_kid_names(cn: Federation, trust: TrustView) -> None:
    token = forge(
        header(token_key_id("CN-GD", gd_key(cn))),
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
        ed25519=cn.members["CN-SH"].token_key,
    )
    assert refused(token, trust) == "token.bad_signature"


def test_a_changed_payload_breaks_the_signature(cn: Federation, trust: TrustView) -> None:
    head, payload, signature = issue(cn).split(".")
    _, other, _ = forged(cn, roles=["admin", "declarant", "customs_broker"]).split(".")
    assert refused(f"{head}.{other}.{signature}", trust) == "token.bad_signature"
    assert refused(f"{head}.{payload}.", trust) == "token.bad_signature"


def test_wrong_audience(cn: Federation, sg: Federation, trust: TrustView) -> None:
    assert refused(forged(cn, aud="swnode:SG"), trust) == "token.wrong_audience"
    assert refused(forged(cn, aud="swnode:CN-GD"), trust) == "token.wrong_audience"


def test_a_foreign_federations_key_never_authenticates_at_home(
    cn: Federation, sg: Federation, trust: TrustView
) -> None:
    """A trusted foreign window's directory is held to check its envelopes; its token key
    signs nothing for this federation, whatever audience the token names."""
    sg_key = sg.members["SG"].token_key
    for federation in ("SG", "CN"):  # SG's own audience, and ours
        token = forge(
            header(token_key_id("SG", sg_key)),
            claims(issuer="SG", party="customs", now_s=NOW_S, federation=federation),
            ed25519=sg_key,
        )
        assert refused(token, trust) == "token.foreign_issuer"
        assert refused(token, trust, at="CN") == "token.foreign_issuer"
    # ... and CN's tokens are not good in SG either.
    at_sg = TrustView.build("SG", sg.directory(trusts=[cn]), {"CN": cn.directory()})
    assert refused(issue(cn), at_sg, at="SG") == "token.foreign_issuer"


@pytest.mark.parametrize("missing", tokens.REQUIRED)
def test_a_required_claim_missing(cn: Federation, trust: TrustView, missing: str) -> None:
    payload = claims(issuer="CN-GD", party=USCC, now_s=NOW_S)
    del payload[missing]
    token = forge(header(token_key_id("CN-GD", gd_key(cn))), payload, ed25519=gd_key(cn))
    assert refused(token, trust) == "token.malformed"


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": "yesterday"},
        {"exp": "soon"},
        {"exp": None},
        {"exp": float("inf")},
        {"iat": True},
        {"roles": "admin"},
        {"roles": [1, 2]},
        {"party_roles": {"a": 1}},
    ],
)
def test_claims_of_the_wrong_type(
    cn: Federation, trust: TrustView, changes: dict[str, object]
) -> None:
    """Even a token signed by a trusted key is refused (not a crash) when a claim has the wrong
    type."""
    assert refused(forged(cn, **changes), trust) == "token.malformed"


def test_subject_and_party_must_agree(cn: Federation, trust: TrustView) -> None:
    assert refused(forged(cn, sub="91110000100000000R/alice"), trust) == "token.malformed"


# -- step 4: issuer --------------------------------------------------------------------------


def test_key_of_one_node_claiming_another_issuer(cn: Federation, trust: TrustView) -> None:
    """CN-SH's real token key (kid and signature both right) cannot speak for CN-GD."""
    sh_key = cn.members["CN-SH"].token_key
    token = forge(
        header(token_key_id("CN-SH", sh_key)),
        claims(issuer="CN-GD", party=USCC, now_s=NOW_S),
        ed25519=sh_key,
    )
    assert refused(token, trust) == "token.issuer_mismatch"


def test_a_revoked_issuer(cn: Federation) -> None:
    view = TrustView.build("CN-SH", cn.directory(revoked=["CN-GD"]))
    assert refused(issue(cn), view) == "token.revoked_issuer"


def test_a_node_whose_directory_expired_fails_closed(cn: Federation, trust: TrustView) -> None:
    """A node that cannot renew its directory cannot know which issuers were revoked since."""
    token = issue(cn, now_ms=NOW_MS + HOUR_MS - 60_000)
    assert verify(token, trust, now_ms=NOW_MS + HOUR_MS - 1).user == "alice"
    with pytest.raises(Unavailable) as info:
        verify(token, trust, now_ms=NOW_MS + HOUR_MS)
    assert info.value.reason == "directory.expired"


# -- step 5: time ----------------------------------------------------------------------------


def test_expired(cn: Federation, trust: TrustView) -> None:
    assert refused(forged(cn, iat=NOW_S - 600, exp=NOW_S), trust) == "token.expired"
    assert refused(forged(cn, iat=NOW_S - 900, exp=NOW_S - 1), trust) == "token.expired"


def test_issued_in_the_future(cn: Federation, trust: TrustView) -> None:
    assert verify(forged(cn, iat=NOW_S + 60, exp=NOW_S + 600), trust).user == "alice"
    assert refused(forged(cn, iat=NOW_S + 61, exp=NOW_S + 600), trust) == "token.bad_lifetime"


def test_valid_for_longer_than_15_minutes(cn: Federation, trust: TrustView) -> None:
    assert verify(forged(cn, iat=NOW_S, exp=NOW_S + 900), trust).user == "alice"
    assert refused(forged(cn, iat=NOW_S, exp=NOW_S + 901), trust) == "token.bad_lifetime"
    assert refused(forged(cn, iat=NOW_S - 86400, exp=NOW_S + 60), trust) == "token.bad_lifetime"


# -- step 6: revocation ----------------------------------------------------------------------


def test_revoked(cn: Federation, trust: TrustView) -> None:
    seen: list[tokens.Claims] = []

    def logged_out(c: tokens.Claims) -> str | None:
        seen.append(c)
        return "logged out" if c.session_id == "s1" else None

    with pytest.raises(Unauthenticated) as info:
        verify(issue(cn), trust, revoked=logged_out)
    assert info.value.reason == "token.revoked"
    assert "logged out" in info.value.message
    assert seen[0].subject == f"{USCC}/alice"
    assert verify(forged(cn, sid="s2"), trust, revoked=logged_out).session_id == "s2"


def test_revocation_is_checked_last(cn: Federation, trust: TrustView) -> None:
    """The revocation callback only ever sees tokens that passed every other check."""
    calls: list[str] = []

    def record(c: tokens.Claims) -> None:
        calls.append(c.token_id)

    for bad in (forged(cn, aud="swnode:SG"), forged(cn, iat=NOW_S - 900, exp=NOW_S)):
        refused(bad, trust, revoked=record)
    assert calls == []


# -- roles -----------------------------------------------------------------------------------


def test_require_roles(cn: Federation, trust: TrustView) -> None:
    admin = verify(issue(cn), trust)
    tokens.require_roles(admin, "admin")
    tokens.require_roles(admin, "customs_broker", "declarant")
    clerk = verify(forged(cn, roles=["declarant"]), trust)
    with pytest.raises(PermissionDenied) as info:
        tokens.require_roles(clerk, "admin")
    assert info.value.reason == "auth.missing_role"
    assert f"{USCC}/alice" in info.value.message
