"""Versioned schema migrations, run by `swnode migrate` and at start-up.

Migrations are the numbered `.sql` files in storage/schema/, applied in order, each in its own
transaction, and recorded in `schema_migrations`. A database that has a migration this program
does not know was written by a newer swnode: the node refuses to start rather than guess.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import FailedPrecondition
from storage.engine import Engine, render_schema

__all__ = ["SCHEMA_DIR", "Migration", "current_version", "known_migrations", "migrate"]

SCHEMA_DIR = Path(__file__).parent / "schema"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations() -> list[Migration]:
    found = []
    for entry in SCHEMA_DIR.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


async def current_version(engine: Engine) -> int:
    async with engine.transaction() as tx:
        # Under the migration lock: on PostgreSQL, concurrent CREATE TABLE IF NOT EXISTS of
        # one table can fail with a unique violation when replicas start together.
        await engine.lock_migrations(tx)
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_unix_ms BIGINT NOT NULL)"
        )
        return int(await tx.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def migrate(engine: Engine) -> list[Migration]:
    """Apply every migration the database lacks; return those applied."""
    migrations = known_migrations()
    newest_known = migrations[-1].version if migrations else 0
    have = await current_version(engine)
    if have > newest_known:
        raise FailedPrecondition(
            "storage.schema_too_new",
            f"the database is at schema version {have}, newer than this swnode knows "
            f"({newest_known}); it was written by a newer release — run that release, or restore "
            "a backup made before the upgrade",
        )
    # Skipped by what is recorded, not by the highest version: numbers are given out ahead of
    # time, so a release may bring a migration numbered below one a database already has.
    recorded = {
        int(r["version"]) for r in await engine.fetch("SELECT version FROM schema_migrations")
    }
    applied = []
    for migration in migrations:
        if migration.version in recorded:
            continue
        async with engine.transaction() as tx:
            await engine.lock_migrations(tx)  # replicas starting together run it once
            done = await tx.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            )
            if done:
                continue  # another replica got here first
            for statement in _statements(render_schema(migration.sql, engine.dialect)):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_unix_ms)"
                " VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                int(time.time() * 1000),
            )
        applied.append(migration)
    return applied
