"""How much one console refresh costs as the queue grows (SPEC §10 "console at scale").

The console never lists the queue: the supervisor publishes counts by priority and status plus
a capped *board*, and the dashboard diffs that into its tables. So a refresh should cost about
the same with 100,000 items queued as with 1,000. This script measures it side by side in one
run and prints a table of times and their ratio (a script, not a timed test: machines are noisy).

    python benchmarks/bench_tui_refresh.py [--sizes 1000,100000] [--ticks 60]

Columns: ``snapshot`` = the supervisor rebuilding its snapshot (the SQL behind it);
``ui tick`` = the App's refresh (diff into widgets inside batch_update), ``ui tick+paint`` =
that plus Textual repainting the screen. Every tick changes something (an item is bumped), so
the diff has real work to do.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Row  # noqa: E402
from viralspot_tui.config import load_settings  # noqa: E402
from viralspot_tui.core.engine import open_engine  # noqa: E402
from viralspot_tui.core.models.queue import Priority  # noqa: E402
from viralspot_tui.tui.app import ViralSpotApp  # noqa: E402


async def _fill(supervisor, n: int) -> None:
    queue = supervisor.runtime.queue
    batch = 5000
    for start in range(0, n, batch):
        names = [f"user{i}" for i in range(start, min(n, start + batch))]
        await queue.enqueue(names, Priority.LOW if start else Priority.HIGH, "bench")


async def measure(n: int, ticks: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=tmp, simulate=True, queue={"queue_file": f"{tmp}/queue.csv"}, sim={"latency_ms": 1}
        )
        app = ViralSpotApp(
            lambda: open_engine(settings, processors=(), local_only=True), settings=settings, refresh_interval=3600
        )
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.host.started.is_set():
                await asyncio.sleep(0.01)
            supervisor = app.supervisor
            await _fill(supervisor, n)
            snap_times, tick_times, paint_times = [], [], []
            for i in range(ticks):
                await supervisor.runtime.queue.bump(f"user{i % 50}", Priority.HIGH if i % 2 else Priority.LOW)
                t0 = time.perf_counter()
                await supervisor.refresh()
                t1 = time.perf_counter()
                app.refresh_tick()
                t2 = time.perf_counter()
                await pilot.pause()
                t3 = time.perf_counter()
                snap_times.append(t1 - t0)
                tick_times.append(t2 - t1)
                paint_times.append(t3 - t1)
            assert app.stats["errors"] == 0
        return {
            "snapshot": statistics.median(snap_times) * 1000,
            "tick": statistics.median(tick_times) * 1000,
            "paint": statistics.median(paint_times) * 1000,
        }


def run(quick: bool = False) -> list[Row]:
    """For ``benchmarks.run_all``: 1k vs 100k (quick: 1k vs 20k) queued, as ratios of one run."""
    sizes = (1_000, 20_000) if quick else (1_000, 100_000)
    ticks = 20 if quick else 60
    small, large = (asyncio.run(measure(n, ticks)) for n in sizes)
    name = "console refresh"
    return [
        Row(
            name,
            f"snapshot rebuild / UI tick, {sizes[0]:,} queued (median of {ticks})",
            f"{small['snapshot']:.1f} / {small['tick']:.2f} ms",
        ),
        Row(
            name,
            f"snapshot rebuild / UI tick, {sizes[1]:,} queued",
            f"{large['snapshot']:.1f} / {large['tick']:.2f} ms",
        ),
        Row(
            name,
            f"UI tick ratio {sizes[1]:,} vs {sizes[0]:,} (the diff must not grow with the queue)",
            f"{large['tick'] / small['tick']:.2f}x",
            "informational",
        ),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--ticks", type=int, default=60)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {n: await measure(n, args.ticks) for n in sizes}
    base = results[sizes[0]]
    print(
        f"{'queued':>10} {'snapshot ms':>12} {'ui tick ms':>11} {'ui tick+paint ms':>17} "
        f"{'tick ratio':>11} {'paint ratio':>12}"
    )
    for n in sizes:
        r = results[n]
        print(
            f"{n:>10,} {r['snapshot']:>12.2f} {r['tick']:>11.2f} {r['paint']:>17.2f} "
            f"{r['tick'] / base['tick']:>11.2f} {r['paint'] / base['paint']:>12.2f}"
        )
    print(
        f"(medians of {args.ticks} ticks; ratios are against {sizes[0]:,} queued items; "
        "the refresh timer runs every 0.33 s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
