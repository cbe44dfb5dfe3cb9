"""The queue under the scraper's HTTP-200 error bodies at a 0.3 rate, with the real quirks on.

Every item settles COMPLETED or FAILED, rightly: a public account is never completed with
"0 reels" because a busy answer was read as an empty list, a missing one fails at once with
the host's reason, and no request is sent more often than the retry bounds allow.
"""

from __future__ import annotations

from collections import Counter

from testkit import make_settings, make_sim, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority, Status

RETRIES = 2
MAX_ATTEMPTS = 3


async def test_error_bodies_are_retried_and_never_stored_as_empty(tmp_path):
    sim = make_sim(latency_ms=1, error_body_rate=0.3, seed=5)
    settings = make_settings(
        tmp_path,
        queue={"max_concurrent": 16, "reels_count": 24, "similar_count": 5, "max_attempts": MAX_ATTEMPTS},
        rapidapi={"retries": RETRIES},
    )
    names = [f"bodies.{i}" for i in range(30)] + ["missing_bodies"]
    kinds = {n: sim.world.profile(n).kind for n in names}
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(names, Priority.LOW)
        await sup.start()

        async def settled() -> bool:
            counts = await sup.runtime.queue.counts()
            return sum(n for (_, s), n in counts.items() if s in (Status.COMPLETED, Status.FAILED)) == len(names)

        await wait_for(settled, timeout=90)
        items = {n: await sup.runtime.queue.get(n) for n in names}
        stored = {n: await sup.runtime.content.reels_for(n) for n in names}
        snap = await sup.refresh()

    assert snap.processors["queue"].restarts == 0
    assert sim.stats.count(outcome="busy_body") + sim.stats.count(outcome="throttled_body") > 20
    for name, item in items.items():
        assert item.status in (Status.COMPLETED, Status.FAILED), name
        if kinds[name] == "public" and item.status is Status.COMPLETED:
            expected = min(24, len(sim.world.reels(name)))
            assert len(stored[name]) == expected, (name, len(stored[name]), expected)  # never "0 reels"
        if kinds[name] == "public" and item.status is Status.FAILED:
            assert item.attempts == MAX_ATTEMPTS and "retry later" in (item.last_error or ""), item.last_error
    missing = items["missing_bodies"]
    assert missing.status is Status.FAILED and "does not exist on Instagram" in (missing.last_error or "")
    per_request = Counter((c.endpoint, c.key, c.detail) for c in sim.stats.calls)
    assert max(per_request.values()) <= MAX_ATTEMPTS * (1 + RETRIES)
