"""deploy/'s systemd unit and Containerfile run the node as the operations guide says: the
command they start exists and takes the folder they give it, the folder is the one they let
the node write, and the image's build context holds every package the project installs."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from node.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "swnode@.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_runs_the_instance_node_in_the_folder_it_may_write() -> None:
    service = unit()["Service"]
    program, *args = service["ExecStart"].split()
    assert program.endswith("/swnode")
    parsed = build_parser().parse_args(args)
    assert parsed.func.__name__ == "cmd_run"
    assert str(parsed.dir) == "/var/lib/swnode/%i"
    assert service["ReadWritePaths"] == "/var/lib/swnode/%i"
    assert service["Restart"] == "on-failure" and int(service["TimeoutStopSec"]) > 5


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    instance = tmp_path / "swnode@CN-GD.service"
    instance.write_text(UNIT.read_text().replace("/opt/swnode/.venv/bin/swnode", "/bin/true"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(instance)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "swnode@" not in result.stderr, result.stderr


def containerfile() -> dict[str, str]:
    instructions: dict[str, str] = {}
    for line in CONTAINERFILE.read_text().splitlines():
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions[word] = rest
    return instructions


def test_the_image_runs_the_node_in_its_volume() -> None:
    image = containerfile()
    assert json.loads(image["ENTRYPOINT"]) == ["swnode"]
    command = json.loads(image["CMD"])
    parsed = build_parser().parse_args(command)
    assert parsed.func.__name__ == "cmd_run"
    assert json.loads(image["VOLUME"]) == [str(parsed.dir)]
    assert image["USER"] == "swnode" and image["STOPSIGNAL"] == "SIGTERM"


def test_the_build_context_holds_every_package_and_no_secrets() -> None:
    ignored = (ROOT / ".containerignore").read_text().splitlines()
    docker = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [r for r in ignored if r and not r.startswith("#")]
    assert rules == [r for r in docker if r and not r.startswith("#")]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        assert not any(re.fullmatch(r.replace("*", ".*"), package) for r in rules), package
    assert {"**/keys", "**/*.db", ".venv"} <= set(rules)
