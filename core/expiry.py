"""When each of a node's certificates and keys stops being usable, as its own directory says
(docs/PROTOCOL.md §2.9; OPERATIONS.md "Rotation calendar"). The metric
`swnode_key_expiry_seconds` and the warnings of `swnode status` are read from here.

- `tls`: the `notAfter` of the certificate the node presents (`keys/tls.crt` as taken into use),
  else of the one the directory lists for it;
- `ca`: the `notAfter` of the CA that issued that certificate (found in the directory or in
  `keys/ca.crt`), else of the federation's current CA;
- `signing`, `token`: the end of the key in use (the listed key that became valid last): its
  retirement if one is set, else its `not_after`; a key without either is not listed here;
- `directory`: when the held directory expires (a central re-signs it on its own; a province
  needs its central to be reachable before then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from core.key_lifetimes import Lifetime, refusal
from core.signing import fingerprint
from core.trust import TrustView
from swf.v1 import directory_pb2 as pb

__all__ = ["WARN_WITHIN_MS", "Issuer", "expiries", "expiring", "issuer_of"]

WARN_WITHIN_MS = 30 * 86_400_000


def _not_after_ms(der: bytes) -> int | None:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return int(cert.not_valid_after_utc.timestamp() * 1000)


def _key_end(keys: list[pb.PublicKey], now_ms: int) -> int | None:
    usable = [k for k in keys if refusal(Lifetime.of(k), now_ms) is None]
    if not usable:
        return None
    key = max(usable, key=lambda k: k.not_before_unix_ms)
    return key.retired_at_unix_ms or key.not_after_unix_ms or None


@dataclass(frozen=True)
class Issuer:
    """The CA that issued a node's TLS certificate, and where its directory has it (§2.9):
    `current` (issues now), `next` (issues from a CA rotation's activation), `retiring`
    (retires at `retired_at_ms`, later), `retired`, or `unlisted` (only in `keys/ca.crt`)."""

    fingerprint: str  # SHA-256 of the CA certificate, hex, as `swnode rotate --key ca` prints
    standing: str
    not_after_ms: int
    retired_at_ms: int = 0

    def warning(self, now_ms: int, within_ms: int = WARN_WITHIN_MS) -> bool:
        """Whether the certificate needs a new one from the current CA soon: its CA is
        retired, unlisted, or retires within `within_ms`."""
        if self.standing in ("retired", "unlisted"):
            return True
        return self.standing == "retiring" and self.retired_at_ms - now_ms < within_ms


def _issued_by(cert: x509.Certificate, ca_der: bytes) -> x509.Certificate | None:
    try:
        ca = x509.load_der_x509_certificate(ca_der)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return None
    return ca


def issuer_of(
    cert_der: bytes, directory: pb.Directory | None, now_ms: int, held: Sequence[bytes] = ()
) -> Issuer | None:
    """Which of the CAs `directory` lists (else of `held`, keys/ca.crt) signed `cert_der`."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        return None
    listed: list[tuple[bytes, str, int]] = []
    if directory is not None and directory.ca_certificate:
        listed.append((directory.ca_certificate, "current", 0))
        for other in directory.other_ca_certificates:
            if other.retired_at_unix_ms:
                gone = other.retired_at_unix_ms <= now_ms
                standing = "retired" if gone else "retiring"
            else:
                standing = "next"
            listed.append((other.certificate, standing, other.retired_at_unix_ms))
    listed += [(der, "unlisted", 0) for der in held]
    for der, standing, retired_at in listed:
        ca = _issued_by(cert, der)
        if ca is not None:
            end = int(ca.not_valid_after_utc.timestamp() * 1000)
            return Issuer(fingerprint(der), standing, end, retired_at)
    return None


def expiries(
    trust: TrustView,
    node_id: str,
    now_ms: int,
    *,
    in_use: bytes | None = None,
    held: Sequence[bytes] = (),
) -> dict[str, int]:
    """Unix ms at which each of `node_id`'s certificates and keys expires, by kind; `in_use`
    is the TLS certificate it presents (DER) and `held` the CAs of its keys/ca.crt."""
    found: dict[str, int | None] = {}
    own = trust.own
    if own is not None:
        found["directory"] = own.expires_at_unix_ms
        found["ca"] = _not_after_ms(own.ca_certificate) if own.ca_certificate else None
    me = trust.node(node_id)
    if me is not None:
        found["tls"] = _not_after_ms(me.tls_certificate) if me.tls_certificate else None
    if in_use is not None:
        found["tls"] = _not_after_ms(in_use)
        issuer = issuer_of(in_use, own, now_ms, held)
        if issuer is not None:
            found["ca"] = issuer.not_after_ms
    if me is not None:
        found["signing"] = _key_end(list(me.signing_keys), now_ms)
        found["token"] = _key_end(list(me.token_keys), now_ms)
    return {kind: at for kind, at in found.items() if at is not None}


def expiring(found: dict[str, int], now_ms: int, within_ms: int = WARN_WITHIN_MS) -> list[str]:
    """The kinds that expire within `within_ms` (a central's directory aside: it re-signs it
    itself long before), soonest first."""
    return sorted(
        (k for k, at in found.items() if at - now_ms < within_ms and k != "directory"),
        key=lambda k: found[k],
    )
