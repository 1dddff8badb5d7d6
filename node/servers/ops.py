"""The ops port: plain HTTP for operators and monitoring, loopback by default.

    GET /healthz                200 when the node serves, 503 with the reasons when it does not
    GET /metrics                Prometheus text format
    GET /status                 the JSON that `swnode status --json` prints
    GET /.well-known/jwks.json  the node's token keys (JWKS)
    POST /wake                  look at the outbox and inbox again now: `swnode send` and the
                                other operator commands call it after writing to a SQLite
                                node's database from their own process (it carries nothing)

The HTTP server runs in its own thread and only reads snapshots that the node's event loop
publishes, so a slow scrape never touches the loop.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["OpsServer"]


class _Snapshot:
    def __init__(self) -> None:
        self.healthy = False
        self.reasons: list[str] = ["starting"]
        self.status: dict[str, Any] = {}
        self.jwks: dict[str, Any] = {"keys": []}


class OpsServer:
    def __init__(self, host: str, port: int, registry: CollectorRegistry) -> None:
        self.snapshot = _Snapshot()
        snapshot = self.snapshot
        self.on_wake: Callable[[], object] = lambda: None
        ops = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    body: dict[str, Any] = {
                        "status": "serving" if snapshot.healthy else "not serving"
                    }
                    if not snapshot.healthy:
                        body["reasons"] = list(snapshot.reasons)
                    self._json(200 if snapshot.healthy else 503, body)
                elif path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                elif path == "/status":
                    self._json(200, snapshot.status)
                elif path == "/.well-known/jwks.json":
                    self._json(200, snapshot.jwks)
                else:
                    self._json(404, {"error": f"no such path {path}"})

            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/wake":
                    ops.on_wake()
                    self._json(202, {"status": "woken"})
                else:
                    self._json(404, {"error": f"no such path {path}"})

            def _json(self, code: int, body: Any) -> None:
                self._send(code, "application/json", json.dumps(body, indent=2).encode())

            def _send(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # scrapes every few seconds would drown the node's log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        # Asleep until a request comes (socketserver's default looks for a stop twice a second).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(None,), name="ops", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the serving thread to stop, and connect to wake it so that it sees the request."""
        if self._thread.is_alive():
            host, port = self._server.server_address[:2]
            stopping = threading.Thread(target=self._server.shutdown, daemon=True)
            stopping.start()
            while stopping.is_alive():
                with contextlib.suppress(OSError):
                    socket.create_connection((str(host), port), timeout=1).close()
                stopping.join(0.05)
        self._server.server_close()
