"""Messages on a running test network, as an operator or a misbehaving peer would handle them:
queue documents in a node's outbox (the running node sends them), read each side's statuses and
inbox from its database, and speak the Exchange stream directly with a node's own keys."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from core.envelope import Draft, new_message_id, seal
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from node.operator.messaging import node_context
from swf.v1 import envelope_pb2 as pb
from swf.v1 import peer_pb2_grpc
from tests.conftest import run_coroutine
from tests.harness import Network, swnode


def submit(
    node_dir: Path,
    recipient: str,
    count: int,
    *,
    payload: bytes = b"document",
    ttl_s: float | None = None,
    batch: int = 250,
) -> list[str]:
    """Queue `count` documents for `recipient` in the node's outbox, as `swnode send` does."""

    async def go() -> list[str]:
        ids: list[str] = []
        async with node_context(node_dir) as ctx:
            outbox = ctx.outbox(ttl_s)
            while len(ids) < count:
                n = min(batch, count - len(ids))
                ids += await outbox.submit(
                    [Draft(recipient, "swnode.test.note", payload) for _ in range(n)]
                )
        return ids

    return run_coroutine(go())


def _db(node_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{node_dir / 'node.db'}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def statuses(node_dir: Path, ids: Sequence[str] | None = None) -> dict[str, str]:
    """Outbox status of each message (all when `ids` is None)."""
    with _db(node_dir) as conn:
        rows = conn.execute("SELECT message_id, status FROM outbox").fetchall()
    found = {r["message_id"]: r["status"] for r in rows}
    return found if ids is None else {i: found.get(i, "missing") for i in ids}


def inbox(node_dir: Path) -> list[sqlite3.Row]:
    with _db(node_dir) as conn:
        return conn.execute("SELECT * FROM inbox ORDER BY seq").fetchall()


def outbox_row(node_dir: Path, message_id: str) -> sqlite3.Row:
    with _db(node_dir) as conn:
        row = conn.execute("SELECT * FROM outbox WHERE message_id = ?", (message_id,)).fetchone()
    assert row is not None, f"no outbox row for {message_id}"
    found: sqlite3.Row = row
    return found


def receipts_kept(node_dir: Path, message_id: str) -> list[tuple[str, str]]:
    with _db(node_dir) as conn:
        rows = conn.execute(
            "SELECT kind, issuer FROM receipts WHERE message_id = ? ORDER BY kind", (message_id,)
        ).fetchall()
    return [(r["kind"], r["issuer"]) for r in rows]


def wait_statuses(
    node_dir: Path, ids: Sequence[str], want: str, timeout_s: float
) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        current = statuses(node_dir, ids)
        if all(s == want for s in current.values()):
            return current
        if time.monotonic() > deadline:
            counts: dict[str, int] = {}
            for s in current.values():
                counts[s] = counts.get(s, 0) + 1
            raise AssertionError(f"after {timeout_s}s not all {want}: {counts}")
        time.sleep(0.2)


def seal_as(
    network: Network,
    sender: str,
    recipient: str,
    payloads: Sequence[bytes],
    *,
    now_ms: int | None = None,
    ttl_ms: int = 3_600_000,
) -> list[pb.Envelope]:
    """Envelopes signed with `sender`'s real signing key, one batch."""
    key = network.keys(sender).signing_key
    t = now_ms if now_ms is not None else int(time.time() * 1000)
    sealed = seal(
        [Draft(recipient, "swnode.test.note", p) for p in payloads],
        sender=sender,
        key=key,
        key_id=key_id(sender, PURPOSE_SIGNING, raw_public(key)),
        now_ms=t,
        ttl_ms=ttl_ms,
        new_id=lambda: new_message_id(t, os.urandom(10)),
    )
    return [s.envelope for s in sealed]


def exchange(
    network: Network, target: str, *, as_node: str, frames: Sequence[Sequence[bytes]]
) -> list[pb.Ack]:
    """Send frames of raw envelope bytes to `target` over the peer port as `as_node`; return
    every ack, in frame order."""
    with network.peer_channel(target, as_node=as_node) as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        replies = stub.Exchange(
            iter([pb.EnvelopeFrame(envelopes=list(f)) for f in frames]), timeout=30
        )
        return [ack for frame in replies for ack in frame.acks]


def exchange_refused(
    network: Network, target: str, *, as_node: str, frames: Sequence[Sequence[bytes]]
) -> grpc.RpcError:
    try:
        exchange(network, target, as_node=as_node, frames=frames)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the stream was accepted")


def listed(node_dir: Path, *args: str) -> list[dict[str, Any]]:
    """The node's messages as its operator lists them: `swnode messages --json ARGS`."""
    done = swnode("messages", "--dir", str(node_dir), "--json", "--limit", "100000", *args)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


def received_from(node_dir: Path, origin: str) -> list[str]:
    """Ids of the messages from `origin` in the node's inbox, as its operator lists them."""
    return [r["message_id"] for r in listed(node_dir, "--direction", "in") if r["origin"] == origin]


def send(net: Network, sender: str, recipient: str, text: str) -> str:
    """`swnode send`, in a process of its own; the message id."""
    sent = swnode(
        "send",
        "--dir",
        str(net.dir(sender)),
        "--to",
        recipient,
        "--type",
        "swnode.test.note",
        "--file",
        "-",
        stdin=text,
    )
    assert sent.returncode == 0, sent.stderr
    return sent.stdout.strip()
