"""Operator actions on a node folder: init, enrol, invite, revoke, anchors and trust.

These run beside a running node (SQLite in WAL mode, or PostgreSQL, take both): changes to the
registry publish a new directory version at once, and the running central serves it from storage
on the next request.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from core.algorithms import profile
from core.anchor import anchor_fingerprint, decode_anchor, encode_anchor
from core.errors import ConfigError, FailedPrecondition, InvalidArgument
from core.ids import Role, validate_node_id
from core.invitation import Invitation
from identity import enrolment
from identity.authority import Authority, CentralSettings
from identity.ca import create_ca, issue_certificate, make_csr
from identity.keys import generate_node_keys, load_node_keys, save_enrolment
from node.config import CONFIG_FILE, NodeConfig, load_config, with_central, write_config
from storage.database import Database
from swf.v1 import directory_pb2 as pb

__all__ = [
    "InitOptions",
    "central",
    "certificate_fingerprint",
    "enroll_node",
    "export_anchor",
    "free_ports",
    "init_node",
    "invite",
    "now_ms",
    "open_db",
    "parse_duration",
    "revoke",
    "trust_add",
    "trust_remove",
]


def now_ms() -> int:
    return int(time.time() * 1000)


def free_ports(host: str, count: int) -> list[int]:
    """Ports the OS says are free now on `host` (a node binds them moments later)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def parse_duration(text: str, *, field: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise InvalidArgument(
            "duration.malformed",
            f"{field}: expected a duration like 90s, 30m, 1h or 2d",
            field=field,
        )
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


async def open_db(config: NodeConfig) -> Database:
    return await Database.open(
        config.storage_url, base_dir=config.dir, password=config.storage_password()
    )


@asynccontextmanager
async def central(node_dir: Path) -> AsyncIterator[tuple[NodeConfig, Authority]]:
    config = load_config(node_dir)
    if not config.is_central:
        raise FailedPrecondition(
            "authority.not_central",
            f"{node_dir}: {config.id} is a province node; run this on the central node's folder",
        )
    db = await open_db(config)
    try:
        yield (
            config,
            Authority(
                db,
                CentralSettings(
                    node_id=config.id,
                    peer_endpoint=config.peer_endpoint,
                    client_endpoint=config.client_endpoint,
                    directory_validity_s=config.directory_validity_s,
                    certificate_lifetime_ms=int(config.key_lifetime_s * 1000),
                ),
                load_node_keys(node_dir),
                now_ms,
            ),
        )
    finally:
        await db.close()


@dataclass(frozen=True)
class InitOptions:
    node_dir: Path
    node_id: str
    role: Role
    host: str = "127.0.0.1"
    peer_port: int | None = None
    client_port: int | None = None
    ops_port: int | None = None
    web_port: int | None = None
    poll_interval_s: float | None = None
    directory_validity_s: float | None = None
    storage_url: str | None = None
    # The federation's crypto profile (PROTOCOL.md §0.9): fixed when its central is created; a
    # province is initialised with its federation's.
    crypto: str = "ed25519"


async def init_node(opts: InitOptions) -> NodeConfig:
    validate_node_id(opts.node_id, opts.role, field="id")
    crypto = profile(opts.crypto)
    if (opts.node_dir / CONFIG_FILE).exists():
        raise FailedPrecondition(
            "init.exists",
            f"dir: {opts.node_dir} already holds a node ({CONFIG_FILE}); use another folder",
            field="dir",
        )
    opts.node_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    chosen = iter(free_ports(opts.host, 4))
    defaults = NodeConfig(
        dir=opts.node_dir, id=opts.node_id, role=opts.role, peer_port=1, client_port=2, ops_port=3
    )
    config = NodeConfig(
        dir=opts.node_dir,
        id=opts.node_id,
        role=opts.role,
        host=opts.host,
        advertise_host=opts.host,
        peer_port=opts.peer_port or next(chosen),
        client_port=opts.client_port or next(chosen),
        ops_port=opts.ops_port or next(chosen),
        web_port=opts.web_port or next(chosen),
        poll_interval_s=opts.poll_interval_s or defaults.poll_interval_s,
        directory_validity_s=opts.directory_validity_s or defaults.directory_validity_s,
        storage_url=opts.storage_url or defaults.storage_url,
    )
    if len({config.peer_port, config.client_port, config.ops_port, config.web_port}) != 4:
        raise ConfigError("ports: peer, client, ops and web must differ", field="ports")
    write_config(config)
    generate_node_keys(opts.node_dir, central=opts.role is Role.CENTRAL, profile=crypto)
    if opts.role is Role.CENTRAL:
        await _init_central(config)
    return config


async def _init_central(config: NodeConfig) -> None:
    """A central node is its federation's CA and enrols itself."""
    keys = load_node_keys(config.dir)
    assert keys.ca_key is not None and keys.directory_key is not None
    t = now_ms()
    ca = create_ca(config.federation, keys.ca_key, t)
    csr = make_csr(config.id, keys.tls_key, [config.host, config.advertise_host])
    cert = issue_certificate(ca_key=keys.ca_key, ca_cert=ca, csr=csr, node_id=config.id, now_ms=t)
    save_enrolment(config.dir, tls_cert=cert, ca_cert=ca, directory_key=b"")
    async with central(config.dir) as (_, authority):
        await authority.register_self()


async def enroll_node(node_dir: Path, central_endpoint: str, token: str) -> pb.Directory:
    config = load_config(node_dir)
    if config.is_central:
        raise FailedPrecondition(
            "enrol.central",
            "dir: a central node does not enrol; it is its federation's CA",
            field="dir",
        )
    keys = load_node_keys(node_dir)
    if keys.enrolled:
        raise FailedPrecondition(
            "enrol.already",
            f"dir: {config.id} is already enrolled; to join again, init a fresh node folder",
            field="dir",
        )
    result = await enrolment.enrol(
        node_id=config.id,
        invitation_text=token,
        central=central_endpoint,
        keys=keys,
        hosts=[config.host, config.advertise_host],
        peer_endpoint=config.peer_endpoint,
        client_endpoint=config.client_endpoint,
    )
    db = await open_db(config)
    try:
        await db.directories.hold(
            config.federation,
            result.directory.version,
            result.bundle.own.SerializeToString(),
            now_ms(),
        )
    finally:
        await db.close()
    save_enrolment(
        node_dir,
        tls_cert=result.tls_cert,
        ca_cert=result.ca_cert,
        directory_key=result.directory_key,
    )
    write_config(
        with_central(
            config, client_endpoint=central_endpoint, peer_endpoint=result.central_peer_endpoint
        )
    )
    return result.directory


async def invite(node_dir: Path, node_id: str, ttl: str) -> Invitation:
    async with central(node_dir) as (_, authority):
        return await authority.invite(node_id, parse_duration(ttl, field="ttl"))


async def revoke(node_dir: Path, node_id: str, reason: str) -> int:
    async with central(node_dir) as (_, authority):
        return await authority.revoke(node_id, reason)


async def export_anchor(node_dir: Path, out: Path) -> str:
    async with central(node_dir) as (_, authority):
        anchor = authority.own_anchor()
    out.write_text(encode_anchor(anchor))
    return anchor_fingerprint(anchor)


async def trust_add(node_dir: Path, anchor_file: Path, fingerprint: str) -> tuple[str, int]:
    try:
        text = anchor_file.read_text()
    except OSError as exc:
        raise InvalidArgument("anchor.unreadable", f"anchor: {exc}", field="anchor") from exc
    anchor = decode_anchor(text)
    async with central(node_dir) as (_, authority):
        version = await authority.trust_add(anchor, fingerprint)
    return anchor.federation, version


async def trust_remove(node_dir: Path, federation: str) -> int:
    async with central(node_dir) as (_, authority):
        return await authority.trust_remove(federation)


def certificate_fingerprint(node_dir: Path) -> str:
    from core.signing import fingerprint

    keys = load_node_keys(node_dir)
    if keys.tls_cert is None:
        raise FailedPrecondition("node.not_enrolled", "the node has no certificate yet")
    return fingerprint(keys.tls_cert.public_bytes(Encoding.DER))
