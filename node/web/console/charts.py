"""Charts of traffic (messages out and in per day, from the outbox and inbox) and clearance
(declarations by status, and how long clearance took: services/statistics.py's figures, the
same the Statistics RPC answers), drawn on the server as SVG: no script, no inline style.

`bars` is pure geometry, tested without a page; the template draws what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from node.web.console.access import Desk, console_page
from services.statistics import node_statistics

__all__ = ["Bar", "bars", "routes"]

DAY_MS = 86_400_000
WIDTH, HEIGHT, BASELINE = 640, 220, 190  # the drawing area, in SVG user units


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


def bars(series: list[tuple[str, float]], *, width: float = WIDTH, top: float = 20) -> list[Bar]:
    """One bar per (label, value), side by side across `width`, the tallest reaching `top`
    above the baseline's full height; a zero is drawn as no bar."""
    if not series:
        return []
    peak = max(v for _, v in series) or 1.0
    slot = width / len(series)
    usable = BASELINE - top
    out = []
    for i, (label, value) in enumerate(series):
        h = usable * (value / peak) if value > 0 else 0.0
        out.append(
            Bar(
                label=label,
                value=value,
                x=round(i * slot + slot * 0.15, 2),
                y=round(BASELINE - h, 2),
                width=round(slot * 0.7, 2),
                height=round(h, 2),
            )
        )
    return out


def _day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%m-%d")


@console_page()
async def charts(desk: Desk) -> Response:
    node = desk.node
    now_ms = desk.now_ms()
    today = now_ms // DAY_MS
    days = list(range(today - 13, today + 1))
    counts = {
        (d, kind): n for d, kind, n in await node.db.message_search.traffic_by_day(days[0] * DAY_MS)
    }
    sent = bars([(_day(d), counts.get((d, "out"), 0)) for d in days])
    received = bars([(_day(d), counts.get((d, "in"), 0)) for d in days])
    stats = await node_statistics(node.db, node.config.id, now_ms - 30 * DAY_MS, now_ms + 1)
    by_status: dict[str, int] = {}
    for c in stats.counts:
        by_status[c.status] = by_status.get(c.status, 0) + c.count
    statuses = bars(sorted((s, float(n)) for s, n in by_status.items()))
    clearance = bars([(c.document_type, c.p50_s) for c in stats.clearance])
    return desk.render(
        "console/charts.html",
        sent=sent,
        received=received,
        statuses=statuses,
        clearance=clearance,
        width=WIDTH,
        height=HEIGHT,
        baseline=BASELINE,
    )


routes = [Route("/console/charts", charts, name="console_charts")]
