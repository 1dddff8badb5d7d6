"""node.toml: every setting, its type, default and meaning, in one table.

The table below is the single source for parsing (with errors that name the key), for writing a
node's node.toml at `swnode init`, and for the annotated peers.example.toml, which a test checks
against it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError, InvalidArgument
from core.ids import Role, federation_of, validate_node_id
from services.agencies import DEFAULT_ROUTES

CONFIG_FILE = "node.toml"
ROUTING = "routing"  # the settings of [routing] fill one mapping, document type -> agencies


def _port(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise ValueError("must be an integer from 1 to 65535")
    return value


def _positive(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError("must be a number greater than 0")
    return float(value)


def _positive_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError("must be a whole number greater than 0")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _endpoint(value: Any) -> str:
    text = _text(value)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port")
    return text


def _role(value: Any) -> str:
    if value not in ("central", "province"):
        raise ValueError("must be 'central' or 'province'")
    return str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _agencies(value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ValueError('must be a list of agency ids, e.g. ["customs", "inspection"]')
    return tuple(value)


def _level(value: Any) -> str:
    if value not in ("debug", "info", "warning", "error"):
        raise ValueError("must be one of debug, info, warning, error")
    return str(value)


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    parse: Callable[[Any], Any]
    default: Any
    doc: str
    example: Any = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "node",
        "id",
        _text,
        None,
        "ISO 3166-1 alpha-2 for a central node (CN), ISO 3166-2 for a province (CN-GD).",
        "CN-GD",
    ),
    Setting("node", "role", _role, None, "central or province.", "province"),
    Setting("node", "host", _text, "127.0.0.1", "Address the peer and client ports listen on."),
    Setting(
        "node",
        "advertise_host",
        _text,
        None,
        "Address other nodes and clients use to reach this node (default: host).",
        "127.0.0.1",
    ),
    Setting(
        "ports",
        "peer",
        _port,
        None,
        "Peer port: other nodes only, mutual TLS with federation certificates.",
        7101,
    ),
    Setting(
        "ports",
        "client",
        _port,
        None,
        "Client port: enterprises, agencies, enrolment; TLS, bearer tokens.",
        7102,
    ),
    Setting(
        "ports",
        "ops",
        _port,
        None,
        "Ops port: /metrics, /healthz, /status; plain HTTP, keep it private.",
        7103,
    ),
    Setting(
        "ports",
        "ops_host",
        _text,
        "127.0.0.1",
        "Address the ops port listens on; loopback unless a monitoring network needs it.",
    ),
    Setting(
        "central",
        "client_endpoint",
        _endpoint,
        None,
        "Province only, written by `swnode enroll`: the central node's client port.",
        "127.0.0.1:7002",
    ),
    Setting(
        "central",
        "peer_endpoint",
        _endpoint,
        None,
        "Province only, written by `swnode enroll`: the central's peer port, polled for the "
        "directory.",
        "127.0.0.1:7001",
    ),
    Setting(
        "directory",
        "poll_interval_s",
        _positive,
        30.0,
        "How often the directory is fetched (province from its central, central from each "
        "trusted foreign central), and how often a central re-reads its own registry.",
    ),
    Setting(
        "directory",
        "validity_s",
        _positive,
        86400.0,
        "Central only: how long a signed directory stays valid. Provinces that cannot reach "
        "the central for this long stop carrying traffic (fail closed).",
    ),
    Setting(
        "storage",
        "url",
        _text,
        "sqlite:///node.db",
        "sqlite:///FILE (relative to the node folder) or postgresql://USER@HOST:PORT/DB.",
    ),
    Setting(
        "storage",
        "password_env",
        _text,
        None,
        "Name of an environment variable holding the PostgreSQL password, so it stays out "
        "of this file.",
        "SWNODE_DB_PASSWORD",
    ),
    Setting(
        "limits",
        "max_message_bytes",
        _positive_int,
        4 * 1024 * 1024,
        "Largest envelope (header + payload) accepted on the peer port.",
    ),
    Setting(
        "limits",
        "clock_skew_s",
        _positive,
        300.0,
        "How far ahead of this node's clock a message's creation time may be (the sender's"
        " clock is fast); older messages are fine until they expire.",
    ),
    Setting(
        "delivery",
        "ttl_s",
        _positive,
        86400.0,
        "How long a message may wait for delivery before it is dead (re-drivable).",
    ),
    Setting(
        "delivery",
        "window",
        _positive_int,
        2048,
        "Messages in flight per peer stream before waiting for their receipts.",
    ),
    Setting(
        "delivery",
        "backoff_base_s",
        _positive,
        0.5,
        "First wait after a peer fails; doubles with each failure in a row.",
    ),
    Setting(
        "delivery",
        "backoff_cap_s",
        _positive,
        60.0,
        "Longest wait between attempts to reach a peer that is down.",
    ),
    Setting(
        "delivery",
        "claim_lease_s",
        _positive,
        60.0,
        "With replicas: how long a replica's claim on messages in flight lasts; if it dies,"
        " another replica sends them again after this.",
    ),
    Setting(
        "identity",
        "lockout_free_failures",
        _positive_int,
        3,
        "Failed logins (per user in a row, per source address in the window) answered at once.",
    ),
    Setting(
        "identity",
        "lockout_delay_step_s",
        _positive,
        1.0,
        "Each further failed login is answered this much later than the one before.",
    ),
    Setting(
        "identity",
        "lockout_max_delay_s",
        _positive,
        5.0,
        "The longest a failed login is made to wait.",
    ),
    Setting(
        "identity",
        "lockout_after",
        _positive_int,
        10,
        "Failed logins in a row after which the user is locked (a success clears the count).",
    ),
    Setting(
        "identity",
        "lockout_s",
        _positive,
        900.0,
        "How long a user's lock lasts; logins are refused with login.locked until it ends.",
    ),
    Setting(
        "identity",
        "lockout_source_after",
        _positive_int,
        20,
        "Failed logins from one source address within lockout_window_s after which it is"
        " refused (login.locked) until the oldest leave the window; nothing else clears them.",
    ),
    Setting(
        "identity",
        "lockout_window_s",
        _positive,
        3600.0,
        "The sliding window in which a source address's failed logins are counted.",
    ),
    Setting(
        "identity",
        "registration_limit",
        _positive_int,
        10,
        "Enterprise registrations accepted from one source address per registration_window_s"
        " (then registration.rate_limited). A test network raises it: all its clients are"
        " 127.0.0.1.",
    ),
    Setting(
        "identity",
        "registration_window_s",
        _positive,
        3600.0,
        "The sliding window in which a source address's registrations are counted.",
    ),
    Setting("log", "level", _level, "info", "debug, info, warning or error."),
    Setting(
        "declarations",
        "tariff_file",
        _text,
        None,
        "CSV tariff (hs_code, description, duty_rate_percent, vat_rate_percent) used to assess"
        " goods declarations; default: the sample tariff shipped with swnode.",
        "/etc/swnode/tariff.csv",
    ),
    *(
        Setting(
            "routing",
            document_type,
            _agencies,
            agencies,
            f"Agencies (party ids) that must act on each {document_type}.",
        )
        for document_type, agencies in DEFAULT_ROUTES.items()
    ),
    Setting(
        "simulator",
        "enabled",
        _bool,
        False,
        "Test networks only: a rule-based responder decides every agency's work"
        " (services/simulator.py). Never in production.",
    ),
)


@dataclass(frozen=True)
class NodeConfig:
    dir: Path
    id: str
    role: Role
    peer_port: int
    client_port: int
    ops_port: int
    host: str = "127.0.0.1"
    advertise_host: str = "127.0.0.1"
    ops_host: str = "127.0.0.1"
    central_client_endpoint: str | None = None
    central_peer_endpoint: str | None = None
    poll_interval_s: float = 30.0
    directory_validity_s: float = 86400.0
    storage_url: str = "sqlite:///node.db"
    storage_password_env: str | None = None
    max_message_bytes: int = 4 * 1024 * 1024
    clock_skew_s: float = 300.0
    message_ttl_s: float = 86400.0
    delivery_window: int = 2048
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    claim_lease_s: float = 60.0
    lockout_free_failures: int = 3
    lockout_delay_step_s: float = 1.0
    lockout_max_delay_s: float = 5.0
    lockout_after: int = 10
    lockout_s: float = 900.0
    lockout_source_after: int = 20
    lockout_window_s: float = 3600.0
    registration_limit: int = 10
    registration_window_s: float = 3600.0
    log_level: str = "info"
    tariff_file: str | None = None
    routing: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    simulator_enabled: bool = False

    @property
    def federation(self) -> str:
        return federation_of(self.id)

    @property
    def is_central(self) -> bool:
        return self.role is Role.CENTRAL

    @property
    def peer_endpoint(self) -> str:
        return f"{self.advertise_host}:{self.peer_port}"

    @property
    def client_endpoint(self) -> str:
        return f"{self.advertise_host}:{self.client_port}"

    @property
    def ops_url(self) -> str:
        return f"http://{self.ops_host}:{self.ops_port}"

    def addresses(self) -> dict[str, dict[str, object]]:
        """Where the node listens, as `swnode status` and `devnet status` show it."""
        return {
            "ports": {"peer": self.peer_port, "client": self.client_port, "ops": self.ops_port},
            "endpoints": {
                "peer": self.peer_endpoint,
                "client": self.client_endpoint,
                "ops": self.ops_url,
            },
        }

    @property
    def log_path(self) -> Path:
        return self.dir / "node.log"

    def storage_password(self) -> str | None:
        if self.storage_password_env is None:
            return None
        value = os.environ.get(self.storage_password_env)
        if value is None:
            raise ConfigError(
                f"[storage] password_env: the environment variable {self.storage_password_env} "
                "is not set",
                field="storage.password_env",
            )
        return value


_ATTR = {
    ("node", "id"): "id",
    ("node", "role"): "role",
    ("node", "host"): "host",
    ("node", "advertise_host"): "advertise_host",
    ("ports", "peer"): "peer_port",
    ("ports", "client"): "client_port",
    ("ports", "ops"): "ops_port",
    ("ports", "ops_host"): "ops_host",
    ("central", "client_endpoint"): "central_client_endpoint",
    ("central", "peer_endpoint"): "central_peer_endpoint",
    ("directory", "poll_interval_s"): "poll_interval_s",
    ("directory", "validity_s"): "directory_validity_s",
    ("storage", "url"): "storage_url",
    ("storage", "password_env"): "storage_password_env",
    ("limits", "max_message_bytes"): "max_message_bytes",
    ("limits", "clock_skew_s"): "clock_skew_s",
    ("delivery", "ttl_s"): "message_ttl_s",
    ("delivery", "window"): "delivery_window",
    ("delivery", "backoff_base_s"): "backoff_base_s",
    ("delivery", "backoff_cap_s"): "backoff_cap_s",
    ("delivery", "claim_lease_s"): "claim_lease_s",
    ("identity", "lockout_free_failures"): "lockout_free_failures",
    ("identity", "lockout_delay_step_s"): "lockout_delay_step_s",
    ("identity", "lockout_max_delay_s"): "lockout_max_delay_s",
    ("identity", "lockout_after"): "lockout_after",
    ("identity", "lockout_s"): "lockout_s",
    ("identity", "lockout_source_after"): "lockout_source_after",
    ("identity", "lockout_window_s"): "lockout_window_s",
    ("identity", "registration_limit"): "registration_limit",
    ("identity", "registration_window_s"): "registration_window_s",
    ("log", "level"): "log_level",
    ("declarations", "tariff_file"): "tariff_file",
    **{("routing", t): ROUTING for t in DEFAULT_ROUTES},
    ("simulator", "enabled"): "simulator_enabled",
}


def parse_config(node_dir: Path, data: dict[str, Any], *, source: str = CONFIG_FILE) -> NodeConfig:
    """Build a NodeConfig from parsed TOML, or raise ConfigError naming the key at fault."""
    known = {(s.section, s.key): s for s in SETTINGS}
    values: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table", field=section)
        for key, raw in table.items():
            setting = known.get((section, key))
            if setting is None:
                raise ConfigError(
                    f"{source}: [{section}] {key}: unknown setting (see peers.example.toml)",
                    field=f"{section}.{key}",
                )
            try:
                attr = _ATTR[(section, key)]
                if attr == ROUTING:
                    values.setdefault(ROUTING, dict(DEFAULT_ROUTES))[key] = setting.parse(raw)
                else:
                    values[attr] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(
                    f"{source}: [{section}] {key}: {exc}, got {raw!r}", field=f"{section}.{key}"
                ) from exc
    for setting in SETTINGS:
        attr = _ATTR[(setting.section, setting.key)]
        if (
            attr not in values
            and setting.default is None
            and attr
            not in (
                "advertise_host",
                "central_client_endpoint",
                "central_peer_endpoint",
                "storage_password_env",
                "tariff_file",
            )
        ):
            raise ConfigError(
                f"{source}: [{setting.section}] {setting.key}: required",
                field=f"{setting.section}.{setting.key}",
            )
    role = Role(values.pop("role"))
    try:
        validate_node_id(values["id"], role, field="[node] id")
    except InvalidArgument as exc:
        raise ConfigError(f"{source}: {exc.message}", field="node.id") from exc
    values.setdefault("advertise_host", values.get("host", "127.0.0.1"))
    ports = [values["peer_port"], values["client_port"], values["ops_port"]]
    if len(set(ports)) != 3:
        raise ConfigError(f"{source}: [ports]: peer, client and ops must differ", field="ports")
    return NodeConfig(dir=node_dir, role=role, **values)


def load_config(node_dir: Path) -> NodeConfig:
    path = node_dir / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no such file; create the node with `swnode init --dir {node_dir} ...`"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(node_dir, data, source=str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_config(config: NodeConfig | None) -> str:
    """node.toml text for `config`, each setting with its description; settings left at their
    default are shown commented out. With no config: the annotated example, every setting set."""
    if config is None:
        lines = [
            "# Annotated node.toml: every setting a node reads. `swnode init` writes a node.toml",
            "# of this shape into the node folder; edit it there, then restart the node.",
        ]
    else:
        lines = ["# swnode node configuration; every setting is described in peers.example.toml."]
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            lines.append(f"\n[{section}]")
        lines.append(f"# {setting.doc}")
        shown = setting.example if setting.example is not None else setting.default
        if config is None:
            lines.append(f"{setting.key} = {_toml_value(shown)}")
            continue
        attr = _ATTR[(setting.section, setting.key)]
        value = config.routing.get(setting.key) if attr == ROUTING else getattr(config, attr)
        value = value.value if isinstance(value, Role) else value
        if value is None or value == setting.default:
            lines.append(f"# {setting.key} = {_toml_value(shown)}")
        else:
            lines.append(f"{setting.key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_config(config: NodeConfig) -> None:
    path = config.dir / CONFIG_FILE
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(render_config(config))
    tmp.replace(path)


def with_central(config: NodeConfig, *, client_endpoint: str, peer_endpoint: str) -> NodeConfig:
    return replace(
        config, central_client_endpoint=client_endpoint, central_peer_endpoint=peer_endpoint
    )
