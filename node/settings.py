"""node.toml: every setting, its type, default and meaning, in one table.

The table is the single source for parsing (node/config.py, with errors that name the key), for
writing a node's node.toml at `swnode init`, and for the annotated peers.example.toml, which a
test checks against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.agencies import DEFAULT_ROUTES

__all__ = ["ROUTING", "SETTINGS", "Setting"]

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


def _fraction(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError("must be a number between 0 and 1, e.g. 0.6667")
    return float(value)


def _seconds_or_zero(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError("must be a number of seconds, 0 or more")
    return float(value)


def _level(value: Any) -> str:
    if value not in ("debug", "info", "warning", "error"):
        raise ValueError("must be one of debug, info, warning, error")
    return str(value)


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return parse


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
        "ports",
        "web",
        _port,
        None,
        "Web port: the portal people use in a browser (docs/PORTAL.md), on [node] host; HTTPS"
        " with [web] cert_file and key_file, plain HTTP only on a loopback host. Unset: no"
        " portal.",
        7104,
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
        "keys",
        "lifetime_s",
        _seconds_or_zero,
        0.0,
        "Lifetime of the TLS certificate, signing and token keys this node renews: 0 keeps"
        " what the central issues (a certificate of about 13 months, keys until rotated); a"
        " few minutes lets renewal be watched on a test network.",
    ),
    Setting(
        "keys",
        "renew_fraction",
        _fraction,
        0.6667,
        "The running node renews a certificate or key once this fraction of its lifetime has"
        " passed (swnode rotate, automatically).",
    ),
    Setting(
        "keys",
        "overlap_s",
        _positive,
        86400.0,
        "How long a replaced key or certificate stays accepted after its successor is in use"
        " (a token key's at least the longest token lifetime).",
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
        "log",
        "format",
        _choice("text", "json"),
        "text",
        "text: one readable line per event; json: one JSON object per line with the node id,"
        " trace and span ids and message ids, for a log collector (docs/OPERATIONS.md).",
        "json",
    ),
    Setting(
        "tracing",
        "exporter",
        _choice("none", "otlp"),
        "none",
        "Where the node's OpenTelemetry spans go: none (trace context is still passed on to"
        " peers), or otlp (an OpenTelemetry collector over gRPC at endpoint).",
        "otlp",
    ),
    Setting(
        "tracing",
        "endpoint",
        _text,
        "http://127.0.0.1:4317",
        "The OTLP/gRPC collector's address (http:// for plain text, https:// for TLS).",
    ),
    Setting(
        "web",
        "cert_file",
        _text,
        None,
        "The portal's HTTPS certificate chain (PEM, a certificate browsers trust), relative to"
        " the node folder or absolute.",
        "/etc/swnode/portal.crt",
    ),
    Setting(
        "web",
        "key_file",
        _text,
        None,
        "The private key of cert_file (PEM, mode 0600).",
        "/etc/swnode/portal.key",
    ),
    Setting(
        "web",
        "name_en",
        _text,
        None,
        "The window's name in English on its portal; default: from the node id (China"
        " (Guangdong) International Trade Single Window).",
        "China (Guangdong) International Trade Single Window",
    ),
    Setting(
        "web",
        "name_zh",
        _text,
        None,
        "The window's name in Chinese on its portal; default: from the node id"
        " (中国（广东）国际贸易单一窗口).",
        "中国（广东）国际贸易单一窗口",
    ),
    Setting(
        "web",
        "idle_timeout_s",
        _positive,
        1800.0,
        "A portal session with no request for this long ends: its user logs in again.",
    ),
    Setting(
        "web",
        "session_lifetime_s",
        _positive,
        43200.0,
        "A portal session ends this long after its login, however busy; never later than the"
        " login session it holds (12 hours at the home node, 15 minutes for a login forwarded"
        " from another node).",
    ),
    Setting(
        "web",
        "streams_per_session",
        _positive_int,
        4,
        "Live-update connections (server-sent events of open declaration and timeline pages)"
        " one portal session may hold at once, per process; one more is refused with 429.",
    ),
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
