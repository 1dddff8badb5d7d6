"""`swnode operator reset` and `swnode operator remove` on a node folder, as its operator runs
them: new credentials printed once (both, or the one asked for), an operator removed, each in
the console's audit log under the account that ran it, and a wrong name refused naming --user."""

from __future__ import annotations

import getpass
import json
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest

from core.audit import AuditRecord
from core.ids import Role
from identity.local_secret import open_local_secrets
from node.config import load_config
from node.operator import admin
from storage.operators import Operator
from tests.harness import swnode


@pytest.fixture
async def node_dir(tmp_path: Path) -> Path:
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "GD", node_id="CN-GD", role=Role.PROVINCE)
    )
    return config.dir


def run(*args: str) -> dict[str, str]:
    done = swnode("operator", *args, "--json")
    assert done.returncode == 0, done.stderr
    printed: dict[str, str] = json.loads(done.stdout)
    return printed


async def stored(node_dir: Path, user: str) -> tuple[Operator | None, list[AuditRecord]]:
    """The operator's row, its TOTP secret (sealed at rest) opened with the node's local
    secret, and the audit log."""
    db = await admin.open_db(load_config(node_dir))
    try:
        operator = await db.operators.get(user)
        if operator is not None:
            assert operator.totp_secret.startswith("enc1:")
            secrets = await open_local_secrets(node_dir, db)
            opened = secrets.open_totp(operator.totp_secret, username=user)
            operator = replace(operator, totp_secret=opened)
        return operator, await db.audit.all()
    finally:
        await db.close()


def secret_of(uri: str) -> str:
    otp = pyotp.parse_uri(uri)
    assert isinstance(otp, pyotp.TOTP)
    return otp.secret


async def test_a_reset_prints_new_factors_once_and_is_audited(node_dir: Path) -> None:
    added = run("add", "--dir", str(node_dir), "--user", "alice")
    reset = run("reset", "--dir", str(node_dir), "--user", "alice")
    assert set(reset) == {"user", "password", "totp_uri"} and reset["user"] == "alice"
    assert reset["password"] != added["password"]
    assert secret_of(reset["totp_uri"]) != secret_of(added["totp_uri"])
    operator, audit = await stored(node_dir, "alice")
    assert operator is not None and operator.must_change_password
    assert operator.totp_secret == secret_of(reset["totp_uri"])
    last = audit[-1]
    assert (last.operator, last.action, last.object, last.outcome, last.detail) == (
        f"cli:{getpass.getuser()}",
        "operator.reset",
        "alice",
        "ok",
        "password and totp",
    )
    assert added["password"] not in last.detail and reset["password"] not in last.detail


async def test_a_reset_of_one_factor_prints_and_changes_that_one(node_dir: Path) -> None:
    added = run("add", "--dir", str(node_dir), "--user", "bob")
    only = run("reset", "--dir", str(node_dir), "--user", "bob", "--password")
    assert set(only) == {"user", "password"}
    operator, audit = await stored(node_dir, "bob")
    assert operator is not None and operator.totp_secret == secret_of(added["totp_uri"])
    assert audit[-1].detail == "password"
    totp = run("reset", "--dir", str(node_dir), "--user", "bob", "--totp")
    assert set(totp) == {"user", "totp_uri"}
    after, audit = await stored(node_dir, "bob")
    assert after is not None and after.password_hash == operator.password_hash
    assert after.totp_secret == secret_of(totp["totp_uri"]) and audit[-1].detail == "totp"


async def test_remove_ends_the_operator_and_is_audited(node_dir: Path) -> None:
    run("add", "--dir", str(node_dir), "--user", "carol")
    done = swnode("operator", "remove", "--dir", str(node_dir), "--user", "carol")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "operator carol removed; its console sessions are ended"
    operator, audit = await stored(node_dir, "carol")
    assert operator is None
    assert (audit[-1].action, audit[-1].object, audit[-1].outcome) == (
        "operator.remove",
        "carol",
        "ok",
    )


@pytest.mark.parametrize("action", ["reset", "remove"])
async def test_a_name_that_is_no_operator_is_refused_naming_the_user(
    node_dir: Path, action: str
) -> None:
    unknown = swnode("operator", action, "--dir", str(node_dir), "--user", "nobody")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip() == (
        "swnode operator: user: there is no operator 'nobody' at this node"
    )
    bad = swnode("operator", action, "--dir", str(node_dir), "--user", "Not A Name")
    assert bad.returncode == 2
    assert bad.stderr.startswith("swnode operator: user: 'Not A Name' must be 1-64 lowercase")
    _, audit = await stored(node_dir, "nobody")
    assert [(r.action, r.object, r.outcome, r.detail.partition(":")[0]) for r in audit] == [
        (f"operator.{action}", "nobody", "refused", "operator.unknown"),
        (f"operator.{action}", "Not A Name", "refused", "operator.bad_name"),
    ]
