"""Operator actions on messages: send a document, list messages, redrive, export and verify
evidence. They work on the node folder beside the running node, and tell it of what they queued
through its ops port's /wake (`wake_node`): a node sleeps until work wakes it, and on SQLite
nothing else tells it of another process's writes (PostgreSQL's NOTIFY does too)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from core import evidence
from core.anchor import decode_anchor
from core.envelope import Draft
from core.errors import InvalidArgument
from core.signer import Signer
from core.trace_context import parse_traceparent
from core.trust import TrustView
from federation.directory_sync import load_trust
from federation.outbox import Outbox
from identity.keys import NodeKeys, load_node_keys
from node.config import NodeConfig, load_config
from node.operator.admin import now_ms, open_db
from node.operator.evidence import evidence_json, message_evidence
from node.runtime import outbox_settings
from node.servers.status_document import iso
from storage.database import Database
from swf.v1 import envelope_pb2 as pb

__all__ = [
    "Context",
    "evidence_json",
    "export_evidence",
    "messages",
    "node_context",
    "redrive",
    "send",
    "verify_evidence_file",
    "wake_node",
]


@dataclass
class Context:
    config: NodeConfig
    keys: NodeKeys
    db: Database
    trust: TrustView

    def outbox(self, ttl_s: float | None = None) -> Outbox:
        settings = outbox_settings(self.config)
        if ttl_s is not None:
            settings = replace(settings, ttl_ms=int(ttl_s * 1000))

        def notify(_hop: str) -> None:
            wake_node(self.config)

        return Outbox(
            node_id=self.config.id,
            db=self.db,
            signer=Signer.of(self.config.id, self.keys.signing_key),
            trust=lambda: self.trust,
            clock_ms=now_ms,
            settings=settings,
            notify=notify,
        )


def wake_node(config: NodeConfig) -> bool:
    """Ask the running node to look at its outbox now; False when it does not answer (a node
    that is not running finds the work when it starts)."""
    url = f"{config.ops_url}/wake"  # the node's own ops URL, http on loopback
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=2) as r:  # noqa: S310
            return bool(r.status == 202)
    except (OSError, urllib.error.URLError):
        return False


@asynccontextmanager
async def node_context(node_dir: Path) -> AsyncIterator[Context]:
    config = load_config(node_dir)
    keys = load_node_keys(node_dir)
    db = await open_db(config)
    try:
        trust = (
            await load_trust(db, config.id, keys.directory_public, keys.profile.key_algorithm)
            if keys.directory_public
            else TrustView.build(config.id, None)
        )
        yield Context(config, keys, db, trust)
    finally:
        await db.close()


async def send(
    node_dir: Path, recipient: str, document_type: str, payload: bytes, ttl_s: float | None = None
) -> str:
    async with node_context(node_dir) as ctx:
        (message_id,) = await ctx.outbox(ttl_s).submit(
            [Draft(recipient=recipient, document_type=document_type, payload=payload)]
        )
    return message_id


async def messages(
    node_dir: Path, *, direction: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    async with node_context(node_dir) as ctx:
        records = []
        if direction in (None, "out", "relay"):
            records += await ctx.db.outbox.list(ctx.config.id, status=status, limit=limit)
        if direction in (None, "in"):
            records += await ctx.db.inbox.list(status=status, limit=limit)
    rows = []
    for r in records:
        if direction and r.direction != direction:
            continue
        row = asdict(r)
        traced = parse_traceparent(row.pop("traceparent"))
        row["trace_id"] = f"{traced.trace_id:032x}" if traced else None
        row["created_at"] = iso(r.created_at_unix_ms)
        row["updated_at"] = iso(r.updated_at_unix_ms)
        rows.append(row)
    rows.sort(key=lambda r: r["created_at_unix_ms"], reverse=True)
    return rows[:limit]


async def redrive(node_dir: Path, message_id: str) -> str:
    async with node_context(node_dir) as ctx:
        return await ctx.outbox().redrive(message_id)


async def export_evidence(node_dir: Path, message_id: str) -> pb.Evidence:
    """The message's header and every receipt for it, with the directories that verify them."""
    async with node_context(node_dir) as ctx:
        signer = Signer.of(ctx.config.id, ctx.keys.signing_key)
        return await message_evidence(ctx.db, ctx.trust, signer, message_id)


def verify_evidence_file(anchor_file: Path, evidence_file: Path) -> evidence.Verified:
    anchor = decode_anchor(anchor_file.read_text())
    ev = pb.Evidence()
    try:
        json_format.Parse(evidence_file.read_text(), ev)
    except json_format.ParseError as exc:
        raise InvalidArgument(
            "evidence.malformed", f"receipt file: not an evidence file ({exc})", field="receipt"
        ) from exc
    return evidence.verify(ev, anchor)
