"""`swnode rotate` refusals an operator meets before anything is changed: each exits 2 with one
line that says why, and leaves no pending key behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.ids import Role
from node.cli import main
from node.operator import admin


def init(tmp_path: Path, node_id: str, role: Role) -> Path:
    config = asyncio.run(
        admin.init_node(admin.InitOptions(node_dir=tmp_path / node_id, node_id=node_id, role=role))
    )
    return config.dir


def test_the_directory_key_is_never_retired_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = init(tmp_path, "CN", Role.CENTRAL)
    assert main(["rotate", "--dir", str(folder), "--key", "directory", "--now"]) == 2
    assert "form the federation anew" in capsys.readouterr().err
    assert not (folder / "keys" / "directory.next.key").exists()


def test_a_node_not_enrolled_has_nothing_to_rotate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = init(tmp_path, "CN-GD", Role.PROVINCE)
    assert main(["rotate", "--dir", str(folder), "--key", "signing"]) == 2
    assert "not enrolled" in capsys.readouterr().err
    assert not (folder / "keys" / "signing.next.key").exists()


def test_a_province_cannot_rotate_the_directory_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = init(tmp_path, "CN-GD", Role.PROVINCE)
    assert main(["rotate", "--dir", str(folder), "--key", "directory"]) == 2
    assert "province node" in capsys.readouterr().err
