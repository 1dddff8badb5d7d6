"""Access tokens: JWTs signed by the user's home node, verifiable at every node of its federation.

Issued with the home node's token key (EdDSA for Ed25519, SM2SM3 for SM2: the federation's
profile), `kid` the key's directory id, `typ` "at+jwt". Verified against the keys in the signed
directory only, with the algorithm pinned: a token whose header names neither is refused before any
key is touched, and one whose `alg` is not the one its key declares is refused too.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.access import Claims
from core.algorithms import KeyAlgorithm, SigningKey
from core.directory import is_current
from core.errors import PermissionDenied, Unauthenticated, Unavailable, quote
from core.ids import federation_of
from core.key_lifetimes import check_usable
from core.trust import TrustView
from identity.token_algorithms import JWS_ALG, Sm2PublicKey, jws_alg

__all__ = [
    "ALGORITHM",
    "MAX_LIFETIME_S",
    "TOKEN_TYPE",
    "Claims",
    "audience",
    "issue",
    "require_roles",
    "verify",
]

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"  # noqa: S105 (the JWT typ, not a secret)
MAX_LIFETIME_S = 15 * 60
REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti", "sid", "party"]


def audience(federation: str) -> str:
    """Tokens are good in their issuer's federation only."""
    return f"swnode:{federation}"


def issue(
    *,
    key: SigningKey,
    key_id: str,
    issuer: str,
    party: str,
    party_kind: str,
    user: str,
    roles: Sequence[str],
    party_roles: Sequence[str],
    session_id: str,
    now_ms: int,
    lifetime_s: int = MAX_LIFETIME_S,
) -> tuple[str, Claims]:
    lifetime_s = min(lifetime_s, MAX_LIFETIME_S)
    claims = Claims(
        issuer=issuer,
        subject=f"{party}/{user}",
        party=party,
        party_kind=party_kind,
        user=user,
        roles=tuple(roles),
        party_roles=tuple(party_roles),
        session_id=session_id,
        token_id=str(uuid.uuid4()),
        issued_at_ms=now_ms,
        expires_at_ms=now_ms + lifetime_s * 1000,
    )
    payload = {
        "iss": issuer,
        "sub": claims.subject,
        "aud": audience(federation_of(issuer)),
        "iat": now_ms // 1000,
        "exp": claims.expires_at_ms // 1000,
        "jti": claims.token_id,
        "sid": session_id,
        "party": party,
        "party_kind": party_kind,
        "roles": list(roles),
        "party_roles": list(party_roles),
    }
    token = jwt.encode(
        payload,
        key,  # type: ignore[arg-type]  # an Sm2PrivateKey goes to the registered SM2SM3
        algorithm=jws_alg(key),
        headers={"kid": key_id, "typ": TOKEN_TYPE},
    )
    return token, claims


def verify(
    token: str,
    *,
    trust: TrustView,
    self_id: str,
    now_ms: int,
    revoked: Callable[[Claims], str | None] = lambda _: None,
    skew_s: int = 60,
) -> Claims:
    """The claims of a valid token, or Unauthenticated with the reason (docs/IDENTITY.md)."""
    # 1. A JWT whose header pins our algorithm and type and names a key.
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("token.malformed", "the bearer token is not a JWT") from exc
    alg = header.get("alg")
    if alg not in JWS_ALG.values():
        raise Unauthenticated(
            "token.bad_algorithm",
            f"tokens are signed with {' or '.join(JWS_ALG.values())} only, not {quote(alg)}",
        )
    if header.get("typ") != TOKEN_TYPE or not isinstance(header.get("kid"), str):
        raise Unauthenticated("token.malformed", "the token header lacks typ at+jwt or a kid")
    # 2. The key is a token key in a directory this node trusts.
    ref = trust.token_key(header["kid"])
    if ref is None:
        raise Unauthenticated("token.unknown_key", f"token key {quote(header['kid'])} is not known")
    # 2a. It is valid now and not retired (PROTOCOL.md §2.9): a token key rotated out stays
    #     listed through the overlap, so tokens it issued before are accepted until they expire.
    check_usable(ref.life, now_ms, what=f"token key {ref.key_id}", skew_ms=skew_s * 1000)
    # A node trusts other federations' directories to check their envelopes, never their tokens:
    # a foreign window speaks for its own parties, not for ours (IDENTITY.md §4.2).
    if federation_of(ref.node_id) != federation_of(self_id):
        raise Unauthenticated(
            "token.foreign_issuer",
            f"token key {quote(header['kid'])} belongs to {ref.node_id}, a node of federation "
            f"{federation_of(ref.node_id)}; tokens are accepted from federation "
            f"{federation_of(self_id)} only",
        )
    # 2b. The header's alg is the one the key declares, and no other (§4.2).
    wanted = JWS_ALG.get(KeyAlgorithm(ref.algorithm)) if ref.algorithm in (1, 2) else None
    if alg != wanted:
        raise Unauthenticated(
            "token.bad_algorithm",
            f"token key {quote(header['kid'])} is declared {wanted or 'of an unknown algorithm'}; "
            f"a token signed {quote(alg)} is not accepted with it",
        )
    verifier: Ed25519PublicKey | Sm2PublicKey = (
        Sm2PublicKey(ref.public_key)
        if ref.algorithm == KeyAlgorithm.SM2
        else Ed25519PublicKey.from_public_bytes(ref.public_key)
    )
    # 3. The signature, the audience (this node's federation) and the claims we need.
    try:
        payload = jwt.decode(
            token,
            verifier,  # type: ignore[arg-type]  # PyJWT's registered SM2SM3 takes it
            algorithms=[str(alg)],
            audience=audience(federation_of(self_id)),
            options={
                "require": REQUIRED,
                "verify_exp": False,  # checked below against the node's clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated(
            "token.wrong_audience", f"the token is not for federation {federation_of(self_id)}"
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthenticated(
            "token.bad_signature", "the token's signature does not verify"
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("token.malformed", f"the token is not acceptable: {exc}") from exc
    # 4. The key belongs to the issuer, the issuer is a live member, and the directory that
    # says so is current.
    if payload["iss"] != ref.node_id:
        raise Unauthenticated(
            "token.issuer_mismatch",
            f"the token claims issuer {quote(payload['iss'])} "
            f"but was signed by {ref.node_id}'s key",
        )
    if not trust.is_active(ref.node_id):
        raise Unauthenticated("token.revoked_issuer", f"node {ref.node_id} has been revoked")
    # (A node whose directory has expired cannot know which issuers were revoked since: it
    # fails closed, as it does for peer traffic.)
    directory = trust.directory_of(federation_of(ref.node_id))
    if directory is None or not is_current(directory, now_ms):
        raise Unavailable(
            "directory.expired",
            f"node {self_id} holds no current directory of federation "
            f"{federation_of(ref.node_id)}; it cannot check tokens until it fetches one",
        )
    # 5. Time: issued, not expired, and never longer-lived than 15 minutes.
    if not all(_is_time(payload[c]) for c in ("iat", "exp")) or not all(
        _is_strings(payload.get(c, [])) for c in ("roles", "party_roles")
    ):
        raise Unauthenticated("token.malformed", "the token's claims have the wrong types")
    iat, exp = int(payload["iat"]) * 1000, int(payload["exp"]) * 1000
    if now_ms >= exp:
        raise Unauthenticated("token.expired", "the access token has expired; log in or refresh")
    if iat > now_ms + skew_s * 1000 or exp - iat > MAX_LIFETIME_S * 1000:
        raise Unauthenticated("token.bad_lifetime", "the token's validity period is not acceptable")
    party, _, user = str(payload["sub"]).partition("/")
    claims = Claims(
        issuer=str(payload["iss"]),
        subject=str(payload["sub"]),
        party=str(payload["party"]),
        party_kind=str(payload.get("party_kind", "enterprise")),
        user=user,
        roles=tuple(payload.get("roles", [])),
        party_roles=tuple(payload.get("party_roles", [])),
        session_id=str(payload["sid"]),
        token_id=str(payload["jti"]),
        issued_at_ms=iat,
        expires_at_ms=exp,
    )
    if party != claims.party:
        raise Unauthenticated("token.malformed", "the token's subject and party disagree")
    # 6. Not revoked: logged out, user disabled, party suspended.
    why = revoked(claims)
    if why is not None:
        raise Unauthenticated("token.revoked", f"the token was revoked: {why}")
    return claims


def _is_time(value: object) -> bool:
    """A NumericDate (RFC 7519): seconds since the epoch, a JSON number."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def require_roles(claims: Claims, *roles: str) -> None:
    if not claims.has_any(roles):
        raise PermissionDenied(
            "auth.missing_role",
            f"{claims.subject} needs one of the roles {', '.join(roles)} for this",
        )
