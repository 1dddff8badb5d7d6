"""A local test network: federation CN (a central and N provinces) and M foreign federations,
every node its own OS process on free 127.0.0.1 ports, in one folder.

    D/devnet.json   which nodes make up the network
    D/<ID>/         each node's folder (node.toml, keys/, node.db, node.log, console.log, node.pid)

The network is built with the same operator actions a real deployment uses: init, invite and
enroll for each province, anchor export and trust add between CN and each foreign central.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psutil

from core.errors import FailedPrecondition, InvalidArgument, Unavailable
from core.ids import Role, federation_of, role_of
from node.config import load_config, write_config
from node.operator import admin, parties
from services.agencies import AGENCIES

__all__ = [
    "AGENCY_CREDENTIALS",
    "FOREIGN",
    "MANIFEST",
    "PROVINCES",
    "TEST_NETWORK_REGISTRATIONS",
    "TEST_NETWORK_SOURCE_FAILURES",
    "Devnet",
    "Settings",
]

MANIFEST = "devnet.json"
AGENCY_CREDENTIALS = "agency-credentials.json"  # test network only: the agencies' passwords
PROVINCES = ("CN-GD", "CN-SH", "CN-ZJ", "CN-JS", "CN-BJ", "CN-FJ", "CN-SD", "CN-TJ", "CN-SC")
FOREIGN = ("SG", "TH", "MY", "VN", "ID", "PH")
# The province each foreign federation gets with `--foreign-provinces` (PROTOCOL.md §5.5).
FOREIGN_PROVINCE = {
    "SG": "SG-01",
    "TH": "TH-10",
    "MY": "MY-14",
    "VN": "VN-HN",
    "ID": "ID-JK",
    "PH": "PH-00",
}
# Every client of a test network is 127.0.0.1: registrations and failed logins from one source
# address are allowed far more often than a real node allows them (docs/OPERATIONS.md).
TEST_NETWORK_REGISTRATIONS = 100_000
TEST_NETWORK_SOURCE_FAILURES = 10_000


@dataclass(frozen=True)
class Settings:
    poll_interval_s: float = 2.0
    directory_validity_s: float = 3600.0
    # Storage URL per node id, for nodes that should not use their folder's SQLite file.
    storage: Mapping[str, str] = field(default_factory=dict)
    # Agencies' work decided by the rule-based simulator (services/simulator.py).
    simulator: bool = True
    # Each foreign federation also gets one province, enrolled with its own central.
    foreign_provinces: bool = False
    # CN's federation's crypto profile (`--crypto sm2`); foreign federations stay ed25519.
    crypto: str = "ed25519"


class Devnet:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    # -- the manifest ------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def node_ids(self) -> list[str]:
        if not self.exists():
            raise FailedPrecondition(
                "devnet.missing",
                f"dir: {self.root} holds no test network; create one with `swnode devnet up`",
                field="dir",
            )
        return list(json.loads(self.manifest_path.read_text())["nodes"])

    def node_dir(self, node_id: str) -> Path:
        return self.root / node_id

    def _check_node(self, node_id: str) -> None:
        if node_id not in self.node_ids():
            raise InvalidArgument(
                "devnet.unknown_node",
                f"node: {node_id} is not in this network ({', '.join(self.node_ids())})",
                field="node",
            )

    # -- building ----------------------------------------------------------------------------

    async def create(self, provinces: int, foreign: int, settings: Settings = Settings()) -> None:
        if not 0 <= provinces <= len(PROVINCES) or not 0 <= foreign <= len(FOREIGN):
            raise InvalidArgument(
                "devnet.size",
                f"provinces: 0 to {len(PROVINCES)}; foreign: 0 to {len(FOREIGN)}",
                field="provinces",
            )
        ids = ["CN", *PROVINCES[:provinces], *FOREIGN[:foreign]]
        if settings.foreign_provinces:
            ids += [FOREIGN_PROVINCE[f] for f in FOREIGN[:foreign]]
        self.root.mkdir(parents=True, exist_ok=True)
        # Every port of the network at once, so that no two nodes are given the same one.
        ports = iter(admin.free_ports("127.0.0.1", 4 * len(ids)))
        for node_id in ids:
            await admin.init_node(
                admin.InitOptions(
                    node_dir=self.node_dir(node_id),
                    node_id=node_id,
                    role=role_of(node_id),
                    peer_port=next(ports),
                    client_port=next(ports),
                    ops_port=next(ports),
                    web_port=next(ports),
                    poll_interval_s=settings.poll_interval_s,
                    directory_validity_s=settings.directory_validity_s,
                    storage_url=settings.storage.get(node_id),
                    crypto=settings.crypto if federation_of(node_id) == "CN" else "ed25519",
                )
            )
            node_dir = self.node_dir(node_id)
            write_config(
                replace(
                    load_config(node_dir),
                    registration_limit=TEST_NETWORK_REGISTRATIONS,
                    lockout_source_after=TEST_NETWORK_SOURCE_FAILURES,
                )
            )
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"nodes": ids}, indent=2))
        tmp.replace(self.manifest_path)
        # Enrol every province with its central, which must be running to answer.
        self.start("CN")
        self.wait_healthy(["CN"])
        for node_id in ids:
            if role_of(node_id) is Role.PROVINCE:
                federation = federation_of(node_id)
                central = self.node_dir(federation)
                if self.start(federation):
                    self.wait_healthy([federation])
                invitation = await admin.invite(central, node_id, "10m")
                client = load_config(central).client_endpoint
                await admin.enroll_node(self.node_dir(node_id), client, invitation.encode())
        # Foreign federations: both operators pin each other's anchor.
        for node_id in ids:
            if node_id != "CN" and role_of(node_id) is Role.CENTRAL:
                await self.exchange_anchors("CN", node_id)
        # Every node gets the agencies of a single window, decided by the simulator.
        for node_id in ids:
            await self.add_agencies(node_id, simulator=settings.simulator)

    async def add_agencies(self, node_id: str, *, simulator: bool) -> None:
        node_dir = self.node_dir(node_id)
        credentials = {}
        for agency, name in AGENCIES.items():
            user, password = await parties.add_party(
                node_dir, agency, "agency", name, (), "officer"
            )
            credentials[agency] = {"user": f"{agency}/{user}", "password": password}
        path = node_dir / AGENCY_CREDENTIALS
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)
        if simulator:
            write_config(replace(load_config(node_dir), simulator_enabled=True))

    def agency_login(self, node_id: str, agency: str) -> tuple[str, str]:
        """(user, password) of an agency's officer at a devnet node."""
        entry = json.loads((self.node_dir(node_id) / AGENCY_CREDENTIALS).read_text())[agency]
        return entry["user"], entry["password"]

    async def exchange_anchors(self, a: str, b: str) -> None:
        for mine, theirs in ((a, b), (b, a)):
            out = self.root / f"{mine}.anchor.json"
            fp = await admin.export_anchor(self.node_dir(mine), out)
            await admin.trust_add(self.node_dir(theirs), out, fp)

    # -- processes ---------------------------------------------------------------------------

    def pid(self, node_id: str) -> int | None:
        """The pid of the node's process if it is running (and is really that node's)."""
        pid_file = self.node_dir(node_id) / "node.pid"
        try:
            pid = int(pid_file.read_text())
            proc = psutil.Process(pid)
            cmdline = proc.cmdline()
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (FileNotFoundError, ValueError, psutil.Error):
            return None
        if not cmdline or (cmdline[0] != sys.executable and "node" not in cmdline):
            # Started a moment ago and not yet exec'd into `python -m node run`: still ours.
            return pid if time.time() - proc.create_time() < 10 else None
        return pid if str(self.node_dir(node_id)) in cmdline else None

    def start(self, node_id: str | None = None) -> list[str]:
        """Start the named node, or every stopped node; return those started."""
        started = []
        for nid in [node_id] if node_id else self.node_ids():
            if node_id:
                self._check_node(nid)
            if self.pid(nid) is not None:
                continue
            node_dir = self.node_dir(nid)
            with (node_dir / "console.log").open("ab") as console:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "node", "run", "--dir", str(node_dir)],
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    cwd=node_dir,
                )
            (node_dir / "node.pid").write_text(str(proc.pid))
            started.append(nid)
        return started

    def stop(
        self, node_id: str | None = None, *, kill: bool = False, timeout_s: float = 15
    ) -> list[str]:
        """Stop the named node, or all; SIGTERM (SIGKILL with `kill`, or after `timeout_s`)."""
        stopped = []
        for nid in [node_id] if node_id else self.node_ids():
            if node_id:
                self._check_node(nid)
            pid = self.pid(nid)
            if pid is None:
                continue
            proc = psutil.Process(pid)
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            (self.node_dir(nid) / "node.pid").unlink(missing_ok=True)
            stopped.append(nid)
        return stopped

    # -- health ------------------------------------------------------------------------------

    def healthz(self, node_id: str) -> tuple[bool, dict[str, Any]]:
        config = load_config(self.node_dir(node_id))
        try:
            with urllib.request.urlopen(f"{config.ops_url}/healthz", timeout=2) as r:  # noqa: S310
                return r.status == 200, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return False, json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            return False, {"status": "not running"}

    def node_status(self, node_id: str) -> dict[str, Any] | None:
        from node.operator.status import live_status

        return live_status(load_config(self.node_dir(node_id)))

    def wait_healthy(self, ids: list[str] | None = None, timeout_s: float = 60) -> None:
        """Until every node serves with a valid directory and, across the network, every node
        holds the directory of every federation it trusts."""
        ids = ids or self.node_ids()
        deadline = time.monotonic() + timeout_s
        waiting: list[str] = ids
        while time.monotonic() < deadline:
            waiting = [n for n in ids if not self._settled(n, ids)]
            if not waiting:
                return
            for nid in waiting:
                if self.pid(nid) is None:
                    log = self.node_dir(nid) / "console.log"
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    raise Unavailable(
                        "devnet.node_died", f"node {nid} is not running; its console says:\n{tail}"
                    )
            time.sleep(0.3)
        raise Unavailable(
            "devnet.timeout", f"nodes not ready after {timeout_s:.0f}s: {', '.join(waiting)}"
        )

    def _settled(self, node_id: str, ids: list[str]) -> bool:
        healthy, _ = self.healthz(node_id)
        if not healthy:
            return False
        status = self.node_status(node_id)
        if status is None:
            return False
        directory = status["directory"]
        trusted = set(directory.get("trusted_federations", []))
        held = {f for f, d in directory.get("foreign", {}).items() if d["valid"]}
        return trusted <= held

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for nid in self.node_ids():
            config = load_config(self.node_dir(nid))
            pid = self.pid(nid)
            healthy = self.healthz(nid)[0] if pid is not None else False
            rows.append(
                {
                    "id": nid,
                    "role": config.role.value,
                    "pid": pid,
                    "running": pid is not None,
                    "healthy": healthy,
                    "dir": str(config.dir),
                    **config.addresses(),
                }
            )
        return rows
