"""Priority: how prompt is a HIGH item on a runner saturated with LOW work (see docs/priority.md)?

Two runs of the real engine, headless, on the simulator at 250 ms per call, with the default
settings (rapidapi.requests_per_second, queue.max_concurrent, reels and similar counts):

* **idle** — one HIGH item is enqueued on a runner with nothing else to do;
* **loaded** — 40 LOW items are enqueued first and run until the shared rate limiter has a
  backlog (the LOW load saturates it), then the same HIGH item is enqueued.

figure = HIGH latency (enqueue → COMPLETED) loaded ÷ idle; bar ≤ 1.3. Beside it, what the LOW
work lost meanwhile: LOW requests per second at the simulator while the HIGH item ran against
the same figure over the equally long stretch just before it arrived. Full runs take the median
of three pairs; ``--quick`` one pair.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from ._common import Row, temp_dir
from ._engine import make_simulator, public_usernames

NAME = "priority"
LATENCY_MS = 250.0
LOW_ITEMS = 40
BAR = 1.3


def _settings(root: Any) -> Any:
    from viralspot_tui.config import load_settings

    return load_settings(
        data_dir=root,
        simulate=True,
        queue={"queue_file": root / "queue.csv", "lease_seconds": 120.0, "grace_seconds": 0.0},
        sim={"latency_ms": LATENCY_MS, "seed": 7},
    )


async def _one(high: str, low: list[str]) -> dict[str, float]:
    """Enqueue → COMPLETED of ``high``, after saturating the runner with ``low`` items (if any)."""
    from viralspot_tui.core.engine import open_engine
    from viralspot_tui.core.models.queue import Priority

    with temp_dir("priority") as root:
        sim = make_simulator(latency_ms=LATENCY_MS)
        async with open_engine(
            _settings(root), processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
        ) as sup:
            done = asyncio.Event()
            finished: dict[str, float] = {}

            def on_event(event: Any) -> None:
                if event.kind == "queue.completed":
                    finished[event.data["username"]] = time.monotonic()
                    if event.data["username"] == high:
                        done.set()

            sup.runtime.events.subscribe(on_event)
            assert sup.runtime.providers is not None  # opened by open_engine
            limiter = sup.runtime.providers.policies["instagram"].limiter
            started = time.monotonic()
            if low:
                await sup.runtime.queue.enqueue(low, Priority.LOW, source="bench")
            await sup.start()
            if low:  # saturated: calls queue at the limiter, and the LOW load has run a while
                while not (limiter.waiting(Priority.LOW) > 0 and time.monotonic() - started > 2.0):
                    await asyncio.sleep(0.02)
            t0 = time.monotonic()
            await sup.runtime.queue.enqueue([high], Priority.HIGH, source="bench")
            sup.wake("queue")
            await asyncio.wait_for(done.wait(), timeout=120)
            latency = finished[high] - t0
            await sup.stop(grace_seconds=0)
    own = {high, *(r.shortcode for r in sim.world.reels(high))}
    low_calls = [c.started_at for c in sim.stats.calls if c.key not in own]
    t_end = t0 + latency
    during = sum(1 for t in low_calls if t0 <= t < t_end) / latency
    before = sum(1 for t in low_calls if t0 - latency <= t < t0) / latency
    return {"latency": latency, "low_before": before, "low_during": during}


async def _pairs(n: int) -> list[tuple[dict[str, float], dict[str, float]]]:
    sim = make_simulator(latency_ms=LATENCY_MS)
    names = public_usernames(sim, LOW_ITEMS + 1, prefix="prio_user_")
    high, low = names[0], names[1:]
    return [(await _one(high, []), await _one(high, low)) for _ in range(n)]


def run(quick: bool = False) -> list[Row]:
    pairs = asyncio.run(_pairs(1 if quick else 3))
    ratios = [loaded["latency"] / idle["latency"] for idle, loaded in pairs]
    ratio = statistics.median(ratios)
    idle_s = statistics.median(idle["latency"] for idle, _ in pairs)
    loaded_s = statistics.median(loaded["latency"] for _, loaded in pairs)
    before = statistics.median(loaded["low_before"] for _, loaded in pairs)
    during = statistics.median(loaded["low_during"] for _, loaded in pairs)
    lost = 1 - during / before if before else 0.0
    runs = f"{len(pairs)} pair(s): " + ", ".join(f"{r:.2f}" for r in ratios)
    return [
        Row(NAME, f"HIGH enqueue → COMPLETED: idle runner (s), {LATENCY_MS:.0f} ms per call", f"{idle_s:.2f}"),
        Row(NAME, f"HIGH enqueue → COMPLETED: runner saturated by {LOW_ITEMS} LOW items (s)", f"{loaded_s:.2f}"),
        Row(NAME, f"HIGH latency saturated ÷ idle ({runs})", f"{ratio:.2f}", f"<= {BAR}", ratio <= BAR, "ratio"),
        Row(
            NAME,
            "LOW requests/s at the simulator while HIGH ran (vs just before; share lost)",
            f"{during:.1f} (vs {before:.1f}; {lost:.0%})",
        ),
    ]


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(row)
