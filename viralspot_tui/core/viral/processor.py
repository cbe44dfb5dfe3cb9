"""The Viral Ideas Processor: runs analysis jobs and their recurring re-runs (SPEC §4).

It claims pending jobs and recurring jobs that are due (``next_run_at``), runs up to
``max_concurrent_jobs`` at once, each as its own task, and keeps a heartbeat on their leases
so a crashed process's jobs are taken over and resumed from their checkpoints. Pause is
honoured at stage boundaries: a paused job shows ``paused`` and continues where it stopped on
resume. Shutdown lets running jobs finish within the grace period, then hands the rest back to
``pending`` — their checkpoints keep every finished call.

``snapshot()`` must be free for a UI to call, so it serves an in-memory view refreshed from the
database on every loop and patched by the runner's own progress events in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..processors.base import Processor, ProcessorControl, Stopping
from ..views import JobView, ViralSnapshot
from .models import Job, JobStatus
from .results import ResultStore, ensure_schema
from .runner import JobRunner
from .store import CANCELLED, ViralStore

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["ViralIdeasProcessor"]

log = logging.getLogger("viralspot.viral")
IDLE_HORIZON_SECONDS = 60.0


class ViralIdeasProcessor(Processor):
    name = "viral"

    def __init__(self, runtime: "Runtime", *, poll_seconds: float = 1.0) -> None:
        super().__init__(runtime)
        self.store = ViralStore(runtime.db, runtime.clock)
        self.results = ResultStore(runtime.db, runtime.clock)
        self.owner = f"{runtime.instance_id}:viral"
        self.poll_seconds = poll_seconds
        self.lease_seconds = runtime.settings.queue.lease_seconds
        self.max_jobs = runtime.settings.viral.max_concurrent_jobs
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._view: dict[int, JobView] = {}
        self._cancelled: set[int] = set()  # jobs whose task was cancelled because an operator cancelled them
        self._unsubscribe = runtime.events.subscribe(self._on_event)

    # ------------------------------------------------------------------ main loop
    async def run(self, control: ProcessorControl) -> None:
        await ensure_schema(self.runtime.db)
        await self.store.recover_expired()
        heartbeat = asyncio.create_task(self._heartbeat(), name="viral:heartbeat")
        try:
            while not control.stopping:
                await self.refresh_view()
                if not control.paused:
                    await self._dispatch(control)
                await control.sleep(self.poll_seconds)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _dispatch(self, control: ProcessorControl) -> None:
        free = self.max_jobs - len(self.tasks)
        if free <= 0:
            return
        await self.store.recover_expired()
        if control.stopping or control.paused:
            return
        claimed = await self.store.claim(self.owner, self.lease_seconds, free)
        if control.stopping:  # stop arrived during the claim: hand the jobs straight back
            for job in claimed:
                await self.store.release(job.id, self.owner)
            return
        for job in claimed:
            task = asyncio.create_task(self._run_job(job, control), name=f"viral:job:{job.id}")
            self.tasks[job.id] = task
        if self.tasks:
            await self.refresh_view()

    async def _run_job(self, job: Job, control: ProcessorControl) -> None:
        runner = JobRunner(
            self.runtime, self.store, self.results, self.owner, boundary=lambda: self._boundary(job, control)
        )
        try:
            await runner.run(job)
        except (Stopping, asyncio.CancelledError):
            if job.id in self._cancelled:  # the operator's cancel, not a hand-back: it stays failed
                self.runtime.events.emit("viral.stopped", f"job {job.id} stopped (cancelled)", job_id=job.id)
            else:
                self.runtime.events.emit(
                    "viral.released", f"job {job.id} handed back; it resumes from its checkpoints", job_id=job.id
                )
        except Exception:  # noqa: BLE001 - the runner records failures; this is a last resort
            log.exception("viral job %s task failed", job.id)
        finally:
            self.tasks.pop(job.id, None)
            self._cancelled.discard(job.id)
            control.wake()  # a slot is free: look for more work now

    async def _boundary(self, job: Job, control: ProcessorControl) -> None:
        """Between stages: wait here while paused, showing the job as paused."""
        if not control.paused:
            return
        view = self._view.get(job.id)
        stage, progress = (view.stage, view.progress) if view else (job.stage, job.progress)
        await self.store.set_progress(job.id, self.owner, stage, progress, JobStatus.PAUSED)
        self._patch(job.id, status=JobStatus.PAUSED.value)
        self.runtime.events.emit("viral.paused", f"job {job.id} paused at {stage}", job_id=job.id)
        await control.wait_resumed()  # raises Stopping if a stop comes while paused
        await self.store.set_progress(job.id, self.owner, stage, progress, JobStatus.PROCESSING)
        self._patch(job.id, status=JobStatus.PROCESSING.value)
        self.runtime.events.emit("viral.resumed", f"job {job.id} resumed at {stage}", job_id=job.id)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(max(0.5, self.lease_seconds / 3))
            for job_id, task in list(self.tasks.items()):
                try:
                    if not await self.store.renew(job_id, self.owner, self.lease_seconds):
                        log.warning("lease of viral job %s lost; stopping its work", job_id)
                        task.cancel()
                except Exception:  # noqa: BLE001 - try again at the next beat
                    log.exception("lease renewal failed for viral job %s", job_id)

    async def drain(self, grace_seconds: float) -> None:
        """Let running jobs finish within the grace period, then hand the rest back."""
        tasks = list(self.tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, grace_seconds))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._unsubscribe()

    # ------------------------------------------------------------------ state for UIs
    async def refresh_view(self) -> None:
        jobs = await self.store.list_jobs(limit=200)
        self._view = {job.id: JobView.of(job) for job in jobs}
        for job in jobs:  # cancelled by an operator (here or in another process): stop its work now
            task = self.tasks.get(job.id)
            if task is not None and job.status == JobStatus.FAILED and (job.error or "").startswith(CANCELLED):
                self._cancelled.add(job.id)
                task.cancel()

    def _patch(self, job_id: int, **fields: Any) -> None:
        if job_id in self._view:
            self._view[job_id] = replace(self._view[job_id], **fields)

    def _on_event(self, event: Event) -> None:
        if event.kind == "viral.progress":
            self._patch(
                event.data["job_id"],
                stage=event.data["stage"],
                progress=event.data["progress"],
                status=JobStatus.PROCESSING.value,
            )

    def snapshot(self) -> ViralSnapshot:
        jobs = tuple(sorted(self._view.values(), key=lambda j: -j.id))
        return ViralSnapshot(jobs=jobs, running=len(self.tasks), max_concurrent_jobs=self.max_jobs)

    async def is_idle(self) -> bool:
        if self.tasks:
            return False
        return await self.store.next_due(IDLE_HORIZON_SECONDS) == 0
