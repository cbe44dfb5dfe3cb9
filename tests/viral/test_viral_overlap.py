"""The primary's transcripts overlap the competitors' fetches (docs/viral.md, "Reel selection"):
they start when the primary is fetched, a pause holds them like any fetch step, and a run stopped
in the middle resumes without asking for a transcript twice.

One competitor is made slow on purpose: its first reels pages answer HTTP 503 and are retried,
three extra round trips at 30 ms each, so it is still fetching when the primary is done.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from viral_kit import make_sim, public_names, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.processors.base import ProcessorControl
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus
from viralspot_tui.core.viral.processor import ViralIdeasProcessor
from viralspot_tui.core.viral.results import ResultStore
from viralspot_tui.sim import Simulator

LATENCY_MS = 30.0


async def wait_until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def slow_job_accounts(sim: Simulator) -> tuple[str, list[str], str]:
    names = public_names(sim, 4, "overlap")
    slow = names[-1]
    sim.inject("reels", "http_503", count=3, match=slow)  # retried: three more round trips
    return names[0], names[1:], slow


def owned_transcripts(sim: Simulator, owner: str) -> list[str]:
    return [c.key for c in sim.stats.calls if c.endpoint == "transcript" and sim.world.reel(c.key).owner == owner]


async def test_the_primary_transcripts_start_while_a_slow_competitor_is_still_fetching(
    tmp_path: Path, clock: FakeClock
) -> None:
    sim = make_sim(clock, latency_ms=LATENCY_MS)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        primary, competitors, slow = slow_job_accounts(sim)
        job = await api.create_job(runtime, primary, competitors)
        outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    calls = sim.stats.calls
    slow_fetch_end = max(c.finished_at for c in calls if c.endpoint in ("profile", "reels") and c.key == slow)
    primary_codes = set(owned_transcripts(sim, primary))
    first_primary = min(c.started_at for c in calls if c.endpoint == "transcript" and c.key in primary_codes)
    rival_starts = [c.started_at for c in calls if c.endpoint == "transcript" and c.key not in primary_codes]
    assert first_primary < slow_fetch_end  # asked while the slow competitor was still being fetched
    assert min(rival_starts) >= slow_fetch_end  # competitors are ranked together: after every fetch
    assert sim.stats.count("reels", outcome="http_503") == 3


async def test_a_pause_during_the_fetches_holds_the_primary_transcripts(tmp_path: Path, clock: FakeClock) -> None:
    sim = make_sim(clock, latency_ms=LATENCY_MS)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        primary, competitors, _ = slow_job_accounts(sim)
        job = await api.create_job(runtime, primary, competitors)
        processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
        control = ProcessorControl("viral")
        loop = asyncio.create_task(processor.run(control))
        await wait_until(lambda: any(c.endpoint == "transcript" for c in sim.stats.calls))
        control.pause()
        await wait_until(lambda: processor.snapshot().jobs and processor.snapshot().jobs[0].status == "paused")
        await asyncio.sleep(3 * LATENCY_MS / 1000)  # the calls in flight when it paused answer
        sent = len(sim.stats.calls)
        await asyncio.sleep(0.3)
        assert len(sim.stats.calls) == sent  # no transcript and no fetch step is sent while paused
        control.resume()

        async def completed() -> bool:
            return (await api.get_job(runtime, job.id)).status == JobStatus.COMPLETED

        while not await completed():
            await asyncio.sleep(0.02)
        control.stop()
        await loop


async def test_a_run_stopped_while_the_primary_transcripts_overlap_the_fetches_resumes(
    tmp_path: Path, clock: FakeClock
) -> None:
    sim = make_sim(clock, latency_ms=LATENCY_MS)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        primary, competitors, slow = slow_job_accounts(sim)
        job = await api.create_job(runtime, primary, competitors)
        processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
        control = ProcessorControl("viral")
        loop = asyncio.create_task(processor.run(control))
        await wait_until(lambda: len(owned_transcripts(sim, primary)) >= 1)  # one primary transcript answered
        control.stop()
        await processor.drain(0.0)  # no grace: hand it back now, in the middle of the overlap
        await loop
        assert (await api.get_job(runtime, job.id)).status == JobStatus.PENDING
        assert sim.stats.count("chat") == 0 and await selection_rows(runtime, job.id) == 0
        asked_before = set(owned_transcripts(sim, primary))

        outcome = await api.run_job_now(runtime, job.id)
        assert outcome.status == JobStatus.COMPLETED and outcome.run_number == 1, outcome.error
        assert await selection_rows(runtime, job.id) == 3 + 5
    answered = [c.key for c in sim.stats.calls if c.endpoint == "transcript" and c.outcome != "preparing"]
    assert len(answered) == len(set(answered))  # a transcript answered before the stop is reused, not asked again
    assert asked_before and asked_before <= set(owned_transcripts(sim, primary))


async def selection_rows(runtime: Runtime, job_id: int) -> int:
    """Reels saved as the run's selection (saved once both plans are full: the step's checkpoint)."""
    results = ResultStore(runtime.db, runtime.clock)
    run = await results.get_run(job_id, 1, completed_only=False)
    return 0 if run is None else len(await results.selection(run.id))
