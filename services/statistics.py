"""Counts by document type, status and day, and clearance times, for a node; at a central node,
rolled up across its provinces (each asked over the peer port).

Clearance times are kept as histograms over fixed bucket bounds (`BUCKETS_S`), so that the rollup
adds provinces' counts exactly instead of averaging their percentiles. A percentile is the upper
bound of the bucket that holds it: an upper estimate, never below the true value, and at most one
bucket step above it (a factor of 1.5 from half an hour to 30 days). A percentile that falls in the
open-ended last bucket is infinite: longer than the last bound, by how much is not known.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime

from storage.database import Database
from swf.v1 import declarations_pb2 as dpb

__all__ = [
    "BUCKETS_S",
    "bucket_of",
    "clearance",
    "federation_statistics",
    "histogram",
    "merge",
    "node_statistics",
    "percentile",
    "rebucket",
]

log = logging.getLogger("swnode.statistics")

_MINUTE, _HOUR, _DAY = 60, 3600, 86400

# Upper bounds (seconds) of the clearance time buckets; bucket i holds times below BUCKETS_S[i]
# (and not below the bound before it); the last bucket is open-ended. Seconds for the test
# network, where agencies are simulated; then steps of at most 1.5 times the one before, from
# half an hour to 30 days, where real clearances fall; then 60 and 90 days.
BUCKETS_S: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    30,
    *(m * _MINUTE for m in (1, 2, 5, 10, 15, 30, 45)),
    *(h * _HOUR for h in (1, 1.5, 2, 3, 4, 6, 8, 12, 18)),
    *(d * _DAY for d in (1, 1.5, 2, 3, 4, 5, 7, 10, 14, 21, 30, 60, 90)),
    math.inf,
)


def _day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, tz=UTC).date().isoformat()


def bucket_of(seconds: float) -> int:
    """The index of the bucket a clearance time falls in."""
    return bisect.bisect_right(BUCKETS_S, seconds)


def histogram(times_s: Iterable[float]) -> list[int]:
    """Counts of clearance times per bucket of `BUCKETS_S`."""
    counts = [0] * len(BUCKETS_S)
    for t in times_s:
        counts[bucket_of(t)] += 1
    return counts


def percentile(buckets: Sequence[int], q: float) -> float:
    """The upper bound of the bucket holding the q-quantile (nearest rank): an upper estimate;
    infinite in the open-ended last bucket, and 0 when there is nothing to count."""
    total = sum(buckets)
    if total == 0:
        return 0.0
    # The rank of the q-quantile among `total` sorted values, 1-based; rounded first so that
    # 0.29 * 100 is rank 29, not 30.
    rank = max(1, math.ceil(round(q * total, 9)))
    seen = 0
    for upper, count in zip(BUCKETS_S, buckets, strict=True):
        seen += count
        if seen >= rank:
            return upper
    raise AssertionError("unreachable: the ranks end at the total")


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
    times: dict[str, list[float]] = {}
    for r in await db.declarations.decision_times(from_ms, to_ms):
        times.setdefault(r["document_type"], []).append(r["took_ms"] / 1000)
    out.clearance.extend(clearance(t, histogram(ts)) for t, ts in sorted(times.items()))
    return out


def rebucket(bounds: Sequence[float], buckets: Sequence[int]) -> list[int]:
    """Counts kept over other bucket bounds (a node of another version), moved to `BUCKETS_S`:
    each count goes to the first of our buckets whose bound is not below its own, so every
    percentile stays an upper estimate. With the same bounds, the counts are unchanged."""
    if len(bounds) != len(buckets):
        raise ValueError(f"{len(buckets)} counts for {len(bounds)} bucket bounds")
    counts = [0] * len(BUCKETS_S)
    for upper, n in zip(bounds, buckets, strict=True):
        counts[bisect.bisect_left(BUCKETS_S, upper)] += n
    return counts


def merge(parts: Sequence[dpb.Statistics], missing: Sequence[str]) -> dpb.Statistics:
    """Several nodes' statistics as one: counts side by side, clearance histograms added up
    bucket by bucket and their percentiles taken again."""
    out = dpb.Statistics(bucket_upper_s=list(BUCKETS_S), missing=list(missing))
    histograms: dict[str, list[int]] = {}
    for part in parts:
        out.nodes.extend(part.nodes)
        out.counts.extend(part.counts)
        bounds = tuple(part.bucket_upper_s) or BUCKETS_S
        for c in part.clearance:
            try:
                counts = list(c.buckets) if bounds == BUCKETS_S else rebucket(bounds, c.buckets)
            except ValueError as exc:
                log.warning("clearance times of %s not included: %s", list(part.nodes), exc)
                continue
            h = histograms.setdefault(c.document_type, [0] * len(BUCKETS_S))
            for i, n in enumerate(counts):
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
