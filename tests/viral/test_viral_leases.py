"""The viral processor on the one lease mechanism (docs/leases.md): a running engine takes over
a job whose worker died on this machine without waiting for its lease, and a job whose lease
is taken from under it stops instead of writing over its new owner."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from viral_kit import make_sim, public_names, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.lease_keeper import LeaseKeeper
from viralspot_tui.core.processors.base import ProcessorControl
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus
from viralspot_tui.core.viral.processor import ViralIdeasProcessor
from viralspot_tui.core.viral.store import ViralStore
from viralspot_tui.sim import Simulator


async def wait_until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _dead_owner() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid is certainly gone
    return f"{socket.gethostname()}:{child.pid}:0badf00d:viral-now:1"


async def test_a_running_engine_takes_over_a_job_whose_worker_was_killed(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
    control = ProcessorControl("viral")
    loop = asyncio.create_task(processor.run(control))
    try:
        await asyncio.sleep(0.05)  # the engine is up and idle
        # An `analyze --wait` in another shell claimed the job and was killed -9; its lease
        # (30 s on a clock that does not move) would hold the job forever. The engine is paused
        # while that happens, so its own poll cannot claim the new job first (a race that a
        # loaded machine lost), then resumed to take the dead worker's job over.
        control.pause()
        await asyncio.sleep(0.05)  # a claim already in flight has returned
        job = await api.create_job(runtime, names[0], names[1:])
        assert await ViralStore(runtime.db, runtime.clock).claim(_dead_owner(), 30.0, 1, job_id=job.id)
        control.resume()

        async def completed() -> bool:
            return (await api.get_job(runtime, job.id)).status is JobStatus.COMPLETED

        await wait_until(completed)
    finally:
        control.stop()
        await loop
        await processor.drain(1.0)
    assert (await api.get_job(runtime, job.id)).runs == 1


async def test_a_job_whose_lease_is_taken_stops_and_leaves_the_new_owner_alone(
    tmp_path: Path, clock: FakeClock
) -> None:
    sim = make_sim(clock, latency_ms=3)  # slow enough that the job is still running when taken
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        await _taken_over(runtime, sim)


async def _taken_over(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    processor = ViralIdeasProcessor(runtime, poll_seconds=0.02)
    control = ProcessorControl("viral")
    released = asyncio.Event()
    runtime.events.subscribe(lambda e: released.set() if e.kind == "viral.released" else None)
    loop = asyncio.create_task(processor.run(control))
    try:

        async def running() -> bool:
            return job.id in processor.tasks

        await wait_until(running)
        # Another engine took the job over (its lease had run out meanwhile).
        await runtime.db.write(
            lambda c: c.execute(
                "UPDATE viral_ideas_queue SET lease_owner = 'elsewhere:1:abc:viral:9' WHERE id = ?", (job.id,)
            )
        )
        assert await LeaseKeeper.of(runtime).beat()  # the next heartbeat finds the lease gone
        await asyncio.wait_for(released.wait(), 5)
    finally:
        control.stop()
        await loop
        await processor.drain(1.0)
    row = await runtime.db.read(
        lambda c: c.execute(
            "SELECT status, lease_owner, runs FROM viral_ideas_queue WHERE id = ?", (job.id,)
        ).fetchone()
    )
    assert tuple(row) == ("processing", "elsewhere:1:abc:viral:9", 0)
