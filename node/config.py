"""A node's configuration: node.toml parsed against the settings table (node/settings.py) into
one frozen NodeConfig, with errors that name the key at fault, and written back."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError, InvalidArgument
from core.ids import Role, federation_of, validate_node_id
from node.settings import ROUTING, SETTINGS
from services.agencies import DEFAULT_ROUTES

__all__ = [
    "CONFIG_FILE",
    "NodeConfig",
    "load_config",
    "parse_config",
    "render_config",
    "with_central",
    "write_config",
]

CONFIG_FILE = "node.toml"


@dataclass(frozen=True)
class NodeConfig:
    dir: Path
    id: str
    role: Role
    peer_port: int
    client_port: int
    ops_port: int
    web_port: int | None = None
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
    key_lifetime_s: float = 0.0
    key_renew_fraction: float = 0.6667
    key_overlap_s: float = 86400.0
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
    log_format: str = "text"
    tracing_exporter: str = "none"
    tracing_endpoint: str = "http://127.0.0.1:4317"
    tariff_file: str | None = None
    routing: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    simulator_enabled: bool = False
    web_cert_file: str | None = None
    web_key_file: str | None = None
    web_name_en: str | None = None
    web_name_zh: str | None = None
    web_idle_timeout_s: float = 1800.0
    web_session_lifetime_s: float = 43200.0
    web_streams_per_session: int = 4

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

    @property
    def web_url(self) -> str | None:
        """The portal's address, or None when this node serves no portal."""
        if self.web_port is None:
            return None
        scheme = "https" if self.web_cert_file else "http"
        return f"{scheme}://{self.advertise_host}:{self.web_port}/"

    def addresses(self) -> dict[str, dict[str, object]]:
        """Where the node listens, as `swnode status` and `devnet status` show it."""
        return {
            "ports": {
                "peer": self.peer_port,
                "client": self.client_port,
                "ops": self.ops_port,
                "web": self.web_port,
            },
            "endpoints": {
                "peer": self.peer_endpoint,
                "client": self.client_endpoint,
                "ops": self.ops_url,
                "web": self.web_url,
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
    ("ports", "web"): "web_port",
    ("central", "client_endpoint"): "central_client_endpoint",
    ("central", "peer_endpoint"): "central_peer_endpoint",
    ("directory", "poll_interval_s"): "poll_interval_s",
    ("directory", "validity_s"): "directory_validity_s",
    ("storage", "url"): "storage_url",
    ("storage", "password_env"): "storage_password_env",
    ("limits", "max_message_bytes"): "max_message_bytes",
    ("limits", "clock_skew_s"): "clock_skew_s",
    ("keys", "lifetime_s"): "key_lifetime_s",
    ("keys", "renew_fraction"): "key_renew_fraction",
    ("keys", "overlap_s"): "key_overlap_s",
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
    ("log", "format"): "log_format",
    ("tracing", "exporter"): "tracing_exporter",
    ("tracing", "endpoint"): "tracing_endpoint",
    ("web", "cert_file"): "web_cert_file",
    ("web", "key_file"): "web_key_file",
    ("web", "name_en"): "web_name_en",
    ("web", "name_zh"): "web_name_zh",
    ("web", "idle_timeout_s"): "web_idle_timeout_s",
    ("web", "session_lifetime_s"): "web_session_lifetime_s",
    ("web", "streams_per_session"): "web_streams_per_session",
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
                "web_port",
                "web_cert_file",
                "web_key_file",
                "web_name_en",
                "web_name_zh",
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
    if values.get("web_port") is not None:
        ports.append(values["web_port"])
    if len(set(ports)) != len(ports):
        names = "peer, client, ops and web" if len(ports) == 4 else "peer, client and ops"
        raise ConfigError(f"{source}: [ports]: {names} must differ", field="ports")
    if ("web_cert_file" in values) != ("web_key_file" in values):
        raise ConfigError(
            f"{source}: [web] cert_file and key_file: set both or neither",
            field="web.cert_file" if "web_cert_file" not in values else "web.key_file",
        )
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
