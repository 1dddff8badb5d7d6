"""`swnode status`: ask the running node on its ops port; if it is not running, read its folder."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from core.errors import SwnodeError
from federation.directory_sync import load_trust
from identity.keys import load_node_keys
from node.config import NodeConfig, load_config
from node.operator.admin import now_ms, open_db
from node.servers.status_document import node_status, tls_in_use

__all__ = ["fetch_json", "live_status", "offline_status", "render", "status"]


def fetch_json(url: str, timeout_s: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (http only, ours)
        return json.loads(response.read())


def live_status(config: NodeConfig) -> dict[str, Any] | None:
    try:
        status = fetch_json(f"{config.ops_url}/status")
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return status if isinstance(status, dict) and status.get("id") == config.id else None


async def offline_status(config: NodeConfig) -> dict[str, Any]:
    keys = load_node_keys(config.dir)
    trust = None
    if keys.directory_public is not None:
        db = await open_db(config)
        try:
            trust = await load_trust(
                db, config.id, keys.directory_public, keys.profile.key_algorithm
            )
        finally:
            await db.close()
    from core.trust import TrustView

    return node_status(
        config,
        trust or TrustView.build(config.id, None),
        now_ms(),
        running=False,
        reachable={},
        in_use=tls_in_use(keys),
    )


async def status(node_dir: Path) -> dict[str, Any]:
    config = load_config(node_dir)
    live = live_status(config)
    if live is not None:
        return live
    try:
        return await offline_status(config)
    except SwnodeError:
        raise


def render(status: dict[str, Any]) -> str:
    d = status["directory"]
    lines = [
        f"node       {status['id']} ({status['role']}, federation {status['federation']})",
        f"state      {'running' if status['running'] else 'stopped'}"
        + (f", {'healthy' if status['healthy'] else 'NOT SERVING'}" if status["running"] else ""),
        f"directory  v{d['version']}, expires {d['expires_at'] or '-'}, "
        + ("valid" if d["valid"] else "NOT VALID: peer traffic refused"),
    ]
    if d.get("last_error"):
        lines.append(f"           last fetch failed: {d['last_error']}")
    for fed, f in d.get("foreign", {}).items():
        lines.append(
            f"foreign    {fed} v{f['version']}, expires {f['expires_at']}, "
            + ("valid" if f["valid"] else "NOT VALID")
        )
    lines.extend(
        f"WARNING    the {kind} {'certificate' if kind in ('tls', 'ca') else 'key'} expires "
        f"{status['keys'][kind]}, within 30 days: rotate it (OPERATIONS.md, rotation calendar)"
        for kind in status.get("expiring", [])
    )
    issuer = status.get("tls_issuer")
    if issuer is not None:
        retires = f", retires {issuer['retires_at']}" if issuer["retires_at"] else ""
        lines.append(f"tls ca     {issuer['fingerprint']} ({issuer['standing']}{retires})")
        if issuer["warning"]:
            lines.append(
                "WARNING    the TLS certificate is from a CA that is "
                + (
                    "retired"
                    if issuer["standing"] == "retired"
                    else "not listed"
                    if issuer["standing"] == "unlisted"
                    else "retiring within 30 days"
                )
                + ": renew it from the current CA (swnode rotate --key tls)"
            )
    e = status["endpoints"]
    lines.append(f"ports      peer {e['peer']}  client {e['client']}  ops {e['ops']}")
    if e.get("web"):
        lines.append(f"portal     {e['web']}")
    if status["peers"]:
        lines.append("peers")
        for p in status["peers"]:
            flags = (
                "revoked" if p["revoked"] else ("reachable" if p["reachable"] else "unreachable")
            )
            lines.append(f"  {p['id']:<8} {p['role']:<9} {flags:<12} {p['route']}")
    return "\n".join(lines)
