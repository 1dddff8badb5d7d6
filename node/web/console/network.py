"""The directory (members, their status, certificate and key expiry) and the peers (reachable,
round-trip time, backlog, last error). Read from what the node already keeps: its status
document (node/servers/status_document.py, as `swnode status` prints it), its reachability
probes, the outbox's backlog and each peer's delivery state."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from starlette.responses import Response
from starlette.routing import Route

from node.web.console.access import Desk, console_page
from swf.v1 import directory_pb2 as pb

__all__ = ["routes"]

STATUS = {
    pb.NODE_STATUS_ACTIVE: "active",
    pb.NODE_STATUS_REVOKED: "revoked",
}


@dataclass(frozen=True)
class Member:
    id: str
    role: str
    status: str
    route: str
    reachable: bool
    certificate_expires_ms: int | None
    keys: int
    enrolled_at_ms: int


def _expires_ms(der: bytes) -> int | None:
    if not der:
        return None
    try:
        return int(x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp() * 1000)
    except ValueError:
        return None


@console_page()
async def directory(desk: Desk) -> Response:
    node = desk.node
    status = node.status()
    peers = {p["id"]: p for p in status["peers"]}
    members = []
    for entry in sorted(node.trust.nodes(), key=lambda n: n.id):
        peer = peers.get(entry.id, {})
        members.append(
            Member(
                id=entry.id,
                role=status["role"] if entry.id == status["id"] else peer.get("role", ""),
                status=STATUS.get(entry.status, "unknown"),
                route=peer.get("route", "self" if entry.id == status["id"] else ""),
                reachable=bool(peer.get("reachable", entry.id == status["id"])),
                certificate_expires_ms=_expires_ms(entry.tls_certificate),
                keys=len(entry.signing_keys) + len(entry.token_keys),
                enrolled_at_ms=entry.enrolled_at_unix_ms,
            )
        )
    keys = node.keys
    own = {
        name: int(cert.not_valid_after_utc.timestamp() * 1000)
        for name, cert in (("tls", keys.tls_cert), ("ca", keys.ca_cert))
        if cert is not None
    }
    return desk.render(
        "console/directory.html",
        status=status,
        members=members,
        own_certificates=own,
        now_ms=desk.now_ms(),
    )


@dataclass(frozen=True)
class Peer:
    id: str
    reachable: bool
    rtt_ms: float | None
    last_ok_ms: int | None
    probe_error: str | None
    backlog: dict[str, int]
    failures: int
    delivery_error: str | None
    retry_at_ms: int


@console_page()
async def peers(desk: Desk) -> Response:
    node = desk.node
    backlog = await node.db.outbox.backlog()
    states = {s.peer: s for s in await node.db.outbox.peer_states()}
    names = set(node.reachability.peers) | {p for p, _ in backlog} | set(states)
    rows = []
    for name in sorted(names):
        probe = node.reachability.peers.get(name)
        state = states.get(name)
        rows.append(
            Peer(
                id=name,
                reachable=bool(probe and probe.reachable),
                rtt_ms=probe.rtt_ms if probe and probe.reachable else None,
                last_ok_ms=probe.last_ok_unix_ms if probe else None,
                probe_error=probe.last_error if probe else None,
                backlog={s: n for (p, s), n in sorted(backlog.items()) if p == name},
                failures=state.failures if state else 0,
                delivery_error=state.last_error if state and state.failures else None,
                retry_at_ms=state.retry_at_unix_ms if state else 0,
            )
        )
    return desk.render("console/peers.html", peers=rows)


routes = [
    Route("/console", directory, name="console_directory"),
    Route("/console/peers", peers, name="console_peers"),
]
