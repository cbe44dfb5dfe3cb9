"""Priority reaches the rate limiter: a HIGH item on a runner saturated with LOW work (Q4).

The runner has free slots, so the HIGH item starts at once and no LOW item pauses for want of
a slot: what the items compete for is the limiter. Everything is judged from the simulator's
call records (order, not durations).
"""

from __future__ import annotations

from collections import Counter

from testkit import make_settings, make_sim, public_names, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority, Status


async def test_high_item_is_served_first_and_low_items_resume_without_repeating_calls(tmp_path):
    sim = make_sim(latency_ms=40)
    settings = make_settings(
        tmp_path,
        queue={"max_concurrent": 8, "reels_count": 36, "similar_count": 5},
        rapidapi={"requests_per_second": 25.0},
    )
    low = public_names(sim, 5, prefix="saturating", min_reels=40)
    [high] = public_names(sim, 1, prefix="urgent", min_reels=40)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        paused: list[tuple[str, str]] = []
        sup.runtime.events.subscribe(
            lambda e: paused.append((e.data["username"], e.message)) if e.kind == "queue.paused" else None
        )
        limiter = sup.runtime.providers.policies["instagram"].limiter
        await sup.runtime.queue.enqueue(low, Priority.LOW)
        await sup.start()
        # LOW work saturates the limiter: calls queue there, and some steps are done already
        await wait_for(lambda: limiter.waiting(Priority.LOW) > 0 and sum(c.key in low for c in sim.stats.calls) >= 8)
        await sup.runtime.queue.enqueue([high], Priority.HIGH)
        sup.wake("queue")
        await wait_for(lambda: _done(sup, [high]), what="the HIGH item completed")
        assert {(await sup.runtime.queue.get(n)).status for n in low} <= {Status.PAUSED, Status.PROCESSING}
        await wait_for(lambda: _done(sup, low), what="every LOW item completed after resuming")
        items = {n: await sup.runtime.queue.get(n) for n in [*low, high]}

    calls = [c for c in sim.stats.calls if c.outcome == "ok"]
    high_starts = [c.started_at for c in calls if c.key == high]
    first, last = min(high_starts), max(high_starts)
    low_meanwhile = [c for c in calls if c.key != high and first < c.started_at < last]
    # every LOW call still waiting when the HIGH item arrived, and every one after, came after it
    assert low_meanwhile == []
    assert limiter.granted[Priority.HIGH] == len(high_starts)
    # LOW items were held back at a step boundary because of the limiter, not for want of a slot
    reasons = {name: message for name, message in paused}
    assert set(reasons) == set(low)
    assert all("rate limit" in message for message in reasons.values())
    # ... and resumed from their checkpoints: every (endpoint, subject, page) was fetched once
    repeats = {k: n for k, n in Counter((c.endpoint, c.key, c.detail) for c in calls).items() if n > 1}
    assert repeats == {}
    assert items[high].completed_at < min(items[n].completed_at for n in low)
    assert all(items[n].attempts == 1 for n in low)  # giving way is not a failed attempt


async def test_high_and_low_share_the_limiter_when_it_is_not_the_bottleneck(tmp_path):
    sim = make_sim(latency_ms=20)
    settings = make_settings(tmp_path, queue={"max_concurrent": 8, "reels_count": 12, "similar_count": 5})
    low = public_names(sim, 3, prefix="relaxed")
    [high] = public_names(sim, 1, prefix="prompt")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        paused: list[str] = []
        sup.runtime.events.subscribe(lambda e: paused.append(e.data["username"]) if e.kind == "queue.paused" else None)
        await sup.runtime.queue.enqueue(low, Priority.LOW)
        await sup.runtime.queue.enqueue([high], Priority.HIGH)
        await sup.start()
        await wait_for(lambda: _done(sup, [*low, high]))
    assert paused == []  # 1000 requests/s: nothing queues at the limiter, so nothing is held back


async def _done(sup, names):
    items = [await sup.runtime.queue.get(n) for n in names]
    return all(item.status == Status.COMPLETED for item in items)
