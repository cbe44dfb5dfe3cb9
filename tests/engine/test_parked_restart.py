"""An exhausted plan quota stays visible and honoured across a restart (docs/cli.md, "Batch runs").

The provider is parked until its reset when the plan quota is spent; the engine publishes that
state, and the next start parks the provider again instead of burning requests (and attempts)
to learn it anew. `status` and the status line show it.
"""

from __future__ import annotations

import asyncio

from testkit import make_settings, make_sim, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.headless import status_line
from viralspot_tui.core.idle import IdleWatch


async def _parked(sup):
    return sup.runtime.providers.policies["instagram"].parked_until()


async def test_a_parked_provider_stays_parked_across_a_restart(tmp_path):
    settings = make_settings(tmp_path)
    sim = make_sim(monthly_quota=3)
    async with open_engine(
        settings, processors=("queue",), local_only=True, transport=sim.transport(), simulator=sim
    ) as sup:
        await sup.start()
        await sup.operations().add(["natgeo", "nasa", "garyvee"], "high")
        await wait_for(lambda: _parked(sup), timeout=30)
        until = await _parked(sup)
        await sup.refresh()
        assert "instagram PARKED until" in status_line(sup)
        watch = IdleWatch(sup, settle=1)
        verdict = None
        for _ in range(100):  # the items go back to wait for the reset; the batch run then stops, saying why
            verdict = await watch.check()
            if verdict is not None:
                break
            await asyncio.sleep(0.05)
        assert verdict is not None and verdict.exit_code == 0 and "instagram parked until" in verdict.reason
    served = sim.stats.count()
    again = make_sim(monthly_quota=3)
    async with open_engine(
        settings, processors=("queue",), local_only=True, transport=again.transport(), simulator=again
    ) as sup:
        await sup.start()
        assert await _parked(sup) == until
        assert any("still parked until" in e.message for e in sup.runtime.events.recent(50))
        await sup.refresh()
        assert "instagram PARKED until" in status_line(sup)
    assert served > 0 and again.stats.count(endpoint="profile") == 0  # nothing sent to learn it again
