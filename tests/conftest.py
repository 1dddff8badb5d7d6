"""Fixtures for the whole suite.

Networks: real node processes on 127.0.0.1, built by node.devnet.network.Devnet with the same
operator actions a deployment uses (init, invite, enroll, anchor exchange), each in a folder under
the test's temporary directory, and always stopped afterwards, whether the test passed or not.

- `shared_network`: CN, CN-GD, CN-SH and SG, polling every 0.5 s, built once per session. For
  tests that only look: never stop, revoke, re-trust or otherwise change it.
- `network_factory` / `module_network_factory`: build networks of any shape
  (`tests.harness.NetworkSpec`) for one test, or for one module's tests.

Tests that use them must be marked `@pytest.mark.network`; collection fails otherwise.

Property tests (tests/property): hypothesis runs with the profile HYPOTHESIS_PROFILE names, "ci"
by default (a bounded run, fit for every suite run); scripts/fuzz picks "fuzz" for a long one.

Storage: `engine_url` is a database URL per test, once for SQLite and once for PostgreSQL (a
fresh schema per test on the server SWNODE_TEST_PG_DSN names, or on a testcontainers server when
a Docker engine answers; skipped, with the reason, when neither is there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from node.devnet.network import Devnet
from tests.harness import Network, NetworkFactory, NetworkSpec

T = TypeVar("T")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("SWNODE_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NETWORK_FIXTURES = {"shared_network", "network_factory", "module_network_factory"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses = NETWORK_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses and item.get_closest_marker("network") is None:
            raise pytest.UsageError(
                f"{item.nodeid} starts nodes ({', '.join(sorted(uses))}): "
                "mark it @pytest.mark.network"
            )


# -- networks --------------------------------------------------------------------------------


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, even when the caller is inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextmanager
def running_network(root: Path, spec: NetworkSpec) -> Iterator[Network]:
    devnet = Devnet(root)
    try:
        run_coroutine(devnet.create(spec.provinces, spec.foreign, spec.settings))
        devnet.start()
        devnet.wait_healthy()
        yield Network(devnet, spec)
    finally:
        if devnet.exists():
            devnet.stop()


@contextmanager
def _factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkFactory]:
    with ExitStack() as stack:

        def make(spec: NetworkSpec) -> Network:
            return stack.enter_context(running_network(tmp_path_factory.mktemp("net"), spec))

        yield make


@pytest.fixture
def network_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkFactory]:
    with _factory(tmp_path_factory) as make:
        yield make


@pytest.fixture(scope="module")
def module_network_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkFactory]:
    with _factory(tmp_path_factory) as make:
        yield make


@pytest.fixture(scope="session")
def shared_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(tmp_path_factory.mktemp("shared-net"), NetworkSpec()) as network:
        yield network


# -- storage ---------------------------------------------------------------------------------


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server to make per-test schemas on."""
    dsn = os.environ.get("SWNODE_TEST_PG_DSN")
    if dsn:
        yield dsn
        return
    if not docker_answers():
        pytest.skip(
            "PostgreSQL tests need a server: set SWNODE_TEST_PG_DSN "
            "(`scripts/with-postgres` starts one and sets it) or run a Docker engine"
        )
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as server:
        yield server.get_connection_url()


def with_search_path(dsn: str, schema: str) -> str:
    """`dsn` with every connection using `schema` (asyncpg passes unknown query parameters on
    as server settings)."""
    parts = urlsplit(dsn)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
    return urlunsplit(parts._replace(query=query))


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for `storage.database.Database.open`, empty, seen by this test only."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/node.db"
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        yield with_search_path(dsn, schema)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()
