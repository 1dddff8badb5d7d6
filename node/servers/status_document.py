"""The status document that `swnode status --json` prints and the ops port's /status serves,
and the JWKS of the node's token keys: built from the configuration and the signed directory,
whether the node runs or not."""

from __future__ import annotations

import time
from typing import Any

from core import directory as dirs
from core.algorithms import KeyAlgorithm
from core.expiry import expiries, expiring
from core.hops import is_direct_neighbour, next_hop
from core.ids import federation_of, role_of
from core.trust import TrustView
from identity.token_algorithms import jwk as token_jwk
from node.config import NodeConfig
from storage.engine import redact
from swf.v1 import directory_pb2 as pb

__all__ = ["iso", "jwk", "node_status"]


def iso(ms: int) -> str:
    """A time in ms since the epoch, as people and JSON read it (UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def jwk(key: pb.PublicKey) -> dict[str, str]:
    """A token key as a JWK: RFC 8037 (Ed25519) or RFC 7518 §6.2 with crv SM2 (IDENTITY.md)."""
    return token_jwk(key)


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
) -> dict[str, Any]:
    """The status document: `swnode status --json` and the ops port's /status."""
    own = trust.own
    found = expiries(trust, config.id, now_ms)
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
        **config.addresses(),
        "storage": redact(config.storage_url),
    }
