"""A node on PostgreSQL whose database cannot be reached: it refuses to start with one line that
names the storage URL without its password; once running, it stops serving while the server is
down and serves again by itself when it returns.

These tests stop and start a PostgreSQL server, so they run one of their own (initdb and pg_ctl
from /usr/lib/postgresql/*/bin, as scripts/with-postgres does) in a temporary directory, and are
skipped when those programs are not installed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from node.config import load_config, write_config
from node.devnet.network import Devnet, Settings
from node.operator.admin import free_ports
from tests.conftest import run_coroutine
from tests.harness import Network, NetworkSpec, eventually

pytestmark = [pytest.mark.network, pytest.mark.postgres]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's server programs, if any."""
    found = [
        d
        for d in Path("/usr/lib/postgresql").glob("*/bin")
        if (d / "initdb").exists() and (d / "pg_ctl").exists()
    ]
    if not found:
        return None
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


@dataclass
class OwnPostgres:
    """A PostgreSQL server that this module started and may stop and start again."""

    bin: Path
    data: Path
    port: int
    run_as: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://swnode@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data / "db"), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=50"
        )
        try:
            self._pg_ctl("-l", str(self.data / "server.log"), "-w", "-o", options, "start")
        except subprocess.CalledProcessError:
            log = self.data / "server.log"
            raise AssertionError(
                "the test's PostgreSQL did not start:\n"
                + (log.read_text()[-2000:] if log.exists() else "")
            ) from None

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    pg_bin = postgres_bin()
    if pg_bin is None:
        pytest.skip(
            "needs PostgreSQL's server programs (initdb, pg_ctl) in /usr/lib/postgresql/*/bin "
            "to run a server it can stop and start; install the postgresql package"
        )
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root needs a `postgres` user to run PostgreSQL as")
        run_as = ["runuser", "-u", "postgres", "--"]
    # A short path: the server's Unix socket lives here too.
    data = Path(tempfile.mkdtemp(prefix="swnode-pg-"))
    try:
        if run_as:
            shutil.chown(data, "postgres")
        initdb = [str(pg_bin / "initdb"), "-D", str(data / "db"), "-U", "swnode", "-A", "trust"]
        init = subprocess.run(
            [*run_as, *initdb, "--no-sync"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert init.returncode == 0, init.stdout + init.stderr
        (port,) = free_ports("127.0.0.1", 1)
        server = OwnPostgres(pg_bin, data, port, run_as)
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.SubprocessError):
                server.stop(mode="immediate")
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def central(
    own_postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Network]:
    """A running central node, CN, whose database is on `own_postgres`."""
    devnet = Devnet(tmp_path_factory.mktemp("outage"))
    try:
        settings = Settings(poll_interval_s=0.5, storage={"CN": own_postgres.dsn})
        run_coroutine(devnet.create(0, 0, settings))  # leaves CN running and healthy
        yield Network(devnet, NetworkSpec(provinces=0, foreign=0))
    finally:
        if devnet.exists():
            devnet.stop()


PASSWORD = "pw-that-must-not-show"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql://swnode:{PASSWORD}@127.0.0.1:{{port}}/swnode",
            "postgresql://swnode:***@127.0.0.1:{port}/swnode",
        ),
        (
            f"postgresql://swnode@127.0.0.1:{{port}}/swnode?password={PASSWORD}",
            "postgresql://swnode@127.0.0.1:{port}/swnode?password=***",
        ),
        # The password from [storage] password_env.
        ("postgresql://swnode@127.0.0.1:{port}/swnode", None),
    ],
    ids=["in-url", "in-query", "password-env"],
)
def test_a_node_whose_database_cannot_be_reached_refuses_to_start_with_one_line(
    central: Network, tmp_path: Path, url: str, shown: str | None
) -> None:
    (port,) = free_ports("127.0.0.1", 1)  # nothing listens there
    url = url.format(port=port)
    node_dir = tmp_path / "CN"
    shutil.copytree(central.dir("CN"), node_dir)  # enrolled, keys and all
    config = load_config(node_dir)
    write_config(replace(config, storage_url=url, storage_password_env="SWNODE_TEST_DB_PW"))
    run = subprocess.run(
        [sys.executable, "-m", "node", "run", "--dir", str(node_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SWNODE_TEST_DB_PW": PASSWORD},
    )
    assert run.returncode == 2, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"swnode run: cannot reach PostgreSQL at {(shown or url).format(port=port)}: "
    ), run.stderr
    assert "Traceback" not in run.stderr
    assert PASSWORD not in run.stderr + run.stdout
    assert PASSWORD not in (node_dir / "node.log").read_text()


def test_a_running_node_stops_serving_while_its_database_is_down_and_recovers_by_itself(
    central: Network, own_postgres: OwnPostgres
) -> None:
    assert central.healthz("CN") == (200, {"status": "serving"})
    pid = central.status("CN")["pid"]
    own_postgres.stop()
    try:

        def not_serving() -> list[str]:
            code, body = central.healthz("CN")
            assert code == 503, body
            reasons: list[str] = body["reasons"]
            return reasons

        reasons = eventually(not_serving, timeout_s=15, interval_s=0.2)
        assert any(r.startswith("storage unreachable") for r in reasons), reasons
        assert central.health("CN") == NOT_SERVING
        status = central.status("CN")
        assert status["healthy"] is False and status["pid"] == pid
    finally:
        own_postgres.start()

    def serving() -> None:
        assert central.healthz("CN") == (200, {"status": "serving"})

    eventually(serving, timeout_s=15, interval_s=0.2)
    assert central.health("CN") == SERVING
    assert central.status("CN")["pid"] == pid  # the same process: it recovered by itself
