"""The statistics a node answers with: its own figures, and at a central asked for the whole
federation, every province's too, asked over the peer port (federation/statistics_client.py)
and added up (services/statistics.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.arguments import day_range_ms
from core.ids import Role, role_of
from services.statistics import federation_statistics
from swf.v1 import declarations_pb2 as dpb

__all__ = ["statistics_for"]


async def statistics_for(
    request: dpb.StatisticsRequest,
    *,
    node_id: str,
    own: Callable[[int, int], Awaitable[dpb.Statistics]],
    provinces: Callable[[], list[str]],
    ask: Callable[[str, dpb.StatisticsRequest], Awaitable[dpb.Statistics]],
) -> dpb.Statistics:
    from_ms, to_ms = day_range_ms(request.from_date, request.to_date)
    mine = await own(from_ms, to_ms)
    if not request.federation or role_of(node_id) is not Role.CENTRAL:
        return mine
    local = dpb.StatisticsRequest(from_date=request.from_date, to_date=request.to_date)
    return await federation_statistics(mine, provinces(), lambda n: ask(n, local))
