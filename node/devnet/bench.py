"""`swnode bench`: how fast signed, durable, receipted messages flow between two nodes, next to a
plain gRPC echo stream between two processes as the ceiling.

The receiver is a real node process (`swnode run`). The sender is a real node too, run inside
the benchmark process so it can submit documents straight to its outbox and see each delivery
receipt arrive. Every message is sealed, committed to the sender's outbox, streamed, verified,
committed at the receiver, receipted, and its receipt verified and committed at the sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psutil

from core.envelope import Draft
from core.ids import Role
from federation.delivery import Answered
from federation.tasks import Tasks
from node.config import load_config
from node.gc_tuning import settle_gc
from node.operator import admin
from node.runtime import Node
from storage.engine import create_schema

__all__ = [
    "ECHO_METHOD",
    "CpuMeter",
    "Result",
    "bench",
    "echo_server",
    "main_cli",
    "peak_rss_mb",
    "percentile",
    "render",
    "run_echo",
    "run_nodes",
    "stop",
]

ECHO_METHOD = "/swnode.bench.Echo/Stream"


@dataclass(frozen=True)
class Result:
    messages: int
    payload_bytes: int
    seconds: float
    latencies_ms: list[float]
    sender_peak_rss_mb: float
    receiver_peak_rss_mb: float
    # CPU time (user + system, every thread) each process spent per message while it ran.
    sender_cpu_us_per_msg: float = 0.0
    receiver_cpu_us_per_msg: float = 0.0

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds


def peak_rss_mb(pid: int | None = None) -> float:
    """The process's peak resident set size (VmHWM), in MiB."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class CpuMeter:
    """CPU time two processes spend over a span, per message: on a shared machine the rate
    depends on what else runs, while the CPU each message costs mostly does not."""

    def __init__(self, receiver_pid: int) -> None:
        self._processes = (psutil.Process(), psutil.Process(receiver_pid))
        self._start = self._now()

    def _now(self) -> list[float]:
        return [sum(p.cpu_times()[:2]) for p in self._processes]

    def restart(self) -> None:
        self._start = self._now()

    def per_message_us(self, messages: int) -> tuple[float, float]:
        """(sender, receiver) microseconds of CPU per message since the start."""
        used = [b - a for a, b in zip(self._start, self._now(), strict=True)]
        return used[0] * 1e6 / max(1, messages), used[1] * 1e6 / max(1, messages)


def _wait_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 (loopback ops port)
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f}s")


# -- the nodes ---------------------------------------------------------------------------------


Drive = Callable[[Node, int, int, int], Awaitable[Result]]


async def run_nodes(
    root: Path,
    messages: int,
    payload_bytes: int,
    storage: str | None,
    crypto: str = "ed25519",
    drive: Drive | None = None,
) -> Result:
    """Two nodes, the receiver its own process; `drive` (the closed loop by default) sends."""
    central, province = root / "CN", root / "CN-GD"
    for node_dir, node_id, role in (
        (central, "CN", Role.CENTRAL),
        (province, "CN-GD", Role.PROVINCE),
    ):
        url = None
        if storage:  # each node its own schema, made afresh
            schema = "swnode_bench_" + node_id.lower().replace("-", "_")
            url = await create_schema(storage, schema, replace=True)
        await admin.init_node(
            admin.InitOptions(
                node_dir=node_dir,
                node_id=node_id,
                role=role,
                poll_interval_s=1.0,
                storage_url=url,
                crypto=crypto,
            )
        )
    with (central / "console.log").open("ab") as console:
        receiver = subprocess.Popen(
            [sys.executable, "-m", "node", "run", "--dir", str(central)],
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_http(f"{load_config(central).ops_url}/healthz")
        invitation = await admin.invite(central, "CN-GD", "10m")
        await admin.enroll_node(province, load_config(central).client_endpoint, invitation.encode())
        node = Node(load_config(province))
        try:  # stopped even when it failed to start: its threads would keep the process alive
            await node.start()
            settle_gc()  # as `swnode run` does (node/cli.py)
            return await (drive or _drive)(node, receiver.pid, messages, payload_bytes)
        finally:
            await node.stop()
    finally:
        stop(receiver, 30)


def stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """End a child started in its own session: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _drive(node: Node, receiver_pid: int, messages: int, payload_bytes: int) -> Result:
    payload = os.urandom(payload_bytes)
    submitted: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    room = asyncio.Event()
    target = 0

    def answered(a: Answered) -> None:
        now = time.perf_counter()
        for mid in a.delivered:
            started = submitted.pop(mid, None)
            if started is not None:
                latencies.append((now - started) * 1000)
        room.set()
        if not submitted and len(latencies) >= target:
            done.set()

    node.delivery.listeners.append(answered)

    async def send(count: int, in_flight: int = 4096, batch: int = 256) -> float:
        nonlocal target
        target = count
        latencies.clear()
        done.clear()
        start = time.perf_counter()
        sent = 0
        while sent < count:
            while len(submitted) >= in_flight:
                room.clear()
                await room.wait()
            n = min(batch, count - sent)
            drafts = [Draft("CN", "swnode.bench.document", payload) for _ in range(n)]
            ids = await node.outbox.submit(drafts)
            t = time.perf_counter()
            for mid in ids:
                submitted[mid] = t
            sent += n
        await asyncio.wait_for(done.wait(), timeout=600)
        return time.perf_counter() - start

    deadline = time.monotonic() + 30
    while not node.trust.valid(node.clock_ms()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await send(min(500, messages))  # warm up: connections, caches
    cpu = CpuMeter(receiver_pid)
    seconds = await send(messages)
    sender_cpu, receiver_cpu = cpu.per_message_us(len(latencies))
    return Result(
        messages=len(latencies),  # receipts counted, not the number asked for
        payload_bytes=len(payload),
        seconds=seconds,
        latencies_ms=sorted(latencies),
        sender_peak_rss_mb=peak_rss_mb(),
        receiver_peak_rss_mb=peak_rss_mb(receiver_pid),
        sender_cpu_us_per_msg=sender_cpu,
        receiver_cpu_us_per_msg=receiver_cpu,
    )


# -- the ceiling: a plain gRPC echo stream -------------------------------------------------------


async def echo_server(port_file: Path) -> None:
    async def echo(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        async for message in requests:
            yield message

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "swnode.bench.Echo", {"Stream": grpc.stream_stream_rpc_method_handler(echo)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    port_file.write_text(str(port))
    await server.wait_for_termination()


async def run_echo(messages: int, payload_bytes: int, window: int = 4096) -> float:
    """Messages per second through a plain gRPC bidirectional echo stream, in another process."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen(
            [sys.executable, "-m", "node.devnet.bench", "echo-server", str(port_file)],
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline:
                    raise RuntimeError("the echo server did not start")
                await asyncio.sleep(0.05)
            target = f"127.0.0.1:{port_file.read_text()}"
            async with grpc.aio.insecure_channel(target) as channel:
                stream = channel.stream_stream(ECHO_METHOD, None, None)  # raw bytes both ways
                payload = os.urandom(payload_bytes)

                async def once(count: int) -> float:
                    call = stream(None)
                    room = asyncio.Semaphore(window)

                    async def write() -> None:
                        for _ in range(count):
                            await room.acquire()
                            await call.write(payload)
                        await call.done_writing()

                    start = time.perf_counter()
                    async with Tasks("bench") as tasks:
                        writer = tasks.start("write", write(), awaited=True)
                        received = 0
                        async for _ in call:
                            received += 1
                            room.release()
                        await writer
                    assert received == count
                    return time.perf_counter() - start

                await once(min(2000, messages))
                return messages / await once(messages)
        finally:
            stop(server, 10)


# -- the command ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
        if len(values) > 1
        else values[0]
    )


async def bench(
    messages: int, payload_bytes: int, storage: str | None, crypto: str = "ed25519"
) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="swnode-bench-") as tmp:
        result = await run_nodes(Path(tmp), messages, payload_bytes, storage, crypto)
    raw = await run_echo(messages, payload_bytes)
    backend = "postgresql" if storage and storage.startswith("postgres") else "sqlite"
    return {
        "messages": result.messages,
        "payload_bytes": result.payload_bytes,
        "storage": backend,
        "crypto": crypto,
        "seconds": round(result.seconds, 3),
        "msgs_per_s": round(result.per_s, 1),
        "p50_ms": round(percentile(result.latencies_ms, 50), 2),
        "p99_ms": round(percentile(result.latencies_ms, 99), 2),
        "raw_grpc_msgs_per_s": round(raw, 1),
        "ratio_to_raw_grpc": round(result.per_s / raw, 3),
        "sender_peak_rss_mb": round(result.sender_peak_rss_mb, 1),
        "receiver_peak_rss_mb": round(result.receiver_peak_rss_mb, 1),
        "sender_cpu_us_per_msg": round(result.sender_cpu_us_per_msg, 1),
        "receiver_cpu_us_per_msg": round(result.receiver_cpu_us_per_msg, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def render(r: dict[str, Any]) -> str:
    rows = [
        (
            "messages",
            f"{r['messages']} x {r['payload_bytes']} B payload, storage {r['storage']}, "
            f"crypto {r.get('crypto', 'ed25519')}",
        ),
        ("signed + durable + receipted", f"{r['msgs_per_s']:.0f} msg/s ({r['seconds']} s)"),
        ("latency p50 / p99", f"{r['p50_ms']} ms / {r['p99_ms']} ms"),
        ("plain gRPC echo stream", f"{r['raw_grpc_msgs_per_s']:.0f} msg/s"),
        ("ratio to plain gRPC", f"{r['ratio_to_raw_grpc']}"),
        (
            "peak RSS sender / receiver",
            f"{r['sender_peak_rss_mb']} MiB / {r['receiver_peak_rss_mb']} MiB",
        ),
        (
            "CPU per message sender / recv.",
            f"{r['sender_cpu_us_per_msg']} us / {r['receiver_cpu_us_per_msg']} us",
        ),
    ]
    return "\n".join(f"{k:<30} {v}" for k, v in rows)


def main_cli(
    messages: int, payload_bytes: int, storage: str | None, crypto: str = "ed25519"
) -> int:
    result = asyncio.run(bench(messages, payload_bytes, storage, crypto))
    print(render(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "echo-server":
        asyncio.run(echo_server(Path(sys.argv[2])))
