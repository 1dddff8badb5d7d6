"""`swnode migrate` and `swnode run` against the schema version of a node's database, through the
real command line and on both backends (tests/storage/test_migrations.py checks the library): an
up-to-date database is reported and left as it is, however often migrate runs; a database
written by a newer swnode is refused by both commands, with one line naming both versions."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from storage.engine import open_engine
from storage.migrations import known_migrations
from tests.harness import swnode


async def run(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(swnode, *args, timeout_s=60)


async def schema_versions(url: str, base_dir: Path) -> list[int]:
    engine = await open_engine(url, base_dir=base_dir)
    try:
        rows = await engine.fetch("SELECT version FROM schema_migrations ORDER BY version")
        return [r["version"] for r in rows]
    finally:
        await engine.close()


async def test_migrate_reports_the_version_and_a_newer_schema_is_refused(
    engine_url: str, tmp_path: Path
) -> None:
    node = tmp_path / "CN"
    init = await run(
        "init", "--dir", str(node), "--id", "CN", "--role", "central", "--storage", engine_url
    )
    assert init.returncode == 0, init.stderr
    newest = known_migrations()[-1].version

    for _ in range(2):  # the second run finds nothing to do and says the same
        done = await run("migrate", "--dir", str(node))
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            f"schema at version {newest}\n",
            "",
        )
    assert await schema_versions(engine_url, node) == [m.version for m in known_migrations()]

    # A newer swnode migrated this database further.
    engine = await open_engine(engine_url, base_dir=node)
    try:
        await engine.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_unix_ms) VALUES ($1, $2, 0)",
            newest + 1,
            "from_the_future",
        )
    finally:
        await engine.close()

    for command in ("migrate", "run"):
        refused = await run(command, "--dir", str(node))
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        # One line, and nothing else: not even a log record of a node "stopped" that never ran.
        (line,) = refused.stderr.splitlines()
        assert line.startswith(f"swnode {command}: the database is at schema version "), line
        assert f"schema version {newest + 1}, newer than this swnode knows ({newest})" in line
        assert refused.stdout == "", refused
    # Refusing changed nothing.
    assert await schema_versions(engine_url, node) == [
        *(m.version for m in known_migrations()),
        newest + 1,
    ]
