"""Several replicas of one node on one PostgreSQL: every message sent by exactly one of them,
and a replica killed mid-work leaves nothing lost and nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from node.devnet.network import Devnet, Settings
from node.operator.admin import free_ports
from storage.engine import create_schema
from tests.conftest import run_coroutine
from tests.harness import Network, NetworkSpec, http_get
from tests.messages import inbox, submit

pytestmark = [pytest.mark.network, pytest.mark.postgres, pytest.mark.slow]


def outbox(url: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            query = "SELECT message_id, status, sent_by, attempts FROM outbox"
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    return run_coroutine(go())


class Replica:
    """A second `swnode run` of a node folder on the same host, on ports of its own (on separate
    hosts, replicas use the same ports behind a load balancer). It shares the first replica's
    keys and database; this test has it send, not receive."""

    def __init__(self, node_dir: Path) -> None:
        peer, client, self.ops_port, web = free_ports("127.0.0.1", 4)
        log = (node_dir / "replica.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node",
                "run",
                "--dir",
                str(node_dir),
                "--ops-port",
                str(self.ops_port),
                "--peer-port",
                str(peer),
                "--client-port",
                str(client),
                "--web-port",
                str(web),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self.healthy():
            assert self.process.poll() is None, (node_dir / "replica.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the second replica never became healthy"
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            return http_get(f"http://127.0.0.1:{self.ops_port}/healthz", 1)[0] == 200
        except OSError:  # not listening yet
            return False

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()  # never leave a node running after the test


@pytest.fixture
def replicated(tmp_path: Path, postgres_dsn: str) -> Iterator[tuple[Network, str, Replica]]:
    url = run_coroutine(create_schema(postgres_dsn, f"t_{uuid.uuid4().hex[:12]}"))
    devnet = Devnet(tmp_path / "net")
    settings = Settings(poll_interval_s=0.5, storage={"CN-GD": url})
    try:
        run_coroutine(devnet.create(2, 0, settings))
        config = devnet.node_dir("CN-GD") / "node.toml"
        # A short claim lease, so that the test sees a dead replica's claims taken over.
        config.write_text(config.read_text().replace("# claim_lease_s = 60", "claim_lease_s = 3"))
        devnet.start()
        devnet.wait_healthy()
        replica = Replica(devnet.node_dir("CN-GD"))
        try:
            yield Network(devnet, NetworkSpec(provinces=2, foreign=0)), url, replica
        finally:
            replica.stop()
    finally:
        if devnet.exists():
            devnet.stop()


def produce(node_dir: Path, ids: list[str], rounds: int = 40, each: int = 50) -> threading.Thread:
    """Queue messages for CN-SH in steps, as traffic arrives in production."""

    def run() -> None:
        for _ in range(rounds):
            ids.extend(submit(node_dir, "CN-SH", each, payload=b"r" * 2048))
            time.sleep(0.1)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_delivered(url: str, count: int, timeout_s: float) -> list[asyncpg.Record]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = outbox(url)
        if len(rows) == count and all(r["status"] == "delivered" for r in rows):
            return rows
        assert time.monotonic() < deadline, {
            s: sum(1 for r in rows if r["status"] == s) for s in {r["status"] for r in rows}
        }
        time.sleep(0.3)


def test_two_replicas_share_the_work_and_send_each_message_once(
    replicated: tuple[Network, str, Replica],
) -> None:
    net, url, _ = replicated
    ids: list[str] = []
    produce(net.dir("CN-GD"), ids).join()
    rows = wait_delivered(url, 2000, timeout_s=120)
    received = [r["message_id"] for r in inbox(net.dir("CN-SH"))]
    assert len(received) == len(set(received)) == 2000
    assert set(received) == set(ids)
    by_replica: dict[str, int] = {}
    for r in rows:
        by_replica[r["sent_by"]] = by_replica.get(r["sent_by"], 0) + 1
    assert len(by_replica) == 2, f"one replica did everything: {by_replica}"
    assert all(n > 0 for n in by_replica.values())
    # Each message was claimed, and so written to the stream, once: no replica took over a
    # claim the other still held (the receiver would have hidden a second copy).
    resent = [(r["message_id"], r["attempts"]) for r in rows if r["attempts"] != 1]
    assert resent == []


def test_a_replica_killed_halfway_leaves_nothing_lost_and_nothing_twice(
    replicated: tuple[Network, str, Replica],
) -> None:
    net, url, replica = replicated
    ids: list[str] = []
    producer = produce(net.dir("CN-GD"), ids)
    deadline = time.monotonic() + 60
    mark = f":{replica.process.pid}:"

    def replica_sent() -> int:
        return sum(1 for r in outbox(url) if r["sent_by"] and mark in r["sent_by"])

    # Halfway, and only once the replica to be killed is doing its share.
    while len(inbox(net.dir("CN-SH"))) < 600 or replica_sent() == 0:
        assert time.monotonic() < deadline, "the work never got going on both replicas"
        time.sleep(0.05)
    replica.kill()
    producer.join()
    rows = wait_delivered(url, 2000, timeout_s=120)
    received = [r["message_id"] for r in inbox(net.dir("CN-SH"))]
    assert len(received) == len(set(received)) == 2000
    assert set(received) == set(ids)
    senders = {r["sent_by"] for r in rows}
    assert any(f":{replica.process.pid}:" in s for s in senders), "the killed replica sent nothing"
