"""What the database says about the timeline statement (storage/logistics.py TIMELINE_SQL): its
plan and the rows it reads, on either backend. For scripts/bench_timeline.py only; the node
never calls these. The diagnostics are the backends' own (SQLite's `sqlite_stmt` counters,
PostgreSQL's EXPLAIN ANALYZE), so they are queries, and queries live here."""

from __future__ import annotations

import json
from typing import Any

from storage.engine import Engine
from storage.logistics import TIMELINE_SQL

__all__ = ["analyze", "postgres_timeline_plan", "sqlite_timeline_reads"]

# The same table read by a column with no index, for contrast with the timeline's reads.
UNINDEXED_SQL = "SELECT * FROM logistics_events WHERE conveyance = $1"


async def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load."""
    await engine.execute("ANALYZE" if engine.dialect == "sqlite" else "ANALYZE logistics_events")


async def sqlite_timeline_reads(engine: Engine, column: str, value: str) -> dict[str, Any]:
    """Plan and statement counters of one timeline read, and of an unindexed read to compare."""
    sql = TIMELINE_SQL.format(column=column)
    plan = [r["detail"] for r in await engine.fetch("EXPLAIN QUERY PLAN " + sql, value, 0, 5000)]
    rows = await engine.fetch(sql, value, 0, 5000)
    scanned = await engine.fetch(UNINDEXED_SQL, "X1")
    counters = {
        r["sql"]: r
        for r in await engine.fetch("SELECT sql, nscan, nsort, naidx, nstep, run FROM sqlite_stmt")
    }

    def of(text: str) -> dict[str, int]:
        found = next(v for k, v in counters.items() if k.replace("?", "$") == text)
        runs = max(1, int(found["run"]))
        return {
            "vm_steps": int(found["nstep"]) // runs,
            "full_scan_steps": int(found["nscan"]) // runs,
            "sorts": int(found["nsort"]) // runs,
        }

    return {
        "plan": plan,
        "rows_returned": len(rows),
        "statement": of(sql),
        "unindexed_for_contrast": {"rows_returned": len(scanned), **of(UNINDEXED_SQL)},
    }


async def postgres_timeline_plan(engine: Engine, column: str, value: str) -> dict[str, Any]:
    """The executed plan of one timeline read, as PostgreSQL's JSON (its top "Plan" node)."""
    sql = TIMELINE_SQL.format(column=column)
    found = await engine.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, value, 0, 5000)
    plan: dict[str, Any] = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    return plan
