"""Timeline queries on a million stored events: do they read only their key's rows?

Loads N logistics events (default 1,000,000: 100,000 containers of 10 events each, 3 containers
to a bill of lading) into a fresh node database through the storage layer, then runs the
statement every timeline runs per key (storage/logistics.py TIMELINE_SQL) and reports:

- its query plan, and how many rows it read: on SQLite from the statement's own counters
  (the `sqlite_stmt` table: VM steps, full-scan steps, sorts), next to an unindexed statement on
  the same table for contrast; on PostgreSQL from EXPLAIN (ANALYZE, BUFFERS);
- the time of Q timeline reads by container and by bill of lading (through
  `LogisticsStore.for_key`, as the service calls it), as percentiles in milliseconds.

The last line printed is JSON. Run it with `scripts/bench-timeline [--events N] [--storage URL]`.
This is a measuring tool, not part of the node; the diagnostics it reads are queries in
storage/diagnostics.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from stdnum import iso6346

from storage.database import Database
from storage.diagnostics import analyze, postgres_timeline_plan, sqlite_timeline_reads
from storage.engine import Engine, create_schema
from storage.logistics import EventRow

KINDS = ("gate_in", "loaded", "departed", "arrived", "discharged", "gate_out")
PLACES = ("CNYIW", "CNNGB", "CNSHA", "CNYTN", "SGSIN")


def container(n: int) -> str:
    body = f"BNCU{n:06d}"
    return body + str(iso6346.calc_check_digit(body))


def events(start: int, count: int, containers: int, now_ms: int) -> list[EventRow]:
    rows = []
    for i in range(start, start + count):
        c = i % containers
        rows.append(
            EventRow(
                party_id=f"operator-{c % 50}",
                event_id=f"e{i}",
                kind=KINDS[i % len(KINDS)],
                occurred_at_unix_ms=now_ms - (count - i) * 1000,
                place=PLACES[i % len(PLACES)],
                container=container(c),
                bill_of_lading=f"BNBL{c // 3:08d}",
                conveyance=f"X{c % 977}",
                mode="rail",
                remarks="",
                reported_by=f"operator-{c % 50}/operator",
                recorded_at_unix_ms=now_ms,
            )
        )
    return rows


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def postgres_reads(engine: Engine, column: str, value: str) -> dict[str, Any]:
    plan = await postgres_timeline_plan(engine, column, value)

    def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(n for child in node.get("Plans", []) for n in walk(child))]

    scans = [n for n in walk(plan) if "Scan" in n["Node Type"]]
    return {
        "plan": [f"{n['Node Type']} using {n.get('Index Name', '-')}" for n in walk(plan)],
        "rows_read": sum(int(n["Actual Rows"]) * int(n["Actual Loops"]) for n in scans),
        "rows_removed_by_filter": sum(int(n.get("Rows Removed by Filter", 0)) for n in scans),
        "buffers": {
            "shared_hit": int(plan.get("Shared Hit Blocks", 0)),
            "shared_read": int(plan.get("Shared Read Blocks", 0)),
        },
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.storage or f"sqlite:///{tmp}/node.db"
        if url.startswith("postgres"):
            url = await create_schema(url, f"bench_timeline_{uuid.uuid4().hex[:8]}", replace=True)
        db = await Database.open(url, base_dir=Path(tmp))
        try:
            return await measure(db, args)
        finally:
            await db.close()


async def measure(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    containers = max(1, args.events // args.per_container)
    now_ms = int(time.time() * 1000)
    started = time.monotonic()
    for start in range(0, args.events, args.batch):
        count = min(args.batch, args.events - start)
        await db.logistics.bulk_load(events(start, count, containers, now_ms))
        print(f"loaded {start + count:,} events", file=sys.stderr, end="\r")
    load_s = time.monotonic() - started
    print(file=sys.stderr)
    await analyze(db.engine)
    stored = await db.logistics.last_seq()
    rng = random.Random(7)  # which keys to read, not a secret
    probe = container(rng.randrange(containers))
    reads = sqlite_timeline_reads if db.engine.dialect == "sqlite" else postgres_reads
    result: dict[str, Any] = {
        "backend": db.engine.dialect,
        "events": stored,
        "containers": containers,
        "load_s": round(load_s, 1),
        "by_container": {"key": probe, **await reads(db.engine, "container", probe)},
    }
    for kind, key in (("container", container), ("bill_of_lading", None)):
        samples, returned = [], []
        for _ in range(args.queries):
            n = rng.randrange(containers)
            value = key(n) if key is not None else f"BNBL{n // 3:08d}"
            t0 = time.perf_counter()
            rows = await db.logistics.for_key(kind, value)
            samples.append((time.perf_counter() - t0) * 1000)
            returned.append(len(rows))
        result[f"timing_{kind}"] = {
            "queries": args.queries,
            "rows_per_query": round(statistics.fmean(returned), 1),
            **percentiles(samples),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-container", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--storage", default="", help="postgresql://... (default: SQLite file)")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
