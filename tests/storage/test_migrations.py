"""Versioned migrations, on both backends: each applied once, in order, by one process at a time;
a database from a newer swnode is refused rather than guessed at."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.errors import FailedPrecondition
from storage.database import Database
from storage.engine import open_engine
from storage.migrations import current_version, known_migrations, migrate


async def test_migrations_apply_once_in_order_and_are_idempotent(
    engine_url: str, tmp_path: Path
) -> None:
    known = known_migrations()
    versions = [m.version for m in known]
    assert versions == sorted(set(versions)) and versions[0] == 1
    engine = await open_engine(engine_url, base_dir=tmp_path)
    try:
        assert await current_version(engine) == 0
        applied = await migrate(engine)
        assert [m.version for m in applied] == [m.version for m in known]
        assert await migrate(engine) == []
        rows = await engine.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in known]
        # The tables are there and usable.
        assert await engine.fetchval("SELECT version FROM directory_state WHERE id = 1") == 0
    finally:
        await engine.close()


async def test_replicas_starting_together_migrate_once(engine_url: str, tmp_path: Path) -> None:
    engines = [await open_engine(engine_url, base_dir=tmp_path) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(e) for e in engines))
        applied = sorted(m.version for result in results for m in result)
        assert applied == [m.version for m in known_migrations()]
        count = await engines[0].fetchval("SELECT COUNT(*) FROM schema_migrations")
        assert count == len(known_migrations())
    finally:
        for engine in engines:
            await engine.close()


async def test_a_database_from_a_newer_swnode_is_refused(engine_url: str, tmp_path: Path) -> None:
    db = await Database.open(engine_url, base_dir=tmp_path)
    newest = known_migrations()[-1].version
    await db.engine.execute(
        "INSERT INTO schema_migrations (version, name, applied_at_unix_ms) VALUES ($1, $2, 0)",
        newest + 1,
        "from_the_future",
    )
    await db.close()
    with pytest.raises(FailedPrecondition) as refused:
        await Database.open(engine_url, base_dir=tmp_path)
    assert refused.value.reason == "storage.schema_too_new"
    assert f"schema version {newest + 1}" in refused.value.message
    assert f"({newest})" in refused.value.message
