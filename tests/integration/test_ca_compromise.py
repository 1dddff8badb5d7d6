"""The CA compromise drill: `swnode rotate --dir CN --key ca --now` while CN-GD sends to CN-SH and,
through CN, to SG, and CN-SH is stopped. The old CA is retired at once: a certificate it issued
is refused with `ca.retired`; every running node renews from the new CA on its own, CN-SH renews
when it starts again, and every document is still delivered exactly once (PROTOCOL.md §2.9,
OPERATIONS.md section 11)."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from core.signing import fingerprint
from tests.harness import NetworkFactory, NetworkSpec, eventually
from tests.integration.test_key_rotation import (
    POLL_S,
    Traffic,
    issued_by,
    ping_with,
    rotate,
)
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network


def test_now_retires_the_old_ca_at_once_and_every_node_renews(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    traffic = Traffic(net)
    traffic.keep_sending(1.0)
    traffic.all_delivered_once()
    old_gd = net.keys("CN-GD").tls_identity()
    old_cert = net.keys("CN-GD").tls_cert
    assert old_cert is not None
    assert ping_with(net, "CN", old_gd) is None
    # CN-SH is stopped through the whole rotation; documents for it wait in CN-GD's outbox.
    net.stop("CN-SH")

    said = rotate(net, "CN", "ca", "--now")
    assert "retired at" in said and "new CA certificate SHA-256" in said
    history = net.keys("CN").ca_history
    assert history is not None
    new_ca = history.cas[-1].certificate
    # The old CA's private key is gone from the central.
    assert not (net.dir("CN") / "keys" / "ca.key").exists()

    # The old certificate is refused with its reason as soon as CN holds the directory.
    def refused() -> None:
        assert ping_with(net, "CN", old_gd) == "ca.retired"

    eventually(refused, timeout_s=10)

    def renewed(*node_ids: str) -> None:
        for node_id in node_ids:
            assert issued_by(net, node_id, new_ca), node_id

    traffic.keep_sending(2.0)
    eventually(lambda: renewed("CN", "CN-GD"), timeout_s=20)

    # The expiry figures and the status follow the certificate in use, without a restart.
    def figures_follow() -> None:
        cert = net.keys("CN-GD").tls_cert
        assert cert is not None and cert.not_valid_after_utc != old_cert.not_valid_after_utc
        samples = net.metrics("CN-GD")
        at = samples["swnode_certificate_expires_at_seconds"]
        ends = {dict(labels)["certificate"]: value for labels, value in at.items()}
        assert ends["tls"] == cert.not_valid_after_utc.timestamp()
        left = samples["swnode_key_expiry_seconds"]
        kinds = {dict(labels)["key"]: value for labels, value in left.items()}
        assert abs(time.time() + kinds["tls"] - ends["tls"]) < 15
        assert abs(time.time() + kinds["ca"] - new_ca.not_valid_after_utc.timestamp()) < 15
        issuer = net.status("CN-GD")["tls_issuer"]
        assert issuer["fingerprint"] == fingerprint(new_ca.public_bytes(Encoding.DER))
        assert (issuer["standing"], issuer["warning"]) == ("current", False)

    eventually(figures_follow, timeout_s=15)
    traffic.keep_sending(1.0)
    # CN-SH starts with a directory from before, and a certificate of the retired CA: it
    # fetches the current directory, renews, and receives what waited for it.
    net.start("CN-SH")
    eventually(lambda: renewed("CN-SH"), timeout_s=30)
    traffic.keep_sending(2.0)
    traffic.all_delivered_once()
    after = submit(net.dir("CN-GD"), "CN-SH", 5) + submit(net.dir("CN-GD"), "SG", 5)
    wait_statuses(net.dir("CN-GD"), after, "delivered", timeout_s=30)
    assert ping_with(net, "CN-SH", net.keys("CN-GD").tls_identity()) is None
