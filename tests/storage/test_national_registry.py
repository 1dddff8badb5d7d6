"""The national registry (storage/national_registry.py) on both backends: one home node per
USCC, however many register at once, and only the home node changes its status."""

from __future__ import annotations

import asyncio

from storage.database import Database

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


async def test_the_first_home_node_is_kept(db: Database) -> None:
    first = await db.national_registry.register(USCC, "Example", "CN-GD", ["declarant"], NOW)
    assert (first.uscc, first.home_node, first.status) == (USCC, "CN-GD", "active")
    assert first.registered_at_unix_ms == NOW and first.roles == ("declarant",)
    again = await db.national_registry.register(USCC, "Other", "CN-SH", ["carrier"], NOW + 9)
    assert again == first
    # The same home node asking again (its answer was lost) gets the same record.
    assert await db.national_registry.register(USCC, "Example", "CN-GD", [], NOW + 10) == first


async def test_one_winner_when_many_register_at_once(db: Database, other_db: Database) -> None:
    """Two replicas of the central, each asked by several provinces at the same moment."""
    homes = ["CN-GD", "CN-SH", "CN-ZJ", "CN-JS", "CN-BJ", "CN-FJ", "CN-SD", "CN-TJ"]
    for n in range(3):
        uscc = f"{USCC[:-2]}{n}X"
        records = await asyncio.gather(
            *(
                (db if i % 2 else other_db).national_registry.register(
                    uscc, f"Example {home}", home, ["declarant"], NOW + i
                )
                for i, home in enumerate(homes)
            )
        )
        winners = {r.home_node for r in records}
        assert len(winners) == 1, winners
        assert {r.name for r in records} == {f"Example {winners.pop()}"}
        assert len(set(records)) == 1


async def test_only_the_home_node_changes_the_national_status(db: Database) -> None:
    await db.national_registry.register(USCC, "Example", "CN-GD", ["declarant"], NOW)
    assert not await db.national_registry.set_status(USCC, "CN-SH", "suspended", NOW + 1)
    assert await db.national_registry.set_status(USCC, "CN-GD", "suspended", NOW + 1)
    record = await db.national_registry.get(USCC)
    assert record is not None and record.status == "suspended"
    assert not await db.national_registry.set_status("91110000100000000R", "CN-GD", "active", NOW)
    assert await db.national_registry.get("91110000100000000R") is None
