"""Rate-limit utilisation: how much of the plan's per-second limit the engine actually uses.

The simulator enforces RapidAPI's per-second limit (SimConfig rate_limit=20 req/s, a trailing
one-second window per key, answered with 429 "rate_limited"); our settings say the same
(rapidapi.requests_per_second=20), so the shared OutboundPolicy limiter should run right at
it. The queue is saturated (far more items than can finish, concurrency 32); simulator
latency 30 ms. After DURATION seconds the engine is stopped.

figure = requests accepted per second ÷ 20, counted from the simulator's call records over
[first request, first request + DURATION); and the number of 429s the simulator answered.
Bars: ≥ 0.95 and zero 429s.
"""

from __future__ import annotations

import asyncio
import collections

from ._common import Row, temp_dir
from ._engine import enqueue_many, make_settings, make_simulator, public_usernames

NAME = "rate limit"
PLAN = 20.0


async def _run(duration: float) -> dict[str, float]:
    from viralspot_tui.core.engine import open_engine

    with temp_dir("ratelimit") as root:
        settings = make_settings(root, concurrency=32, rps=PLAN)
        sim = make_simulator(latency_ms=30.0, jitter=0.5, rate_limit=PLAN)
        items = int(PLAN * duration) + 200  # ≥ 3 requests per item: never runs dry
        async with open_engine(
            settings, processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
        ) as supervisor:
            await enqueue_many(supervisor.runtime.queue, public_usernames(sim, items))
            await supervisor.start()
            await asyncio.sleep(duration + 1.0)
            await supervisor.stop(grace_seconds=0)
    calls = sim.stats.calls
    outcomes = collections.Counter(c.outcome for c in calls)
    accepted = sorted(c.started_at for c in calls if c.outcome not in ("rate_limited", "quota"))
    t0 = accepted[0]
    in_window = sum(1 for t in accepted if t < t0 + duration)
    return {
        "rps": in_window / duration,
        "rate_limited": outcomes.get("rate_limited", 0),
        "quota": outcomes.get("quota", 0),
        "burst": sim.stats.max_in_window(1.0),
        "total": len(calls),
    }


def run(quick: bool = False) -> list[Row]:
    duration = 4.0 if quick else 10.0
    r = asyncio.run(_run(duration))
    util = r["rps"] / PLAN
    return [
        Row(
            NAME,
            f"accepted requests/s over {duration:.0f}s (plan {PLAN:.0f}/s; max started in any 1s window: {r['burst']})",
            f"{r['rps']:.2f}",
        ),
        Row(NAME, "utilisation = requests/s / plan limit", f"{util:.3f}", ">= 0.95", util >= 0.95),
        Row(
            NAME,
            "429s answered by the simulator (rate_limited + quota)",
            str(r["rate_limited"] + r["quota"]),
            "0",
            r["rate_limited"] + r["quota"] == 0,
        ),
    ]


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(row)
