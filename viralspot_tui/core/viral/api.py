"""The Python API of viral ideas jobs — what the CLI, the console and scripts call (docs/viral.md).

Creating a job only records it: a running engine picks it up. ``run_job_now`` does the work in
the calling process instead (``analyze --wait`` with no engine running), through the very same
:class:`JobRunner` the processor uses, and claims the job with a lease first so an engine that
starts meanwhile cannot run it twice.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..lease_keeper import LeaseKeeper
from ..models.usernames import normalize_username
from ..store.leases import JOBS, Lease, claim_owner
from .models import MAX_COMPETITORS, MAX_RERUN_HOURS, MIN_COMPETITORS, ContentStrategy, Job, JobStatus
from .results import ResultStore
from .store import CANCELLED, JobBusy, JobNotFound, ViralStore

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from ..runtime import Runtime
    from .runner import RunOutcome

__all__ = [
    "create_job",
    "list_jobs",
    "get_job",
    "retry_job",
    "run_job_now",
    "schedule_rerun_now",
    "set_schedule",
    "cancel_job",
    "JobNotFound",
    "JobBusy",
]


async def _store(runtime: "Runtime") -> ViralStore:
    return ViralStore(runtime.db, runtime.clock)


def normalize_competitors(primary: str, competitors: list[str]) -> list[str]:
    """Validate every name, drop repeats (``@Bob`` and ``bob`` are one account), check the count."""
    names: list[str] = []
    for raw in competitors:
        name = normalize_username(raw)
        if name == primary:
            raise ValueError(f"@{name} is the primary creator and cannot also be a competitor")
        if name not in names:
            names.append(name)
    if not MIN_COMPETITORS <= len(names) <= MAX_COMPETITORS:
        raise ValueError(f"a job needs {MIN_COMPETITORS} to {MAX_COMPETITORS} competitors, got {len(names)}")
    return names


async def create_job(
    runtime: "Runtime",
    primary: str,
    competitors: list[str],
    strategy: ContentStrategy | None = None,
    auto_rerun: bool = False,
    rerun_every_hours: float | None = None,
    *,
    also: "Callable[[sqlite3.Connection, int], None] | None" = None,
) -> Job:
    """Record a pending job. Raises ``ValueError`` (with the reason) for invalid input.

    ``also`` runs in the job's own transaction (see :meth:`ViralStore.create_job`)."""
    name = normalize_username(primary)
    names = normalize_competitors(name, list(competitors))
    hours = runtime.settings.viral.rerun_every_hours if rerun_every_hours is None else rerun_every_hours
    check_rerun_hours(hours)
    job = await (await _store(runtime)).create_job(
        name, names, strategy or ContentStrategy(), auto_rerun, hours, also=also
    )
    runtime.events.emit(
        "viral.created", f"job {job.id} created for @{name} with {len(names)} competitor(s)", job_id=job.id
    )
    return job


async def list_jobs(runtime: "Runtime", limit: int = 500) -> list[Job]:
    return await (await _store(runtime)).list_jobs(limit)


async def get_job(runtime: "Runtime", job_id: int) -> Job:
    job = await (await _store(runtime)).get_job(job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


async def retry_job(runtime: "Runtime", job_id: int) -> Job:
    """A failed job goes back to pending; its failed run resumes at the stage that failed."""
    return await (await _store(runtime)).retry(job_id)


async def schedule_rerun_now(runtime: "Runtime", job_id: int) -> Job:
    """Make a finished job's next run due now; its schedule (``auto_rerun``) is left as it was."""
    return await (await _store(runtime)).rerun_now(job_id)


def check_rerun_hours(hours: float) -> float:
    if not 0 < hours <= MAX_RERUN_HOURS:  # also refuses NaN and infinity
        raise ValueError(f"rerun_every_hours must be more than 0 and at most {MAX_RERUN_HOURS:.0f}, got {hours}")
    return hours


async def set_schedule(runtime: "Runtime", job_id: int, every_hours: float | None) -> Job:
    """Re-run the job every ``every_hours`` (next one that long from now), or never (``None``)."""
    if every_hours is not None:
        check_rerun_hours(every_hours)
    return await (await _store(runtime)).set_schedule(job_id, every_hours)


async def cancel_job(runtime: "Runtime", job_id: int) -> tuple[Job, bool]:
    """Stop the job's unfinished run (if any) and turn its re-runs off; ``ValueError`` if idle.

    Returns the job and whether a run was stopped. A running worker notices within a poll and
    stops; nothing it does afterwards is stored (its lease is gone).
    """
    store = await _store(runtime)
    current = await get_job(runtime, job_id)
    reason = f"{CANCELLED} at {current.stage} ({current.progress}%)"
    job, stopped = await store.cancel(job_id, reason)
    runtime.events.emit(
        "viral.cancelled",
        f"job {job_id} @{job.primary_username}: " + (reason if stopped else "re-runs turned off"),
        level="warning",
        job_id=job_id,
    )
    return job, stopped


async def run_job_now(runtime: "Runtime", job_id: int) -> "RunOutcome":
    """Run the job's next run here and now (pending, or a recurring run that is due).

    Raises :class:`JobBusy` when the job is not claimable: another worker runs it, it already
    completed and is not due, or it failed (use :func:`retry_job` first).
    """
    from .runner import JobRunner  # the runner pulls in the AI client: only when work runs here

    store, results = await _store(runtime), ResultStore(runtime.db, runtime.clock)
    job = await get_job(runtime, job_id)
    owner = claim_owner(runtime.instance_id, "viral-now")
    lease = runtime.settings.queue.lease_seconds
    claimed = await store.claim(owner, lease, 1, job_id=job_id)
    if not claimed:
        raise JobBusy(
            f"job {job_id} is {job.status.value} and not due: nothing to run"
            + (f" (retry it first: viralspot jobs retry {job_id})" if job.status == JobStatus.FAILED else "")
        )
    # The same keeper as the engine's renews the lease (docs/leases.md); a lost lease stops the run.
    task = asyncio.current_task()

    def lost(_lease: Lease) -> None:
        if task is not None:
            task.cancel()

    holder = LeaseKeeper.of(runtime).register(
        "viral-now", lambda: (Lease(JOBS, job_id, owner),), lease_seconds=lease, on_lost=lost
    )
    try:
        return await JobRunner(runtime, store, results, owner).run(claimed[0])
    finally:
        holder.close()
