"""The garbage collector of a long-running node process.

CPython's default thresholds (700, 10, 10) run a full collection every few seconds under load,
and each scans every object the process holds — the modules, classes and functions loaded at
start-up included — pausing the event loop for tens of milliseconds (55 ms measured under the
open-loop bench, docs/PERFORMANCE.md), which is where the p99 of send → receipt is made. What
is loaded by the time the node starts lives as long as the process: `gc.freeze()` moves it out
of the collector's sight, and a higher first threshold makes young collections fewer; the
reference cycles a node makes per message are still collected.
"""

from __future__ import annotations

import gc

__all__ = ["settle_gc"]

# Young objects allocated between collections; older generations as CPython's defaults.
YOUNG_THRESHOLD = 10_000


def settle_gc() -> None:
    """Call once the process's code is loaded: collect what start-up left, freeze the rest."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
