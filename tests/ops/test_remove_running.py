"""Removing a running item stops its worker at once, with a message that says so, instead of
letting it run on and then reporting a lost lease (docs/queue.md)."""

from __future__ import annotations

from testkit import make_settings, make_sim, wait_for

from viralspot_tui.core.engine import open_engine


async def test_remove_stops_a_running_item_and_says_why(tmp_path):
    settings = make_settings(tmp_path)
    sim = make_sim(latency_ms=400)  # slow enough that the item is still running when removed
    async with open_engine(
        settings, processors=("queue",), local_only=True, transport=sim.transport(), simulator=sim
    ) as sup:
        await sup.start()
        ops = sup.operations()
        await ops.add(["natgeo"], "high")
        queue = sup.processor("queue")
        await wait_for(lambda: any(r.item.username == "natgeo" for r in queue.running.values()), timeout=20)
        result = await ops.remove("natgeo")
        assert "its worker was stopped" in result.message
        assert not any(r.item.username == "natgeo" for r in queue.running.values())
        await sup.refresh()
        events = [e for e in sup.runtime.events.recent(100)]
        assert any(e.kind == "queue.removed" and "removed by the operator" in e.message for e in events)
        assert await sup.runtime.queue.get("natgeo") is None
        served = sim.stats.count()
        await wait_for(lambda: sup.snapshot().queue.in_flight == 0, timeout=10)
    assert not any(e.kind == "queue.lease_lost" for e in sup.runtime.events.recent(200))
    assert sim.stats.count() <= served + 3  # at most the calls already in flight when it was stopped
