"""Garbage-collector settings for a process that hosts the engine for hours.

Why: CPython's full (generation 2) collection walks every tracked object. After start-up an
engine process holds some 90,000 of them that never die (modules, classes, functions, pydantic
schemas), and each full collection walked them all: 100-150 ms with the event loop stopped,
measured by ``benchmarks/bench_console_scale.py`` as the loop-lag p99 (bar: 50 ms). Freezing
the start-up heap moves those objects out of the collector's sight (``gc.freeze``, the
practice of long-running CPython servers), and a higher first threshold makes the young
collections rarer; reference counting still frees almost everything the engine creates per
item at once, so memory does not grow.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap_for_long_run"]

YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)
_settled = False


def settle_heap_for_long_run() -> bool:
    """Once per process, after start-up: collect, freeze what is alive, raise the thresholds.

    Returns False when an earlier call already did it (tests start many engines in one process).
    """
    global _settled
    if _settled:
        return False
    _settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 100)
    return True
