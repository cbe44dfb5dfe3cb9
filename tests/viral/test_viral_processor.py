"""The processor in its own loop: picks jobs, bounds concurrency, pauses at boundaries, drains."""

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


async def wait_until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def statuses(runtime: Runtime) -> dict[int, str]:
    return {j.id: j.status.value for j in await api.list_jobs(runtime)}


async def test_processor_runs_jobs_with_bounded_concurrency(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 9, "creator")
    jobs = [await api.create_job(runtime, names[i * 3], names[i * 3 + 1 : i * 3 + 3]) for i in range(3)]
    processor = ViralIdeasProcessor(runtime, poll_seconds=0.05)
    control = ProcessorControl("viral")
    assert not await processor.is_idle()
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, len(processor.tasks), processor.snapshot().running)
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    loop = asyncio.create_task(processor.run(control))

    async def all_done() -> bool:
        return set((await statuses(runtime)).values()) == {"completed"}

    await wait_until(all_done)
    control.stop()
    await loop
    watcher.cancel()
    assert peak == runtime.settings.viral.max_concurrent_jobs == 2
    await processor.refresh_view()
    snap = processor.snapshot()
    assert snap.running == 0 and [j.id for j in snap.jobs] == [j.id for j in reversed(jobs)]
    assert all(j.status == "completed" and j.progress == 100 and j.runs == 1 for j in snap.jobs)
    assert set(snap.jobs[0].to_json()) >= {
        "id",
        "primary_username",
        "competitors",
        "status",
        "stage",
        "progress",
        "runs",
        "next_run_at",
        "error",
    }
    assert await processor.is_idle()


async def test_pause_holds_a_job_at_a_boundary_and_resume_finishes_it(tmp_path: Path, clock: FakeClock) -> None:
    sim = make_sim(clock, latency_ms=3)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        names = public_names(sim, 3, "creator")
        job = await api.create_job(runtime, names[0], names[1:])
        processor = ViralIdeasProcessor(runtime, poll_seconds=0.05)
        control = ProcessorControl("viral")
        paused_at: list[str] = []

        def on_event(event) -> None:  # type: ignore[no-untyped-def]
            if event.kind == "viral.progress" and event.data["stage"] == "transcripts" and not control.paused:
                control.pause()
            if event.kind == "viral.paused":
                paused_at.append(event.message)

        runtime.events.subscribe(on_event)
        loop = asyncio.create_task(processor.run(control))

        async def paused() -> bool:
            return (await statuses(runtime))[job.id] == "paused"

        await wait_until(paused)
        calls = len(sim.stats.calls)
        await asyncio.sleep(0.2)
        assert len(sim.stats.calls) == calls  # nothing is sent while paused
        assert processor.snapshot().jobs[0].status == "paused" and paused_at
        assert "AI stage" not in " ".join(e.message for e in runtime.events.recent(500))
        control.resume()

        async def completed() -> bool:
            return (await statuses(runtime))[job.id] == "completed"

        await wait_until(completed)
        control.stop()
        await loop


async def test_drain_hands_unfinished_jobs_back_and_they_resume(tmp_path: Path, clock: FakeClock) -> None:
    sim = make_sim(clock, latency_ms=3)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        names = public_names(sim, 3, "creator")
        job = await api.create_job(runtime, names[0], names[1:])
        processor = ViralIdeasProcessor(runtime, poll_seconds=0.05)
        control = ProcessorControl("viral")
        loop = asyncio.create_task(processor.run(control))

        results = ResultStore(runtime.db, runtime.clock)

        async def first_stage_stored() -> bool:
            run = await results.get_run(job.id, 1, completed_only=False)
            return run is not None and run.profile_analysis is not None

        await wait_until(first_stage_stored)
        control.stop()
        await processor.drain(0.0)  # no grace: hand it back now
        await loop
        assert (await api.get_job(runtime, job.id)).status == JobStatus.PENDING
        fetches = {e: sim.stats.count(e) for e in ("profile", "reels", "transcript")}
        profile_analysis = sim.stats.count("chat", key="ProfileAnalysis")

        outcome = await api.run_job_now(runtime, job.id)
        assert outcome.status == JobStatus.COMPLETED and outcome.run_number == 1, outcome.error
        assert {e: sim.stats.count(e) for e in fetches} == fetches
        assert sim.stats.count("chat", key="ProfileAnalysis") == profile_analysis == 1  # resumed after stage 1


async def test_processor_starts_a_recurring_run_when_it_falls_due_and_not_before(
    runtime: Runtime, sim: Simulator, clock: FakeClock
) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True, rerun_every_hours=6)
    processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
    control = ProcessorControl("viral")
    loop = asyncio.create_task(processor.run(control))
    try:

        async def runs(n: int) -> bool:
            current = await api.get_job(runtime, job.id)
            return current.runs == n and current.status == JobStatus.COMPLETED

        await wait_until(lambda: runs(1))
        first = await api.get_job(runtime, job.id)
        assert first.next_run_at is not None and first.next_run_at > clock.now()
        clock.advance(5 * 3600)  # not due yet: the processor keeps polling and leaves it alone
        await asyncio.sleep(0.3)
        assert (await api.get_job(runtime, job.id)).runs == 1
        assert await processor.is_idle()
        clock.advance(3600 + 1)  # now past next_run_at
        await wait_until(lambda: runs(2))
    finally:
        control.stop()
        await loop
