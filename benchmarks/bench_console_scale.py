"""The console at scale, driven headless through the real engine.

1. Event-loop lag: 100,000 items queued, the real engine (open_engine, queue processor,
   concurrency 32) on the in-process simulator at low latency (20 ms, jitter 0.5, no rate
   limit), so well over 200 items complete per second. A ticker task sleeps 10 ms in a loop
   and records how late it wakes (the lag every keypress and redraw would see); a "UI" task
   calls supervisor.refresh() and supervisor.snapshot() at 4 Hz, as the console does.
   Figures: p99 lag (bar ≤ 50 ms) and completions/s over the window (must be ≥ 200, or the
   lag figure does not count).
2. Resident memory: a database holding N_small queued items, then N_large (100k and 1M;
   quick: 10k and 100k). Each is measured in a fresh process that opens the engine, starts
   it, lets it run briefly, refreshes the snapshot and reads VmRSS from /proc/self/status.
   Figure: RSS(N_large) ÷ RSS(N_small), bar < 2.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from ._common import Row, percentile, rss_kib, temp_dir
from ._engine import CompletionWatch, enqueue_many, make_settings, make_simulator

NAME = "console at scale"


# --------------------------------------------------------------------------- loop lag
async def _lag(n_items: int, duration: float) -> dict[str, float]:
    from viralspot_tui.core.engine import open_engine

    with temp_dir("console") as root:
        settings = make_settings(root, concurrency=32, rps=10_000)
        sim = make_simulator(latency_ms=20.0, jitter=0.5)
        async with open_engine(
            settings, processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
        ) as supervisor:
            await enqueue_many(supervisor.runtime.queue, n_items, prefix="scale_user_", chunk=10_000)
            watch = CompletionWatch(supervisor.runtime.events, n_items)
            await supervisor.start()
            await asyncio.sleep(1.0)  # past the start-up transient
            lags: list[float] = []
            refresh_ms: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    t = loop.time()
                    await asyncio.sleep(0.010)
                    lags.append(loop.time() - t - 0.010)

            async def ui() -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    await supervisor.refresh()
                    snap = supervisor.snapshot()
                    snap.queue.count()
                    refresh_ms.append((time.perf_counter() - t) * 1000)
                    await asyncio.sleep(0.25)

            done0 = len(watch.completed_at)
            t0 = time.monotonic()
            tasks = [asyncio.create_task(ticker()), asyncio.create_task(ui())]
            await asyncio.sleep(duration)
            stop.set()
            await asyncio.gather(*tasks)
            rate = (len(watch.completed_at) - done0) / (time.monotonic() - t0)
            await supervisor.stop(grace_seconds=0)
            watch.close()
    return {
        "p99": percentile(lags, 99) * 1000,
        "p50": percentile(lags, 50) * 1000,
        "max": max(lags) * 1000,
        "rate": rate,
        "ticks": len(lags),
        "refresh_p50": percentile(refresh_ms, 50),
    }


# --------------------------------------------------------------------------- memory
async def _rss_probe(data_dir: Path) -> dict[str, float]:
    """In a fresh process: open + start the engine on data_dir, refresh, read VmRSS."""
    from viralspot_tui.core.engine import open_engine

    settings = make_settings(data_dir, concurrency=32, rps=10_000)
    sim = make_simulator(latency_ms=20.0, jitter=0.5)
    async with open_engine(
        settings, processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
    ) as supervisor:
        await supervisor.start()
        await asyncio.sleep(1.5)
        t = time.perf_counter()
        snap = await supervisor.refresh()
        refresh_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        await supervisor.runtime.queue.counts()
        counts_ms = (time.perf_counter() - t) * 1000
        queued = snap.queue.count()
        rss = rss_kib()
        await supervisor.stop(grace_seconds=0)
    return {"rss_kib": rss, "rows": queued, "refresh_ms": round(refresh_ms, 1), "counts_ms": round(counts_ms, 1)}


async def _fill(data_dir: Path, start: int, stop: int) -> None:
    from viralspot_tui.core.store.database import Database
    from viralspot_tui.core.store.queue_store import QueueStore

    db = await Database(data_dir / "viralspot.db").open()
    try:
        store = QueueStore(db, instance_id="bench-fill")
        names = [f"scale_user_{i}" for i in range(start, stop)]
        await enqueue_many(store, names, chunk=20_000)
    finally:
        await db.close()


def _probe_subprocess(data_dir: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_console_scale", "--rss-probe", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory(small: int, large: int) -> tuple[dict[str, int], dict[str, int], float]:
    with temp_dir("console-mem") as root:
        asyncio.run(_fill(root, 0, small))
        a = _probe_subprocess(root)
        t = time.perf_counter()
        asyncio.run(_fill(root, small, large))
        fill_s = time.perf_counter() - t
        b = _probe_subprocess(root)
    return a, b, fill_s


def run(quick: bool = False) -> list[Row]:
    lag = asyncio.run(_lag(100_000, 4.0 if quick else 10.0))
    small, large = (10_000, 100_000) if quick else (100_000, 1_000_000)
    a, b, _ = _memory(small, large)
    growth = b["rss_kib"] / a["rss_kib"]
    ok_rate = lag["rate"] >= 200
    return [
        Row(
            NAME,
            f"completions/s while 100k queued (needs >= 200; snapshot refresh median {lag['refresh_p50']:.1f} ms)",
            f"{lag['rate']:.0f}",
            ">= 200",
            ok_rate,
        ),
        Row(
            NAME,
            f"event-loop lag p99 (p50 {lag['p50']:.1f} ms, max {lag['max']:.1f} ms, {lag['ticks']} ticks)",
            f"{lag['p99']:.1f} ms",
            "<= 50 ms",
            lag["p99"] <= 50 and ok_rate,
        ),
        Row(
            NAME,
            f"RSS with {small:,} / {large:,} items queued",
            f"{a['rss_kib'] / 1024:.0f} / {b['rss_kib'] / 1024:.0f} MiB",
        ),
        Row(NAME, f"memory growth {small:,} -> {large:,} items", f"{growth:.2f}x", "< 2x", growth < 2),
        Row(
            NAME,
            f"one snapshot refresh / its counts() query, {small:,} vs {large:,} queued (idle-ish engine)",
            f"{a['refresh_ms']:.0f}/{a['counts_ms']:.0f} vs {b['refresh_ms']:.0f}/{b['counts_ms']:.0f} ms",
        ),
    ]


if __name__ == "__main__":
    if "--rss-probe" in sys.argv:
        print(json.dumps(asyncio.run(_rss_probe(Path(sys.argv[sys.argv.index("--rss-probe") + 1])))))
    else:
        for row in run("--quick" in sys.argv):
            print(row)
