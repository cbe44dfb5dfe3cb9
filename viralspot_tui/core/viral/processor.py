"""The Viral Ideas Processor: runs analysis jobs and their recurring re-runs (docs/viral.md).

It claims pending jobs and recurring jobs that are due (``next_run_at``), runs up to
``max_concurrent_jobs`` at once, each as its own task, and registers their leases with the
process's one :class:`~viralspot_tui.core.lease_keeper.LeaseKeeper`, which renews them and hands
back the jobs of a crashed process to be resumed from their checkpoints (docs/leases.md). Pause is
honoured at stage boundaries: a paused job shows ``paused`` and continues where it stopped on
resume. Shutdown lets running jobs finish within the grace period, then hands the rest back to
``pending`` — their checkpoints keep every finished call.

Calls a job makes are HIGH when an operator asked for the job (console, CLI) and LOW when it
is a scheduled re-run (:func:`job_priority`), so a re-run never delays urgent work at the
shared rate limiter (see docs/priority.md).

``snapshot()`` must be free for a UI to call, so it serves an in-memory view refreshed from the
database on every loop and patched by the runner's own progress events in between.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..lease_keeper import LeaseHolder, LeaseKeeper, Recovered
from ..models.queue import Priority
from ..processors.base import Processor, ProcessorControl, Stopping
from ..providers.priority import call_priority
from ..store.leases import JOBS, Lease, claim_owner
from ..views import JobView, ViralSnapshot
from .models import Job, JobStatus
from .results import ResultStore
from .runner import JobRunner
from .store import CANCELLED, ViralStore

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["ViralIdeasProcessor", "job_priority"]

log = logging.getLogger("viralspot.viral")
IDLE_HORIZON_SECONDS = 60.0


def job_priority(job: Job) -> Priority:
    """LOW for a due recurring re-run (a finished auto-rerun job whose next run came round),
    HIGH for a job an operator created or retried (it is pending, with no run time set)."""
    scheduled = job.auto_rerun and job.runs > 0 and job.next_run_at is not None
    return Priority.LOW if scheduled else Priority.HIGH


class ViralIdeasProcessor(Processor):
    name = "viral"

    def __init__(self, runtime: "Runtime", *, poll_seconds: float = 1.0) -> None:
        super().__init__(runtime)
        self.store = ViralStore(runtime.db, runtime.clock)
        self.results = ResultStore(runtime.db, runtime.clock)
        self.owners: dict[int, str] = {}  # job id -> the lease owner of its current claim
        self.poll_seconds = poll_seconds
        self.lease_seconds = runtime.settings.queue.lease_seconds
        self.max_jobs = runtime.settings.viral.max_concurrent_jobs
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._view: dict[int, JobView] = {}
        self._cancelled: set[int] = set()  # jobs whose task was cancelled because an operator cancelled them
        self._unsubscribe = runtime.events.subscribe(self._on_event)
        self._leases: LeaseHolder | None = None

    # ------------------------------------------------------------------ main loop
    async def run(self, control: ProcessorControl) -> None:
        keeper = LeaseKeeper.of(self.runtime)
        if self._leases is None:
            self._leases = keeper.register(
                "viral",
                self._held_leases,
                lease_seconds=self.lease_seconds,
                on_lost=self._lease_lost,
                on_recovered=lambda recovered: self._recovered(recovered, control),
                recover_every=self.poll_seconds,
            )
        await keeper.recover()  # start-up: a dead process's jobs come back at once
        try:
            while not control.stopping:
                await self.refresh_view()
                if not control.paused:
                    await self._dispatch(control)
                await control.sleep(self.poll_seconds)
        finally:
            if not control.stopping or not self.tasks:  # else drain() keeps the leases alive
                self._close_leases()

    async def _dispatch(self, control: ProcessorControl) -> None:
        free = self.max_jobs - len(self.tasks)
        if free <= 0:
            return
        if control.stopping or control.paused:
            return
        owner = claim_owner(self.runtime.instance_id, "viral")
        claimed = await self.store.claim(owner, self.lease_seconds, free)
        if control.stopping:  # stop arrived during the claim: hand the jobs straight back
            for job in claimed:
                await self.store.release(job.id, owner)
            return
        for job in claimed:
            self.owners[job.id] = owner
            task = asyncio.create_task(self._run_job(job, control), name=f"viral:job:{job.id}")
            self.tasks[job.id] = task
        if self.tasks:
            await self.refresh_view()

    async def _run_job(self, job: Job, control: ProcessorControl) -> None:
        runner = JobRunner(
            self.runtime, self.store, self.results, self.owners[job.id], boundary=lambda: self._boundary(job, control)
        )
        try:
            with call_priority(job_priority(job)):
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
            self.owners.pop(job.id, None)
            self._cancelled.discard(job.id)
            control.wake()  # a slot is free: look for more work now

    async def _boundary(self, job: Job, control: ProcessorControl) -> None:
        """Between stages: wait here while paused, showing the job as paused."""
        if not control.paused:
            return
        view = self._view.get(job.id)
        stage, progress = (view.stage, view.progress) if view else (job.stage, job.progress)
        owner = self.owners[job.id]
        await self.store.set_progress(job.id, owner, stage, progress, JobStatus.PAUSED)
        self._patch(job.id, status=JobStatus.PAUSED.value)
        self.runtime.events.emit("viral.paused", f"job {job.id} paused at {stage}", job_id=job.id)
        await control.wait_resumed()  # raises Stopping if a stop comes while paused
        await self.store.set_progress(job.id, owner, stage, progress, JobStatus.PROCESSING)
        self._patch(job.id, status=JobStatus.PROCESSING.value)
        self.runtime.events.emit("viral.resumed", f"job {job.id} resumed at {stage}", job_id=job.id)

    # ------------------------------------------------------------------ leases (docs/leases.md)
    def _held_leases(self) -> list[Lease]:
        return [Lease(JOBS, job_id, owner) for job_id, owner in self.owners.items() if job_id in self.tasks]

    def _lease_lost(self, lease: Lease) -> None:
        task = self.tasks.get(lease.row_id)
        if task is not None and self.owners.get(lease.row_id) == lease.owner:
            log.warning("lease of viral job %s lost; stopping its work", lease.row_id)
            task.cancel()

    def _recovered(self, recovered: Recovered, control: ProcessorControl) -> None:
        jobs = recovered.get(JOBS.name)
        if jobs:
            self.runtime.events.emit(
                "viral.recovered", f"{len(jobs)} job(s) of a stopped worker will resume", job_ids=jobs[:20]
            )
            control.wake()

    def _close_leases(self) -> None:
        holder, self._leases = self._leases, None
        if holder is not None:
            holder.close()

    async def drain(self, grace_seconds: float) -> None:
        """Let running jobs finish within the grace period, then hand the rest back."""
        tasks = list(self.tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, grace_seconds))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._close_leases()
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
