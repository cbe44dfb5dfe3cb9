"""A viral ideas job's calls carry its priority to the rate limiters (see docs/priority.md):
HIGH for the run an operator asked for, LOW for the scheduled re-run."""

from __future__ import annotations

import asyncio

from viral_kit import public_names

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.processors.base import ProcessorControl
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus
from viralspot_tui.core.viral.processor import ViralIdeasProcessor
from viralspot_tui.sim import Simulator


def granted(runtime: Runtime) -> dict[Priority, int]:
    totals = {Priority.HIGH: 0, Priority.LOW: 0}
    for policy in runtime.providers.policies.values():
        for priority, n in policy.limiter.granted.items():
            totals[priority] += n
    return totals


async def test_operator_run_is_high_and_scheduled_rerun_is_low(runtime: Runtime, sim: Simulator, clock: FakeClock):
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True, rerun_every_hours=6)
    processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
    control = ProcessorControl("viral")
    loop = asyncio.create_task(processor.run(control))

    async def runs(n: int) -> None:
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            current = await api.get_job(runtime, job.id)
            if current.runs == n and current.status == JobStatus.COMPLETED:
                return
            assert asyncio.get_running_loop().time() < deadline, f"run {n} did not complete"
            await asyncio.sleep(0.01)

    try:
        await runs(1)
        first = granted(runtime)
        assert first[Priority.HIGH] > 0 and first[Priority.LOW] == 0
        clock.advance(6 * 3600 + 1)  # the re-run falls due
        await runs(2)
        second = granted(runtime)
        assert second[Priority.HIGH] == first[Priority.HIGH] and second[Priority.LOW] > 0
    finally:
        control.stop()
        await loop
