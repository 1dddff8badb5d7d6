"""The compromise drill with messages waiting: CN-GD queues documents to CN-SH while CN-SH is
stopped, then its signing key is retired at once (`swnode rotate --now`). The messages sealed
with the retired key are sealed again with the new one, under the same ids, without an operator
redriving them: once CN-SH is back, each is delivered exactly once and none is left refused with
`key.retired` (PROTOCOL.md §2.9)."""

from __future__ import annotations

import sqlite3

import pytest

from core.signing import PURPOSE_SIGNING, key_id_of
from swf.v1 import envelope_pb2 as pb
from tests.harness import NetworkFactory, NetworkSpec, eventually
from tests.integration.test_key_rotation import POLL_S, in_use, received_ids, rotate
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network


def outbox(net_dir: object, ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """Each message's status, last error and the key id its envelope is sealed with."""
    with sqlite3.connect(f"file:{net_dir}/node.db?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT message_id, status, last_error, envelope FROM outbox")
        return {
            r[0]: (r[1], r[2] or "", pb.Envelope.FromString(r[3]).signature.key_id)
            for r in rows
            if r[0] in ids
        }


def test_messages_sealed_with_a_key_retired_at_once_are_delivered_once(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0, poll_interval_s=POLL_S))
    gd = net.dir("CN-GD")
    old_kid = key_id_of("CN-GD", PURPOSE_SIGNING, net.keys("CN-GD").signing_key)
    net.stop("CN-SH")
    waiting = submit(gd, "CN-SH", 20)
    assert {k for _, _, k in outbox(gd, waiting).values()} == {old_kid}

    said = rotate(net, "CN-GD", "signing", "--now")
    assert "retired at" in said
    in_use(net, "CN-GD", PURPOSE_SIGNING)
    new_kid = key_id_of("CN-GD", PURPOSE_SIGNING, net.keys("CN-GD").signing_key)
    assert new_kid != old_kid

    def sealed_again() -> None:
        rows = outbox(gd, waiting)
        assert {k for _, _, k in rows.values()} == {new_kid}, rows
        assert all(status != "dead" for status, _, _ in rows.values()), rows

    eventually(sealed_again, timeout_s=20)
    assert "sealed 20 undelivered messages again" in net.log("CN-GD")

    net.start("CN-SH")
    wait_statuses(gd, waiting, "delivered", timeout_s=60)
    seen = received_ids(net.dir("CN-SH"))
    assert all(seen[i] == 1 for i in waiting), seen
    rows = outbox(gd, waiting)
    assert not [i for i, (_, error, _) in rows.items() if "key.retired" in error], rows
