"""`swnode client` identity commands as an enterprise's people and scripts use them, on a running
network: register at the home province, see the registration active, log in at another
province (by `--node HOST:PORT --ca FILE`, as against a real node), ask who the token says you
are, manage users as the administrator, and log out. tests/integration/test_identity.py checks
the same service through gRPC; this checks what the commands take and print."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Network, eventually, swnode
from tests.identity_client import PASSWORD, new_uscc

pytestmark = pytest.mark.network

BOB_PASSWORD = "bob's own long passphrase"


class Client:
    """`swnode client` pointed at one way of reaching a node."""

    def __init__(self, *where: str) -> None:
        self.where = where

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return swnode("client", *self.where, *args, stdin=stdin)

    def json(self, *args: str, stdin: str = "") -> Any:
        done = self.run(*args, "--json", stdin=stdin)
        assert done.returncode == 0, (args, done.stderr)
        return json.loads(done.stdout)

    def refused(self, *args: str, stdin: str = "") -> str:
        """The one line a refused command prints."""
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stdout == "" and "Traceback" not in done.stderr, done
        (line,) = done.stderr.splitlines()
        return line


def test_an_enterprise_registers_logs_in_elsewhere_and_manages_its_users(
    shared_network: Network, tmp_path: Path
) -> None:
    net = shared_network
    gd = Client("--devnet", str(net.root), "--at", "CN-GD")
    cn = Client("--devnet", str(net.root), "--at", "CN")
    # As against a real node: its client port and the federation CA the operator handed out.
    ca = tmp_path / "federation-ca.pem"
    shutil.copy(net.dir("CN") / "keys" / "ca.crt", ca)
    sh = Client("--node", net.config("CN-SH").client_endpoint, "--ca", str(ca))

    uscc = new_uscc()
    registered = gd.json(
        "register",
        "--uscc",
        uscc,
        "--name",
        "Example Trading Co., Ltd.",
        "--user",
        "alice",
        "--roles",
        "declarant,exporter",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert (registered["uscc"], registered["home_node"]) == (uscc, "CN-GD")
    assert registered["roles"] == ["declarant", "exporter"]
    assert registered["status"] in ("REGISTRATION_STATUS_ACTIVE", "REGISTRATION_STATUS_PENDING")

    def active() -> None:
        assert gd.json("registration", "--uscc", uscc)["status"] == "REGISTRATION_STATUS_ACTIVE"

    eventually(active, timeout_s=30, interval_s=0.5)
    shown = gd.run("registration", "--uscc", uscc)
    assert shown.stdout == f"{uscc} Example Trading Co., Ltd.: active (home CN-GD)\n"

    # Log in at another province, as a script does.
    tokens = sh.json("login", "--user", f"{uscc}/alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert (tokens["issuer"], tokens["subject"], tokens["token_type"]) == (
        "CN-GD",
        f"{uscc}/alice",
        "Bearer",
    )
    alice = tokens["access_token"]
    assert tokens["refresh_token"] and alice.count(".") == 2

    # Every node says who the token is, with the party and its roles.
    for client, node in ((sh, "CN-SH"), (cn, "CN"), (gd, "CN-GD")):
        who = client.json("whoami", "--token", alice)
        assert (who["subject"], who["party"], who["user"], who["home_node"]) == (
            f"{uscc}/alice",
            uscc,
            "alice",
            "CN-GD",
        )
        assert (who["party_kind"], who["verified_by"]) == ("enterprise", node)
        assert who["roles"] == ["admin", "declarant", "exporter"]
        assert who["party_roles"] == ["declarant", "exporter"]
    assert cn.run("whoami", "--token", alice).stdout == (
        f"{uscc}/alice (enterprise, home CN-GD), roles admin, declarant, exporter; checked by CN\n"
    )

    # The administrator adds a user at the home node, and lists the users.
    bob = gd.json(
        "user",
        "add",
        "--token",
        alice,
        "--user",
        "bob",
        "--roles",
        "declarant",
        "--password-stdin",
        stdin=BOB_PASSWORD + "\n",
    )
    assert (bob["party"], bob["user"], bob["roles"], bob.get("disabled", False)) == (
        uscc,
        "bob",
        ["declarant"],
        False,
    )

    def users() -> dict[str, tuple[list[str], bool]]:
        listed = gd.json("user", "list", "--token", alice)["users"]
        return {u["user"]: (u["roles"], u.get("disabled", False)) for u in listed}

    assert users() == {
        "alice": (["admin", "declarant", "exporter"], False),
        "bob": (["declarant"], False),
    }
    bob_token = sh.json(
        "login", "--user", f"{uscc}/bob", "--password-stdin", stdin=BOB_PASSWORD + "\n"
    )["access_token"]
    assert cn.json("whoami", "--token", bob_token)["roles"] == ["declarant"]
    # A user is no administrator.
    assert "admin" in gd.refused("user", "list", "--token", bob_token)

    # Disabled: bob can no longer log in anywhere, and his token stops working.
    disabled = gd.json("user", "disable", "--token", alice, "--user", "bob")
    assert (disabled["user"], disabled["disabled"]) == ("bob", True)
    assert users()["bob"] == (["declarant"], True)
    for client in (sh, gd):
        line = client.refused(
            "login", "--user", f"{uscc}/bob", "--password-stdin", stdin=BOB_PASSWORD + "\n"
        )
        assert line == "swnode client: user bob is disabled", line

    def bob_refused() -> None:
        assert "the token was revoked" in cn.refused("whoami", "--token", bob_token)

    eventually(bob_refused, timeout_s=30, interval_s=0.5)

    # The only administrator cannot disable itself: the party would be left unmanageable.
    assert "without an administrator" in gd.refused(
        "user", "disable", "--token", alice, "--user", "alice"
    )
    assert users()["alice"] == (["admin", "declarant", "exporter"], False)

    # Enabled again: bob logs in again; his token from before stays refused.
    enabled = gd.json("user", "enable", "--token", alice, "--user", "bob")
    assert (enabled["user"], enabled.get("disabled", False)) == ("bob", False)
    assert users()["bob"] == (["declarant"], False)
    again = sh.json(
        "login", "--user", f"{uscc}/bob", "--password-stdin", stdin=BOB_PASSWORD + "\n"
    )["access_token"]
    assert cn.json("whoami", "--token", again)["user"] == "bob"
    bob_refused()

    # Logging out (here at another province) ends the session at every node.
    out = sh.run("logout", "--token", alice)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("logged out; refused everywhere within "), out.stdout
    for client in (sh, gd, cn):

        def alice_refused(client: Client = client) -> None:
            assert client.refused("whoami", "--token", alice).startswith(
                "swnode client: the token was revoked"
            )

        eventually(alice_refused, timeout_s=30, interval_s=0.5)
