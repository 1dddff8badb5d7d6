"""node.toml: every error names the key and what is wrong; peers.example.toml documents every
setting and is exactly what `render_config(None)` writes."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError
from core.ids import Role
from node.config import (
    NodeConfig,
    load_config,
    parse_config,
    render_config,
    with_central,
    write_config,
)
from node.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def minimal(**changes: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "node": {"id": "CN-GD", "role": "province"},
        "ports": {"peer": 7101, "client": 7102, "ops": 7103},
    }
    for section, table in changes.items():
        data.setdefault(section, {}).update(table)
    return data


def test_peers_example_is_exactly_the_rendered_example() -> None:
    assert (ROOT / "peers.example.toml").read_text() == render_config(None)


def test_peers_example_parses_and_sets_every_setting() -> None:
    data = tomllib.loads((ROOT / "peers.example.toml").read_text())
    config = parse_config(Path("/srv/swnode"), data, source="peers.example.toml")
    assert config.id == "CN-GD" and config.role is Role.PROVINCE
    written = {(section, key) for section, table in data.items() for key in table}
    assert written == {(s.section, s.key) for s in SETTINGS}
    assert config.central_peer_endpoint == "127.0.0.1:7001"
    assert config.storage_password_env == "SWNODE_DB_PASSWORD"


def test_every_setting_is_documented() -> None:
    text = render_config(None)
    for setting in SETTINGS:
        assert setting.doc and f"# {setting.doc}" in text, setting.key


def test_defaults() -> None:
    config = parse_config(Path("/n"), minimal())
    assert config.host == config.advertise_host == "127.0.0.1"
    assert config.poll_interval_s == 30.0
    assert config.directory_validity_s == 86400.0
    assert config.storage_url == "sqlite:///node.db"
    assert config.peer_endpoint == "127.0.0.1:7101"
    assert config.ops_url == "http://127.0.0.1:7103"
    assert (config.log_format, config.tracing_exporter) == ("text", "none")


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        (minimal(node={"id": "CN-XX"}), "node.id", "[node] id: 'CN-XX' is not an ISO 3166-2"),
        (minimal(node={"id": "XX"}), "node.id", "[node] id: 'XX' is not"),
        (minimal(node={"id": "CN"}), "node.id", "[node] id: a province node's id"),
        (
            minimal(node={"id": "CN-GD", "role": "central"}),
            "node.id",
            "[node] id: a central node's id",
        ),
        (minimal(node={"role": "hub"}), "node.role", "[node] role: must be 'central' or"),
        (minimal(ports={"peer": 70000}), "ports.peer", "[ports] peer: must be an integer"),
        (minimal(ports={"client": "7102"}), "ports.client", "[ports] client: must be an integer"),
        (minimal(ports={"ops": True}), "ports.ops", "[ports] ops: must be an integer"),
        (minimal(ports={"ops": 7101}), "ports", "[ports]: peer, client and ops must differ"),
        (
            minimal(directory={"poll_interval_s": 0}),
            "directory.poll_interval_s",
            "[directory] poll_interval_s: must be a number greater than 0, got 0",
        ),
        (
            minimal(central={"peer_endpoint": "central.example"}),
            "central.peer_endpoint",
            "[central] peer_endpoint: must be host:port",
        ),
        (
            minimal(limits={"max_message_bytes": 1.5}),
            "limits.max_message_bytes",
            "[limits] max_message_bytes: must be a whole number",
        ),
        (minimal(log={"level": "loud"}), "log.level", "[log] level: must be one of"),
        (minimal(log={"format": "xml"}), "log.format", "[log] format: must be one of text, json"),
        (
            minimal(tracing={"exporter": "jaeger"}),
            "tracing.exporter",
            "[tracing] exporter: must be one of none, otlp",
        ),
        (minimal(node={"colour": "red"}), "node.colour", "[node] colour: unknown setting"),
        (minimal(extra={"x": 1}), "extra.x", "[extra] x: unknown setting"),
        ({"node": {"role": "province"}, "ports": {}}, "node.id", "[node] id: required"),
        ({"node": "CN-GD"}, "node", "[node] must be a table"),
    ],
)
def test_a_bad_setting_is_named_with_what_is_wrong(
    data: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(Path("/n"), data, source="node.toml")
    assert refused.value.field == field
    assert refused.value.message.startswith("node.toml: ")
    assert says in refused.value.message


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    config = with_central(
        NodeConfig(
            dir=tmp_path,
            id="CN-GD",
            role=Role.PROVINCE,
            peer_port=7101,
            client_port=7102,
            ops_port=7103,
            advertise_host="gd.window.example",
            poll_interval_s=0.5,
            storage_url="postgresql://swnode@db.example:5432/gd",
            storage_password_env="GD_DB_PASSWORD",
        ),
        client_endpoint="cn.window.example:7002",
        peer_endpoint="cn.window.example:7001",
    )
    write_config(config)
    assert load_config(tmp_path) == config
    text = (tmp_path / "node.toml").read_text()
    assert '# level = "info"' in text  # settings left at their default stay commented out


def test_load_config_reports_broken_toml_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_config(tmp_path)
    assert "swnode init" in missing.value.message
    (tmp_path / "node.toml").write_text("[node\nid = 1")
    with pytest.raises(ConfigError) as broken:
        load_config(tmp_path)
    assert "not valid TOML" in broken.value.message


def test_the_cli_prints_the_key_at_fault_and_exits_2(tmp_path: Path) -> None:
    data = minimal(ports={"peer": 0})
    lines = [f"[{s}]\n" + "".join(f"{k} = {v!r}\n" for k, v in t.items()) for s, t in data.items()]
    (tmp_path / "node.toml").write_text("".join(lines).replace("'", '"'))
    done = subprocess.run(
        [sys.executable, "-m", "node", "run", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "[ports] peer: must be an integer from 1 to 65535, got 0" in done.stderr
