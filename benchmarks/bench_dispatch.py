"""Dispatch efficiency: how close the queue processor gets to "every slot always busy".

Real engine (open_engine + Supervisor.start, the real QueueProcessor and profile-fetch
pipeline) on the in-process simulator: latency 100 ms, jitter 0, concurrency 32, the rate
limit set far above need (10,000 req/s) so it never binds, reels_count 12 (one page) and
similar_count 5, so each item makes exactly three calls (profile, reels page, similar) that
run side by side. Only existing, public profiles are queued, so every item COMPLETES.

per-item upstream latency = the critical path of an item's calls, measured from the
simulator's own call records: first call start → last call finish, median over items.
ideal items/s = concurrency ÷ that latency. figure = achieved items/s ÷ ideal.
Achieved items/s is taken over the steady state (completions between the 5th and the 95th
percentile, so neither the first wave nor the last, partly empty wave counts); the
whole-run rate is shown beside it. Bar ≥ 0.95.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from ._common import Row, temp_dir
from ._engine import CompletionWatch, enqueue_many, make_settings, make_simulator, per_item_spans, public_usernames

NAME = "dispatch"
CONCURRENCY = 32
LATENCY_MS = 100.0


async def _run(n: int) -> dict[str, float]:
    from viralspot_tui.core.engine import open_engine

    with temp_dir("dispatch") as root:
        settings = make_settings(root, concurrency=CONCURRENCY, rps=10_000)
        sim = make_simulator(latency_ms=LATENCY_MS, jitter=0.0)
        names = public_usernames(sim, n)
        async with open_engine(
            settings, processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
        ) as supervisor:
            await enqueue_many(supervisor.runtime.queue, names)
            watch = CompletionWatch(supervisor.runtime.events, n)
            t0 = time.monotonic()
            await supervisor.start()
            await asyncio.wait_for(watch.done.wait(), timeout=max(120.0, n / 10))
            t_end = time.monotonic()
            await supervisor.stop(grace_seconds=0)
            watch.close()
        spans = per_item_spans(sim.stats.calls, set(names), {})
    stamps = sorted(watch.completed_at)
    lo, hi = int(0.05 * n), int(0.95 * n) - 1
    steady = (hi - lo) / (stamps[hi] - stamps[lo])
    whole = n / (t_end - t0)
    latency = statistics.median(spans.values())
    ideal = CONCURRENCY / latency
    return {
        "steady": steady,
        "whole": whole,
        "latency": latency,
        "ideal": ideal,
        "calls": len(sim.stats.calls) / n,
        "other": sum(watch.other.values()),
    }


def run(quick: bool = False) -> list[Row]:
    n = 300 if quick else 2000
    r = asyncio.run(_run(n))
    eff = r["steady"] / r["ideal"]
    return [
        Row(
            NAME,
            f"per-item upstream critical path (median of {n:,} items, {r['calls']:.1f} calls/item)",
            f"{r['latency'] * 1000:.1f} ms",
        ),
        Row(
            NAME,
            f"items/s steady state (whole run incl. ramp/tail: {r['whole']:.1f}); ideal {r['ideal']:.1f}",
            f"{r['steady']:.1f}",
        ),
        Row(
            NAME,
            f"efficiency = items/s / (concurrency {CONCURRENCY} / latency)",
            f"{eff:.3f}",
            ">= 0.95",
            eff >= 0.95 and r["other"] == 0,
        ),
    ]


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(row)
