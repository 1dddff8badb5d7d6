"""The status document that `swnode status --json` prints and the ops port's /status serves,
and the JWKS of the node's token keys: built from the configuration and the signed directory,
whether the node runs or not."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from core import directory as dirs
from core.algorithms import KeyAlgorithm
from core.expiry import expiries, expiring, issuer_of
from core.hops import is_direct_neighbour, next_hop
from core.ids import federation_of, role_of
from core.trust import TrustView
from identity.keys import NodeKeys
from identity.token_algorithms import jwk as token_jwk
from node.config import NodeConfig
from storage.engine import redact
from swf.v1 import directory_pb2 as pb

__all__ = ["InUse", "iso", "jwk", "node_status", "tls_in_use"]


def iso(ms: int) -> str:
    """A time in ms since the epoch, as people and JSON read it (UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def jwk(key: pb.PublicKey) -> dict[str, str]:
    """A token key as a JWK: RFC 8037 (Ed25519) or RFC 7518 §6.2 with crv SM2 (IDENTITY.md)."""
    return token_jwk(key)


InUse = tuple[bytes | None, list[bytes]]


def tls_in_use(keys: NodeKeys) -> InUse:
    """The TLS certificate a node presents and the CAs of its keys/ca.crt, as DER."""
    cert = keys.tls_cert
    der = cert.public_bytes(Encoding.DER) if cert is not None else None
    return der, [c.public_bytes(Encoding.DER) for c in keys.ca_bundle]


def _profile(directory: pb.Directory) -> str:
    """The crypto profile a directory declares (PROTOCOL.md §0.9), by name."""
    return "sm2" if dirs.directory_key_algorithm(directory) is KeyAlgorithm.SM2 else "ed25519"


def node_status(
    config: NodeConfig,
    trust: TrustView,
    now_ms: int,
    *,
    running: bool,
    reachable: dict[str, bool],
    replica: str | None = None,
    pid: int | None = None,
    last_error: str | None = None,
    foreign_errors: dict[str, str] | None = None,
    healthy: bool = False,
    in_use: InUse = (None, []),
) -> dict[str, Any]:
    """The status document: `swnode status --json` and the ops port's /status. `in_use` is
    the TLS certificate the node presents and the CAs of its keys/ca.crt (`tls_in_use`)."""
    own = trust.own
    cert, held = in_use
    found = expiries(trust, config.id, now_ms, in_use=cert, held=held)
    issuer = issuer_of(cert, own, now_ms, held) if cert else None
    peers = []
    for node in sorted(trust.nodes(), key=lambda n: n.id):
        if node.id == config.id:
            continue
        hop = next_hop(config.id, node.id)
        peers.append(
            {
                "id": node.id,
                "role": role_of(node.id).value,
                "federation": federation_of(node.id),
                "reachable": bool(reachable.get(hop, False)),
                "revoked": node.status == pb.NODE_STATUS_REVOKED,
                "route": "direct" if is_direct_neighbour(config.id, node.id) else f"via {hop}",
            }
        )
    return {
        "id": config.id,
        "role": config.role.value,
        "federation": config.federation,
        "running": running,
        "healthy": healthy and running,
        "pid": pid,
        "replica": replica,
        "directory": {
            "version": trust.version,
            "crypto": _profile(own) if own else None,
            "issued_at": iso(own.issued_at_unix_ms) if own else None,
            "expires_at": iso(own.expires_at_unix_ms) if own else None,
            "valid": trust.valid(now_ms),
            "last_error": last_error,
            "foreign": {
                fed: {
                    "version": d.version,
                    "crypto": _profile(d),
                    "expires_at": iso(d.expires_at_unix_ms),
                    "valid": dirs.is_current(d, now_ms),
                    "error": (foreign_errors or {}).get(fed),
                }
                for fed, d in sorted(trust.foreign.items())
            },
            "trusted_federations": sorted(a.federation for a in trust.trusted_anchors()),
        },
        "peers": peers,
        # When each certificate and key expires; `expiring` lists those within 30 days.
        "keys": {k: iso(at) for k, at in sorted(found.items())},
        "expiring": expiring(found, now_ms),
        # The CA that issued the TLS certificate presented, and where the directory has it.
        "tls_issuer": None
        if issuer is None
        else {
            "fingerprint": issuer.fingerprint,
            "standing": issuer.standing,
            "retires_at": iso(issuer.retired_at_ms) if issuer.retired_at_ms else None,
            "warning": issuer.warning(now_ms),
        },
        **config.addresses(),
        "storage": redact(config.storage_url),
    }
