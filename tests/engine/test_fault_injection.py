"""Fault injection (docs/performance.md): at a 0.3 fault rate every item ends COMPLETED or FAILED, rightly
classified, retries stay within their bounds, and no exception escapes the processor."""

from __future__ import annotations

from collections import Counter

from testkit import make_settings, make_sim, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority, Status

RETRIES = 2
MAX_ATTEMPTS = 3
TRANSIENT_MARKERS = ("HTTP 500", "HTTP 503", "timed out", "timeout", "JSON", "json", "rate limit", "429")


async def test_every_item_settles_rightly_classified_at_fault_rate_0_3(tmp_path):
    sim = make_sim(latency_ms=1, fault_rate=0.3, seed=11)
    settings = make_settings(
        tmp_path,
        queue={"max_concurrent": 16, "reels_count": 24, "similar_count": 5, "max_attempts": MAX_ATTEMPTS},
        rapidapi={"retries": RETRIES},
    )
    names = [f"faulty.{i}" for i in range(80)] + ["missing_one", "private_one"]
    kinds = {n: sim.world.profile(n).kind for n in names}
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(names, Priority.LOW)
        await sup.start()

        async def settled():
            counts = await sup.runtime.queue.counts()
            return sum(n for (_, s), n in counts.items() if s in (Status.COMPLETED, Status.FAILED)) == len(names)

        await wait_for(settled, timeout=90)
        items = {n: await sup.runtime.queue.get(n) for n in names}
        snap = await sup.refresh()

    assert snap.processors["queue"].restarts == 0  # nothing escaped the processor
    assert sim.stats.count(outcome="ok") > 0 and sum(1 for c in sim.stats.calls if c.outcome != "ok") > 50
    for name, item in items.items():
        assert item.status in (Status.COMPLETED, Status.FAILED), name
        assert item.attempts <= MAX_ATTEMPTS
        error = item.last_error or ""
        assert "internal error" not in error, (name, error)
        if kinds[name] == "public" and item.status is Status.FAILED:
            # a public account can only fail by exhausting its transient retries
            assert item.attempts == MAX_ATTEMPTS and any(m in error for m in TRANSIENT_MARKERS), (name, error)
        if kinds[name] == "private":
            assert item.status is Status.FAILED and ("private" in error or item.attempts == MAX_ATTEMPTS), error
        if kinds[name] == "missing":
            assert item.status is Status.FAILED and ("not found" in error.lower() or item.attempts == MAX_ATTEMPTS)
    completed = sum(1 for i in items.values() if i.status is Status.COMPLETED)
    assert completed >= 0.8 * sum(1 for k in kinds.values() if k == "public")
    # retries are bounded: one request is never sent more than attempts x (1 + in-call retries) times
    per_request = Counter((c.endpoint, c.key, c.detail) for c in sim.stats.calls)
    assert max(per_request.values()) <= MAX_ATTEMPTS * (1 + RETRIES)
