"""Clearance time statistics (services/statistics.py): histograms over fixed buckets, percentiles
read from them as upper estimates, and the central's rollup adding provinces' histograms."""

from __future__ import annotations

import math
import random

import pytest

from services.statistics import (
    BUCKETS_S,
    bucket_of,
    clearance,
    histogram,
    merge,
    percentile,
    rebucket,
)
from swf.v1 import declarations_pb2 as dpb

MINUTE, HOUR, DAY = 60, 3600, 86400
QUANTILES = (0.50, 0.90, 0.99)
# The bounds swnode used before clearance times got finer buckets: what an older province sends.
OLD_BOUNDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * HOUR, DAY, 7 * DAY, math.inf)


def exact(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank, from the values themselves."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(q * len(ordered), 9))) - 1]


def node(node_id: str, times: dict[str, list[float]]) -> dpb.Statistics:
    """One node's statistics, as node_statistics makes them from its clearance times."""
    return dpb.Statistics(
        bucket_upper_s=list(BUCKETS_S),
        nodes=[node_id],
        counts=[
            dpb.StatusCount(
                node=node_id, document_type=t, status="cleared", day="2026-11-02", count=len(v)
            )
            for t, v in sorted(times.items())
        ],
        clearance=[clearance(t, histogram(v)) for t, v in sorted(times.items())],
    )


def test_a_time_falls_in_the_bucket_of_the_first_bound_above_it() -> None:
    assert tuple(sorted(BUCKETS_S)) == BUCKETS_S and BUCKETS_S[-1] == math.inf
    assert bucket_of(0) == 0
    for i, upper in enumerate(BUCKETS_S[:-1]):
        assert bucket_of(upper * 0.999) == i
        assert bucket_of(upper) == i + 1  # a bucket holds times below its bound
    assert bucket_of(90 * DAY) == bucket_of(10 * 365 * DAY) == len(BUCKETS_S) - 1
    assert sum(histogram([0.5, 59, 3 * HOUR, 40 * DAY])) == 4


def test_percentiles_of_a_hundred_clearances_of_one_to_a_hundred_hours() -> None:
    buckets = histogram([k * HOUR for k in range(1, 101)])
    assert sum(buckets) == 100
    # The 50th is 50 h (between 2 and 3 days), the 90th 90 h (3-4 days), the 99th 99 h (4-5).
    assert percentile(buckets, 0.50) == 3 * DAY
    assert percentile(buckets, 0.90) == 4 * DAY
    assert percentile(buckets, 0.99) == 5 * DAY
    c = clearance("goods_declaration", buckets)
    assert (c.count, c.p50_s, c.p90_s, c.p99_s) == (100, 3 * DAY, 4 * DAY, 5 * DAY)
    assert list(c.buckets) == buckets


def test_percentiles_of_a_few_clearances() -> None:
    assert [percentile(histogram([42]), q) for q in QUANTILES] == [60, 60, 60]
    few = histogram([10, HOUR, 2 * DAY])
    # Of three, the median is the second (1 h exactly: below 1.5 h); the 90th the third.
    assert [percentile(few, q) for q in QUANTILES] == [1.5 * HOUR, 3 * DAY, 3 * DAY]
    assert percentile(few, 0.0) == 30  # the smallest, not the first bucket's bound


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_are_upper_estimates_close_enough_for_clearance_times(seed: int) -> None:
    """From half an hour to 30 days, where real clearances fall, each percentile is at least
    the true one and at most 1.5 times it: one bucket step."""
    rng = random.Random(seed)
    values = [math.exp(rng.uniform(math.log(30 * MINUTE), math.log(30 * DAY))) for _ in range(100)]
    buckets = histogram(values)
    for q in QUANTILES:
        estimate, truth = percentile(buckets, q), exact(values, q)
        assert truth < estimate <= 1.5 * truth, (q, truth, estimate)


def test_a_percentile_beyond_the_last_bound_is_infinite() -> None:
    buckets = histogram([HOUR] * 98 + [100 * DAY] * 2)
    assert percentile(buckets, 0.50) == 1.5 * HOUR
    assert percentile(buckets, 0.99) == math.inf  # not 90 days: that would be below the truth


def test_no_clearances_have_no_percentiles() -> None:
    empty = histogram([])
    assert empty == [0] * len(BUCKETS_S)
    assert [percentile(empty, q) for q in QUANTILES] == [0.0, 0.0, 0.0]
    c = clearance("cargo_manifest", empty)
    assert (c.count, c.p50_s, c.p90_s, c.p99_s) == (0, 0.0, 0.0, 0.0)
    merged = merge([], ["CN-GD"])
    assert list(merged.bucket_upper_s) == list(BUCKETS_S)
    assert (list(merged.clearance), list(merged.nodes), list(merged.missing)) == ([], [], ["CN-GD"])


def test_merging_two_nodes_equals_one_histogram_of_all_their_clearances() -> None:
    rng = random.Random(6)
    gd = {
        "goods_declaration": [rng.uniform(MINUTE, 5 * DAY) for _ in range(70)],
        "licence_application": [rng.uniform(HOUR, 20 * DAY) for _ in range(9)],
    }
    sh = {
        "goods_declaration": [rng.uniform(10 * MINUTE, 2 * DAY) for _ in range(30)],
        "duty_payment": [rng.uniform(1, 600) for _ in range(5)],
    }
    merged = merge([node("CN-GD", gd), node("CN-SH", sh)], ["CN-ZJ"])
    every = {t: gd.get(t, []) + sh.get(t, []) for t in sorted(gd.keys() | sh.keys())}
    assert list(merged.clearance) == [clearance(t, histogram(v)) for t, v in every.items()]
    goods = merged.clearance[1]
    assert goods.count == 100
    for q, p in zip(QUANTILES, (goods.p50_s, goods.p90_s, goods.p99_s), strict=True):
        assert p == percentile(histogram(every["goods_declaration"]), q)
        assert p > exact(every["goods_declaration"], q)
    assert list(merged.nodes) == ["CN-GD", "CN-SH"]
    assert list(merged.missing) == ["CN-ZJ"]
    assert list(merged.counts) == [*node("CN-GD", gd).counts, *node("CN-SH", sh).counts]
    assert merge([node("CN-GD", gd)], []).clearance == node("CN-GD", gd).clearance


def test_a_province_on_the_old_bounds_is_merged_without_losing_a_clearance() -> None:
    old_values = [40 * MINUTE] * 10 + [2 * HOUR] * 10 + [3 * DAY] * 10
    old_counts = [0] * len(OLD_BOUNDS)
    for v in old_values:
        old_counts[next(i for i, b in enumerate(OLD_BOUNDS) if v < b)] += 1
    old = dpb.Statistics(
        bucket_upper_s=list(OLD_BOUNDS),
        nodes=["CN-OLD"],
        clearance=[dpb.ClearanceTime(document_type="goods_declaration", buckets=old_counts)],
    )
    merged = merge([old, node("CN-GD", {"goods_declaration": [20 * MINUTE] * 10})], [])
    goods = merged.clearance[0]
    assert goods.count == 40
    # Every old bound is one of ours, so the old counts keep their bounds exactly.
    assert goods.buckets[BUCKETS_S.index(HOUR)] == 10
    assert goods.buckets[BUCKETS_S.index(4 * HOUR)] == 10
    assert goods.buckets[BUCKETS_S.index(7 * DAY)] == 10
    assert goods.buckets[BUCKETS_S.index(30 * MINUTE)] == 10
    assert (goods.p50_s, goods.p90_s) == (HOUR, 7 * DAY)  # the 20th of 40 is 40 min
    assert rebucket(BUCKETS_S, histogram(old_values)) == histogram(old_values)


def test_a_histogram_that_does_not_fit_its_bounds_is_left_out_not_misread() -> None:
    bad = dpb.Statistics(
        bucket_upper_s=[1, 2, math.inf],
        nodes=["CN-BAD"],
        clearance=[dpb.ClearanceTime(document_type="goods_declaration", count=5, buckets=[5])],
    )
    with pytest.raises(ValueError, match="1 counts for 3 bucket bounds"):
        rebucket(bad.bucket_upper_s, bad.clearance[0].buckets)
    good = node("CN-GD", {"goods_declaration": [HOUR] * 3})
    merged = merge([bad, good], [])
    assert list(merged.nodes) == ["CN-BAD", "CN-GD"]
    assert list(merged.clearance) == list(good.clearance)
