"""Paid calls per completed profile, with the simulator's real-host quirks on and off.

The real scraper lists some accounts' reels without dates, so the pipeline must ask the
detail endpoint for them; that must stay bounded (the per-profile detail cap, see
docs/real-apis.md) instead of turning one profile into 50 extra calls. The real engine
(``open_engine`` + the queue processor, default ``reels_count`` 50 and ``similar_count`` 20)
fetches the same public profiles twice, on a simulator with ``quirks="off"`` and with
``quirks="real"``, and a third time with the quirks on plus HTTP-200 "try again later" /
throttling bodies at a 10% rate.

Paid calls are counted from the simulator's call records: every scraper request it answered,
except 429 refusals (the gateway does not bill them) and "busy" bodies (the host says "You
wont be charged for this request"). figure = paid calls ÷ completed profiles per run, and the
extra calls per profile with the quirks on. Bar: extra ≤ the detail cap (12).
"""

from __future__ import annotations

import asyncio

from ._common import Row, temp_dir
from ._engine import enqueue_many, make_settings, public_usernames

NAME = "paid calls"
SCRAPER = ("profile", "reels", "reel_detail", "similar")
UNBILLED = ("rate_limited", "quota", "busy_body")


async def _run(quirks: str, names: int, error_body_rate: float = 0.0) -> dict[str, float]:
    from viralspot_tui.core.engine import open_engine
    from viralspot_tui.core.models.queue import Status
    from viralspot_tui.sim import SimConfig, Simulator

    sim = Simulator(SimConfig(seed=7, latency_ms=0.0, jitter=0.0, quirks=quirks, error_body_rate=error_body_rate))
    with temp_dir(f"paid-{quirks}") as root:
        settings = make_settings(root, concurrency=16, rps=10_000.0, reels_count=50, similar_count=20)
        users = public_usernames(sim, names, prefix="paid_user_")
        async with open_engine(
            settings, processors=("queue",), local_only=True, simulator=sim, transport=sim.transport()
        ) as supervisor:
            await enqueue_many(supervisor.runtime.queue, users)
            await supervisor.start()
            while True:
                counts = await supervisor.runtime.queue.counts()
                settled = sum(n for (_, s), n in counts.items() if s in (Status.COMPLETED, Status.FAILED))
                if settled >= len(users):
                    break
                await asyncio.sleep(0.05)
            completed = sum(n for (_, s), n in counts.items() if s is Status.COMPLETED)
            await supervisor.stop(grace_seconds=0)
    paid = [c for c in sim.stats.calls if c.endpoint in SCRAPER and c.outcome not in UNBILLED]
    details = sum(1 for c in paid if c.endpoint == "reel_detail")
    return {"completed": completed, "paid": len(paid), "details": details, "total": len(sim.stats.calls)}


def run(quick: bool = False) -> list[Row]:
    names = 20 if quick else 100
    off = asyncio.run(_run("off", names))
    real = asyncio.run(_run("real", names))
    busy = asyncio.run(_run("real", names, error_body_rate=0.1))
    per = {k: r["paid"] / max(1, r["completed"]) for k, r in (("off", off), ("real", real), ("busy", busy))}
    extra = per["real"] - per["off"]
    from viralspot_tui.core.pipeline.profile_fetch import DETAIL_CAP

    return [
        Row(
            NAME,
            f"paid calls / completed profile, quirks off ({off['completed']} of {names} profiles)",
            f"{per['off']:.2f}",
        ),
        Row(
            NAME,
            f"paid calls / completed profile, quirks real ({real['details'] / max(1, real['completed']):.2f} details each)",
            f"{per['real']:.2f}",
        ),
        Row(
            NAME,
            "extra paid calls per profile with the quirks on",
            f"{extra:.2f}",
            f"<= {DETAIL_CAP}",
            extra <= DETAIL_CAP,
        ),
        Row(
            NAME,
            f"paid calls / completed profile, quirks real + 10% error bodies ({busy['completed']} completed)",
            f"{per['busy']:.2f}",
        ),
    ]


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(row)
