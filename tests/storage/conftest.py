from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database


@pytest.fixture
async def db(engine_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = await Database.open(engine_url, base_dir=tmp_path)
    try:
        yield database
    finally:
        await database.close()
