"""A peer killed during traffic: the sender's tasks end with their errors seen and handled, so
asyncio never reports "Task exception was never retrieved" in the sender's log."""

from __future__ import annotations

import threading
import time

import pytest

from tests.harness import NetworkFactory, NetworkSpec
from tests.messages import inbox, submit, wait_statuses

pytestmark = [pytest.mark.network, pytest.mark.slow]

UNSEEN = "Task exception was never retrieved"


def test_killing_a_peer_mid_stream_leaves_no_unretrieved_task_exception(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0))
    sender, receiver = net.dir("CN-GD"), net.dir("CN-SH")
    ids: list[str] = []

    def produce() -> None:
        for _ in range(20):
            ids.extend(submit(sender, "CN-SH", 100, payload=b"d" * 8192))
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 60
    while len(inbox(receiver)) < 300:
        assert time.monotonic() < deadline, "the stream never got going"
        time.sleep(0.01)
    assert net.devnet.stop("CN-SH", kill=True) == ["CN-SH"]
    producer.join()
    time.sleep(3.0)  # the sender notices, retries, fails again
    net.start("CN-SH")
    wait_statuses(sender, ids, "delivered", timeout_s=120)
    net.stop("CN-GD")  # a clean stop: every task ended, every log line written

    for name in ("node.log", "console.log"):
        path = sender / name
        text = path.read_text() if path.exists() else ""
        assert UNSEEN not in text, text[text.find(UNSEEN) - 200 :][:3000]
    assert "delivery interrupted" in (sender / "node.log").read_text()
