"""When each of a node's certificates and keys stops being usable, as its own directory says
(docs/PROTOCOL.md §2.9; OPERATIONS.md "Rotation calendar"). The metric
`swnode_key_expiry_seconds` and the warnings of `swnode status` are read from here.

- `tls`: the `notAfter` of the certificate the directory lists for the node;
- `ca`: the `notAfter` of the federation CA's certificate;
- `signing`, `token`: the end of the key in use (the listed key that became valid last): its
  retirement if one is set, else its `not_after`; a key without either is not listed here;
- `directory`: when the held directory expires (a central re-signs it on its own; a province
  needs its central to be reachable before then).
"""

from __future__ import annotations

from cryptography import x509

from core.key_lifetimes import Lifetime, refusal
from core.trust import TrustView
from swf.v1 import directory_pb2 as pb

__all__ = ["WARN_WITHIN_MS", "expiries", "expiring"]

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


def expiries(trust: TrustView, node_id: str, now_ms: int) -> dict[str, int]:
    """Unix ms at which each of `node_id`'s certificates and keys expires, by kind."""
    found: dict[str, int | None] = {}
    own = trust.own
    if own is not None:
        found["directory"] = own.expires_at_unix_ms
        found["ca"] = _not_after_ms(own.ca_certificate) if own.ca_certificate else None
    me = trust.node(node_id)
    if me is not None:
        found["tls"] = _not_after_ms(me.tls_certificate) if me.tls_certificate else None
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
