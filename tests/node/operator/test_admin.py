"""Operator actions on a node folder that need no running node."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from core.errors import FailedPrecondition, InvalidArgument
from core.ids import Role
from node.config import load_config
from node.operator import admin
from tests.harness import swnode


async def test_init_writes_a_config_and_private_keys(tmp_path: Path) -> None:
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "GD", node_id="CN-GD", role=Role.PROVINCE)
    )
    assert load_config(config.dir) == config
    assert stat.S_IMODE(config.dir.stat().st_mode) == 0o700
    data = tomllib.loads((config.dir / "node.toml").read_text())
    assert data["node"] == {"id": "CN-GD", "role": "province", "advertise_host": "127.0.0.1"}
    keys = sorted(p.name for p in (config.dir / "keys").iterdir())
    assert keys == ["signing.key", "tls.key", "token.key"]  # no certificate before enrolment


async def test_init_refuses_a_bad_id_and_an_existing_node(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as bad:
        await admin.init_node(
            admin.InitOptions(node_dir=tmp_path / "x", node_id="CN-XX", role=Role.PROVINCE)
        )
    assert (bad.value.reason, bad.value.field) == ("id.unknown_subdivision", "id")
    assert not (tmp_path / "x").exists()
    opts = admin.InitOptions(node_dir=tmp_path / "CN", node_id="CN", role=Role.CENTRAL)
    await admin.init_node(opts)
    with pytest.raises(FailedPrecondition) as exists:
        await admin.init_node(opts)
    assert (exists.value.reason, exists.value.field) == ("init.exists", "dir")


def test_the_cli_names_the_id_at_fault(tmp_path: Path) -> None:
    done = swnode("init", "--dir", str(tmp_path / "n"), "--id", "CN-GD", "--role", "central")
    assert done.returncode == 2
    assert "id: a central node's id is a country code (e.g. CN)" in done.stderr


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2d", 172800)])
def test_durations(text: str, seconds: float) -> None:
    assert admin.parse_duration(text, field="ttl") == seconds


def test_a_bad_duration_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        admin.parse_duration("an hour", field="ttl")
    assert refused.value.message.startswith("ttl: ")
