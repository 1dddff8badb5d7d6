"""Counts by document type, status and day, and clearance times, for a node; at a central node,
rolled up across its provinces (each asked over the peer port). Clearance times are kept as
histograms so that the rollup can merge them exactly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from storage.database import Database
from swf.v1 import declarations_pb2 as dpb

log = logging.getLogger("swnode.statistics")

# Upper bounds (seconds) of the clearance time buckets; the last bucket is open-ended.
BUCKETS_S: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    4 * 3600,
    86400,
    7 * 86400,
    float("inf"),
)


def _day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, tz=UTC).date().isoformat()


def percentile(buckets: Sequence[int], q: float) -> float:
    """The upper bound of the bucket holding the q-quantile (an upper estimate)."""
    total = sum(buckets)
    if total == 0:
        return 0.0
    rank = q * total
    seen = 0
    for upper, count in zip(BUCKETS_S, buckets, strict=True):
        seen += count
        if seen >= rank:
            return upper if upper != float("inf") else BUCKETS_S[-2]
    return BUCKETS_S[-2]


def clearance(document_type: str, buckets: Sequence[int]) -> dpb.ClearanceTime:
    return dpb.ClearanceTime(
        document_type=document_type,
        count=sum(buckets),
        p50_s=percentile(buckets, 0.50),
        p90_s=percentile(buckets, 0.90),
        p99_s=percentile(buckets, 0.99),
        buckets=list(buckets),
    )


async def node_statistics(db: Database, node_id: str, from_ms: int, to_ms: int) -> dpb.Statistics:
    out = dpb.Statistics(bucket_upper_s=list(BUCKETS_S), nodes=[node_id])
    for r in await db.declarations.counts(from_ms, to_ms):
        out.counts.append(
            dpb.StatusCount(
                node=node_id,
                document_type=r["document_type"],
                status=r["status"],
                day=_day(int(r["day"])),
                count=int(r["n"]),
            )
        )
    histograms: dict[str, list[int]] = {}
    for r in await db.declarations.decision_times(from_ms, to_ms):
        bucket = next(i for i, upper in enumerate(BUCKETS_S) if r["took_ms"] / 1000 < upper)
        histograms.setdefault(r["document_type"], [0] * len(BUCKETS_S))[bucket] += 1
    out.clearance.extend(clearance(t, h) for t, h in sorted(histograms.items()))
    return out


def merge(parts: Sequence[dpb.Statistics], missing: Sequence[str]) -> dpb.Statistics:
    out = dpb.Statistics(bucket_upper_s=list(BUCKETS_S), missing=list(missing))
    histograms: dict[str, list[int]] = {}
    for part in parts:
        out.nodes.extend(part.nodes)
        out.counts.extend(part.counts)
        for c in part.clearance:
            h = histograms.setdefault(c.document_type, [0] * len(BUCKETS_S))
            for i, n in enumerate(c.buckets):
                h[i] += n
    out.clearance.extend(clearance(t, h) for t, h in sorted(histograms.items()))
    return out


async def federation_statistics(
    own: dpb.Statistics,
    provinces: Sequence[str],
    ask: Callable[[str], Awaitable[dpb.Statistics]],
) -> dpb.Statistics:
    """The central's own figures and every province's that answers."""

    async def one(node: str) -> dpb.Statistics | None:
        try:
            return await ask(node)
        except Exception as exc:
            log.warning("statistics of %s not included: %s", node, exc)
            return None

    answers = await asyncio.gather(*(one(p) for p in provinces))
    got = [a for a in answers if a is not None]
    missing = [p for p, a in zip(provinces, answers, strict=True) if a is None]
    return merge([own, *got], missing)
