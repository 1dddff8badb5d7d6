"""The node's local secret (keys/local.secret) on a running node: a portal session and a console
session both survive a rotation of the token key and a restart — the page, and a form loaded
before, still work — and the operators' TOTP secrets are sealed in the database while TOTP
sign-in works as before."""

from __future__ import annotations

import sqlite3
import time

import pytest

from core.signing import PURPOSE_TOKEN
from identity.local_secret import local_secret_path
from tests.harness import NetworkFactory, NetworkSpec, swnode
from tests.identity_client import new_uscc
from tests.integration.test_key_rotation import in_use
from tests.web.console.console_client import NEW_PASSWORD, OperatorVisitor, add_operator
from tests.web.portal_client import Visitor, csrf_of, portal_url

pytestmark = [pytest.mark.network, pytest.mark.timeout(180)]

PASSWORD = "a long enough passphrase"


def test_sessions_survive_a_token_key_rotation_and_a_restart(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=1, foreign=0, simulator=False, poll_interval_s=0.5))
    gd = net.dir("CN-GD")
    secret_file = local_secret_path(gd)
    assert secret_file.stat().st_mode & 0o777 == 0o600 and len(secret_file.read_bytes()) == 32
    who = add_operator(gd)
    console = OperatorVisitor(net, "CN-GD")
    portal = Visitor(portal_url(net, "CN-GD"))
    try:
        console.enrol(who)  # the TOTP code an authenticator app shows signs in
        with sqlite3.connect(f"file:{gd / 'node.db'}?mode=ro", uri=True) as conn:
            ((stored,),) = conn.execute(
                "SELECT totp_secret FROM operators WHERE username = ?", (who.user,)
            )
        assert stored.startswith("enc1:") and who.totp.secret not in stored
        assert who.totp.secret.encode() not in (gd / "node.db").read_bytes()

        uscc = new_uscc()
        assert portal.register(uscc, password=PASSWORD).status_code == 200
        assert portal.login(uscc, password=PASSWORD).status_code == 303
        portal_token = csrf_of(portal.get("/dashboard").text)
        console_token = csrf_of(console.get("/console").text)

        rotated = swnode("rotate", "--dir", str(gd), "--key", "token")
        assert rotated.returncode == 0, rotated.stderr
        in_use(net, "CN-GD", PURPOSE_TOKEN)
        net.stop("CN-GD")
        net.start("CN-GD")
        net.wait_healthy(["CN-GD"])

        dashboard = portal.get("/dashboard")
        assert dashboard.status_code == 200 and uscc in dashboard.text
        assert console.get("/console").status_code == 200
        # Forms loaded before the rotation and the restart are still accepted.
        for visitor, path, token in (
            (console, "/console/logout", console_token),
            (portal, "/logout", portal_token),
        ):
            done = visitor.http.post(
                path, data={"csrf_token": token}, headers={"origin": visitor.base}
            )
            assert done.status_code == 303, (path, done.status_code, done.text[:300])
        # A restart did not make a new local secret: the operator signs in again with TOTP.
        later = who.totp.at(time.time() + 30)  # the next step's code: each code is good once
        signed_in = console.sign_in(who, password=NEW_PASSWORD, code=later)
        assert signed_in.status_code == 303, signed_in.text[:300]
    finally:
        console.close()
        portal.close()
