"""Access tokens of the sm2 profile: signed SM2SM3 (IDENTITY.md §4.3), verified by the §4.2
rules unchanged, and never under an algorithm the key does not declare. The signature is checked
by a second, independent SM2 implementation (gmssl) as well."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gmssl import sm2 as gm_sm2

from core import algorithms
from core.algorithms import Sm2PrivateKey
from core.errors import Unauthenticated
from core.trust import TrustView
from identity import tokens
from identity.token_algorithms import jwk
from tests.factories import NOW_MS, Federation
from tests.identity_client import claims, forge, header, jwt_parts, token_key_id

USCC = "91440300MA5G1234XY"


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"], crypto="sm2")


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def issue(fed: Federation, node: str) -> str:
    key = fed.members[node].token_key
    token, _ = tokens.issue(
        key=key,
        key_id=token_key_id(node, key),
        issuer=node,
        party=USCC,
        party_kind="enterprise",
        user="alice",
        roles=["declarant"],
        party_roles=["declarant"],
        session_id="s1",
        now_ms=NOW_MS,
    )
    return token


def refused(token: str, trust: TrustView, at: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        tokens.verify(token, trust=trust, self_id=at, now_ms=NOW_MS)
    return caught.value.reason


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_an_sm2_token_is_sm2sm3_and_verifies_at_every_node(cn: Federation) -> None:
    token = issue(cn, "CN-GD")
    head, _ = jwt_parts(token)
    assert head["alg"] == "SM2SM3"
    trust = TrustView.build("CN-SH", cn.directory())
    assert tokens.verify(token, trust=trust, self_id="CN-SH", now_ms=NOW_MS).party == USCC
    # r || s, checked by gmssl over the JWS signing input with the default user id
    signing_input, _, signature = token.rpartition(".")
    rs = b64d(signature)
    assert len(rs) == 64
    key = cn.members["CN-GD"].token_key
    assert isinstance(key, Sm2PrivateKey)
    public = key.public_bytes()[1:].hex()
    assert not public.startswith("04")  # gmssl misreads a bare x || y starting so
    other = gm_sm2.CryptSM2(private_key="", public_key=public)
    assert other.verify_with_sm3(rs.hex(), signing_input.encode())
    assert not other.verify_with_sm3(rs.hex(), signing_input.encode() + b"x")


def test_a_token_under_another_alg_than_its_key_declares_is_refused(
    cn: Federation, sg: Federation
) -> None:
    stranger = Ed25519PrivateKey.generate()
    sm2_kid = token_key_id("CN-GD", cn.members["CN-GD"].token_key)
    payload = claims(issuer="CN-GD", party=USCC, now_s=NOW_MS // 1000)
    # EdDSA under an SM2 key's id: refused before any signature is checked
    eddsa = forge(header(sm2_kid), payload, ed25519=stranger)
    assert refused(eddsa, TrustView.build("CN-SH", cn.directory()), "CN-SH") == (
        "token.bad_algorithm"
    )
    # SM2SM3 under an Ed25519 key's id
    sg_key = sg.members["SG"].token_key
    sm2sm3 = forge(
        header(token_key_id("SG", sg_key), alg="SM2SM3"),
        claims(issuer="SG", party="SG/x", now_s=NOW_MS // 1000, federation="SG"),
        ed25519=Sm2PrivateKey.generate(),
    )
    assert refused(sm2sm3, TrustView.build("SG", sg.directory()), "SG") == "token.bad_algorithm"
    # and anything else, as before
    for alg in ("ES256", "HS256", "none", "SM2"):
        other = forge(header(sm2_kid, alg=alg), payload)
        assert refused(other, TrustView.build("CN-SH", cn.directory()), "CN-SH") == (
            "token.bad_algorithm"
        )


def test_a_tampered_sm2_token_does_not_verify(cn: Federation) -> None:
    token = issue(cn, "CN-GD")
    head, payload, signature = token.split(".")
    rs = bytearray(b64d(signature))
    rs[10] ^= 1
    forged = f"{head}.{payload}." + base64.urlsafe_b64encode(bytes(rs)).rstrip(b"=").decode()
    trust = TrustView.build("CN-SH", cn.directory())
    assert refused(forged, trust, "CN-SH") == "token.bad_signature"
    # a DER signature where r || s belongs is refused too
    key = cn.members["CN-GD"].token_key
    der = algorithms.sign(key, f"{head}.{payload}".encode())
    forged = f"{head}.{payload}." + base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    assert refused(forged, trust, "CN-SH") == "token.bad_signature"


def test_the_jwk_of_an_sm2_token_key(cn: Federation, sg: Federation) -> None:
    (entry,) = [n for n in cn.directory().nodes if n.id == "CN-GD"]
    (key,) = entry.token_keys
    got = jwk(key)
    assert got["kty"] == "EC" and got["crv"] == "SM2" and got["alg"] == "SM2SM3"
    assert b"\x04" + b64d(got["x"]) + b64d(got["y"]) == key.public_key
    assert got["kid"] == key.key_id and got["use"] == "sig"
    (sg_key,) = sg.directory().nodes[0].token_keys
    assert jwk(sg_key)["kty"] == "OKP" and jwk(sg_key)["alg"] == "EdDSA"
