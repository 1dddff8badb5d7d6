"""The web port: the portal's ASGI app served by uvicorn inside the node process, on the node's
own asyncio loop, started and stopped with the other servers.

HTTPS with `[web] cert_file` and `key_file`; without them, plain HTTP, and only on a loopback
address (a test network, or a node behind a TLS-terminating proxy on the same host). The socket
is bound here, before anything is served, so that a port in use fails the start with the
setting's name, like the other ports. uvicorn's own signal handling is turned off: the node's
process handles SIGTERM for every server at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from core.errors import ConfigError
from node.config import NodeConfig
from node.web import csrf
from node.web.app import build_app
from node.web.branding import branding_for
from node.web.portal import Parts, Portal
from node.web.session import Sessions, Streams
from node.web.templating import Templates

__all__ = ["WebServer", "portal_for"]

log = logging.getLogger("swnode.web")


class _Headers(ServerState):
    """uvicorn's server state, its default headers made at each response: the Date header is
    current without the timer that uvicorn keeps for it."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._config = config
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        date = [(b"date", formatdate(usegmt=True).encode())] if self._config.date_header else []
        return date + getattr(self._config, "encoded_headers", [])

    @default_headers.setter
    def default_headers(self, _: list[tuple[bytes, bytes]]) -> None:
        pass  # uvicorn's tick sets them; they are made when asked instead


class _Server(uvicorn.Server):
    """uvicorn asleep while nothing comes: its main loop wakes ten times a second to refresh the
    Date header and look for a stop; here it waits for `stop()` alone (an idle node sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.server_state = _Headers(config)
        self._stopped = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stopped.set()

    async def main_loop(self) -> None:
        await self._stopped.wait()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _path(config: NodeConfig, name: str) -> str:
    path = Path(name)
    return str(path if path.is_absolute() else config.dir / path)


def portal_for(node: Parts, secret: bytes) -> Portal:
    """The portal of a running node; `secret` is its session secret (from keys/local.secret:
    identity/local_secret.py), from which the CSRF key is derived, alike on every replica and
    through every key rotation."""
    config = node.config
    return Portal(
        node=node,
        branding=branding_for(config.id, name_en=config.web_name_en, name_zh=config.web_name_zh),
        sessions=Sessions(
            accounts=node.accounts,
            store=node.db.web_sessions,
            clock_ms=node.clock_ms,
            idle_ms=int(config.web_idle_timeout_s * 1000),
            lifetime_ms=int(config.web_session_lifetime_s * 1000),
        ),
        streams=Streams(config.web_streams_per_session),
        templates=Templates(),
        csrf_key=csrf.derive_key(secret),
        https=config.web_cert_file is not None,
        zone="Asia/Shanghai" if config.federation == "CN" else "UTC",
    )


class WebServer:
    def __init__(self, portal: Portal) -> None:
        config = portal.node.config
        assert config.web_port is not None
        self._config = config
        if config.web_cert_file is None and not _is_loopback(config.host):
            raise ConfigError(
                f"[web] cert_file: required to serve the portal on {config.host} (plain HTTP is"
                " for a loopback address only)",
                field="web.cert_file",
            )
        self._uvicorn = uvicorn.Config(
            build_app(portal),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=1,
            ssl_certfile=_path(config, config.web_cert_file) if config.web_cert_file else None,
            ssl_keyfile=_path(config, config.web_key_file) if config.web_key_file else None,
        )
        self._server = _Server(self._uvicorn)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    def bind(self) -> None:
        config = self._config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((config.host, config.web_port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"[ports] web: cannot listen on {config.host}:{config.web_port}; is another"
                " process using it?",
                field="ports.web",
            ) from exc
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock

    async def start(self) -> None:
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        try:
            self._uvicorn.load()
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"[web] cert_file/key_file: cannot load the portal's certificate: {exc}",
                field="web.cert_file",
            ) from exc
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="web")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise ConfigError("[ports] web: the portal did not start", field="ports.web")
            await asyncio.sleep(0.01)
        log.info("portal: %s", self._config.web_url)

    async def stop(self) -> None:
        if self._task is None:
            if self._socket is not None:
                self._socket.close()
            return
        self._server.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
