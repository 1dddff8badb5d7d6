"""`swnode bench --rate R --duration S` and `--sweep`: latency at a fixed offered load.

A closed-loop run (bench.py: as many in flight as the window allows) says how much the pair of
nodes can carry at most, and its latencies are those of a queue kept full. What a trader sees at
a normal load is different: here messages are offered on a fixed schedule, one every 1/R
seconds whatever happened to the ones before (open loop), and each latency is taken from the
time the message was *due* to be sent to the time its delivery receipt is committed, so a stall
is counted against every message it delayed (no coordinated omission).

`--sweep` measures the closed-loop maximum first, then runs a series of rates as fractions of
it, and writes the table (JSON) for docs/PERFORMANCE.md's charts (scripts/plot-performance).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from core.envelope import Draft
from federation.delivery import Answered
from node.devnet import bench
from node.runtime import Node

__all__ = ["PAYLOADS", "SWEEP_FRACTIONS", "main_cli", "open_loop", "parse_payload"]

PAYLOADS = {"1k": 1024, "64k": 64 * 1024, "1m": 1024 * 1024}
SWEEP_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 0.9)


def parse_payload(text: str) -> int:
    try:
        return PAYLOADS[text.lower()]
    except KeyError:
        raise ValueError(f"payload: one of {', '.join(PAYLOADS)}, not {text!r}") from None


class _Receipts:
    """Delivery receipts as they are committed, matched to when each message was due."""

    def __init__(self, node: Node) -> None:
        self.due: dict[str, float] = {}
        self.latencies_ms: list[float] = []
        self.settled = asyncio.Event()
        # Receipts that came back before their submitter resumed (a group commit by another
        # submitter let delivery take them first).
        self._early: dict[str, float] = {}
        node.delivery.listeners.append(self._answered)

    def expect(self, message_id: str, due: float) -> None:
        arrived = self._early.pop(message_id, None)
        if arrived is not None:
            self.latencies_ms.append((arrived - due) * 1000)
            return
        self.due[message_id] = due
        self.settled.clear()

    def _answered(self, a: Answered) -> None:
        now = time.perf_counter()
        for mid in a.delivered:
            due = self.due.pop(mid, None)
            if due is not None:
                self.latencies_ms.append((now - due) * 1000)
            else:
                self._early[mid] = now
        if not self.due:
            self.settled.set()


async def open_loop(
    node: Node, rate: float, duration_s: float, payload: bytes, cpu: bench.CpuMeter | None = None
) -> dict[str, Any]:
    """Offer `rate` messages a second for `duration_s`; latency from due time to receipt."""
    if cpu is not None:
        cpu.restart()
    receipts = _Receipts(node)
    count = max(1, int(rate * duration_s))
    clients: set[asyncio.Task[None]] = set()
    committed_ms: list[float] = []

    async def client(due: float) -> None:
        """One document from one client, as the client API's Submit does it."""
        (mid,) = await node.outbox.submit([Draft("CN", "swnode.bench.document", payload)])
        committed_ms.append((time.perf_counter() - due) * 1000)
        receipts.expect(mid, due)

    start = time.perf_counter()
    sent = 0
    while sent < count:
        due_now = min(count, int((time.perf_counter() - start) * rate) + 1)
        for i in range(sent, due_now):  # each due message its own client, not waiting for others
            task = asyncio.ensure_future(client(start + i / rate))
            clients.add(task)
            task.add_done_callback(clients.discard)
        sent = max(sent, due_now)
        wait_s = start + sent / rate - time.perf_counter()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
    await asyncio.gather(*clients)
    offered_s = time.perf_counter() - start
    if receipts.due:
        await asyncio.wait_for(receipts.settled.wait(), timeout=max(60.0, 4 * duration_s))
    node.delivery.listeners.remove(receipts._answered)
    lat = sorted(receipts.latencies_ms)
    sender_cpu, receiver_cpu = cpu.per_message_us(len(lat)) if cpu is not None else (0.0, 0.0)
    return {
        "rate_per_s": rate,
        "offered_per_s": round(sent / offered_s, 1),
        "messages": len(lat),
        "p50_ms": round(bench.percentile(lat, 50), 2),
        "p99_ms": round(bench.percentile(lat, 99), 2),
        "p999_ms": round(_p999(lat), 2),
        # Of which: from due to committed in the sender's outbox (what Submit answers after).
        "committed_p50_ms": round(bench.percentile(sorted(committed_ms), 50), 2),
        "committed_p99_ms": round(bench.percentile(sorted(committed_ms), 99), 2),
        "sender_cpu_us_per_msg": round(sender_cpu, 1),
        "receiver_cpu_us_per_msg": round(receiver_cpu, 1),
    }


def _p999(values: list[float]) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * 0.999))]


async def _with_pair(payload_bytes: int, run: Any, crypto: str = "ed25519") -> Any:
    """Two nodes as bench.py builds them; `run(node, payload)` drives the sender."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    payload = os.urandom(payload_bytes)
    result: Any = None

    async def drive(node: Node, receiver_pid: int, messages: int, size: int) -> bench.Result:
        nonlocal result
        deadline = time.monotonic() + 30
        while not node.trust.valid(node.clock_ms()) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        result = await run(node, payload, bench.CpuMeter(receiver_pid))
        return bench.Result(0, size, 1.0, [], bench.peak_rss_mb(), bench.peak_rss_mb(receiver_pid))

    with tempfile.TemporaryDirectory(prefix="swnode-bench-") as tmp:
        await bench.run_nodes(Path(tmp), 0, payload_bytes, None, crypto, drive=drive)
    return result


async def _closed_loop_max(node: Node, payload: bytes, messages: int) -> float:
    await open_loop(node, 1e9, 0, payload)  # one message: connections open
    receipts = _Receipts(node)
    start = time.perf_counter()
    batch = 256
    sent = 0
    while sent < messages:
        while len(receipts.due) >= 4096:
            receipts.settled.clear()
            await asyncio.sleep(0.005)
        n = min(batch, messages - sent)
        ids = await node.outbox.submit(
            [Draft("CN", "swnode.bench.document", payload) for _ in range(n)]
        )
        t = time.perf_counter()
        for mid in ids:
            receipts.expect(mid, t)
        sent += n
    await asyncio.wait_for(receipts.settled.wait(), timeout=600)
    node.delivery.listeners.remove(receipts._answered)
    return messages / (time.perf_counter() - start)


async def sweep(
    payload_bytes: int, duration_s: float, messages: int, crypto: str = "ed25519"
) -> dict[str, Any]:
    async def run(node: Node, payload: bytes, cpu: bench.CpuMeter) -> dict[str, Any]:
        peak = await _closed_loop_max(node, payload, messages)
        rows = [
            await open_loop(node, round(peak * f, 1), duration_s, payload, cpu)
            for f in SWEEP_FRACTIONS
        ]
        return {"closed_loop_msgs_per_s": round(peak, 1), "rates": rows}

    found: dict[str, Any] = await _with_pair(payload_bytes, run, crypto)
    raw = await bench.run_echo(max(2000, messages), payload_bytes)
    found.update(
        payload_bytes=payload_bytes,
        duration_s=duration_s,
        load_average_1m=round(os.getloadavg()[0], 2),  # the machine is shared: how busy it was
        raw_grpc_msgs_per_s=round(raw, 1),
        ratio_to_raw_grpc=round(found["closed_loop_msgs_per_s"] / raw, 3),
    )
    return found


async def at_rate(
    payload_bytes: int, rate: float, duration_s: float, messages: int, crypto: str = "ed25519"
) -> dict[str, Any]:
    async def run(node: Node, payload: bytes, cpu: bench.CpuMeter) -> dict[str, Any]:
        peak = await _closed_loop_max(node, payload, messages)
        row = await open_loop(node, rate, duration_s, payload, cpu)
        return {"closed_loop_msgs_per_s": round(peak, 1), **row}

    found: dict[str, Any] = await _with_pair(payload_bytes, run, crypto)
    found.update(
        payload_bytes=payload_bytes,
        duration_s=duration_s,
        load_average_1m=round(os.getloadavg()[0], 2),
    )
    return found


def render(r: dict[str, Any]) -> str:
    lines = [
        f"payload {r['payload_bytes']} B; closed-loop maximum {r['closed_loop_msgs_per_s']} msg/s"
    ]
    if "raw_grpc_msgs_per_s" in r:
        lines.append(f"plain gRPC {r['raw_grpc_msgs_per_s']} msg/s; ratio {r['ratio_to_raw_grpc']}")
    lines.append(f"{'offered/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'p99.9 ms':>9} {'n':>7}")
    lines.extend(
        f"{row['offered_per_s']:>10} {row['p50_ms']:>9} {row['p99_ms']:>9} "
        f"{row['p999_ms']:>9} {row['messages']:>7}"
        for row in r.get("rates", [r])
    )
    return "\n".join(lines)


def main_cli(
    *,
    rate: float | None,
    duration_s: float,
    sweep_out: Path | None,
    payload_bytes: int,
    messages: int,
    crypto: str = "ed25519",
) -> int:
    if sweep_out is not None:
        result = asyncio.run(sweep(payload_bytes, duration_s, messages, crypto))
        sweep_out.parent.mkdir(parents=True, exist_ok=True)
        sweep_out.write_text(json.dumps(result, indent=2) + "\n")
    else:
        assert rate is not None
        result = asyncio.run(at_rate(payload_bytes, rate, duration_s, messages, crypto))
    print(render(result))
    print(json.dumps(result))
    return 0
