"""Durable state of viral ideas jobs: the job queue and per-competitor outcomes (V1, V2).

Jobs are claimed with a lease exactly like queue items (docs/queue.md, "Leases"), because the engine and an
``analyze --wait`` in another shell may both look for work: the claim is one conditional
UPDATE, so only one of them wins, and a job whose worker died (lease expired) goes back to
``pending`` and resumes from its checkpoints. Every method is one round trip to the database
thread. Per-run results live in :mod:`.results`; the tables of both are declared in
core/store/migrations/ (see docs/schema.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..clock import Clock, from_iso, to_iso
from ..store.database import Database
from ..store.leases import JOBS, fenced_update_sync, recover_sync
from .models import CANCELLED, CompetitorState, ContentStrategy, Job, JobStatus, Stage

__all__ = ["ViralStore", "JobNotFound", "JobBusy", "CANCELLED"]

_COLUMNS = (
    "id, primary_username, content_strategy, status, stage, progress, error, runs, auto_rerun, "
    "rerun_every_hours, next_run_at, created_at, updated_at, started_at, completed_at"
)


class JobNotFound(LookupError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"no viral ideas job with id {job_id}")


class JobBusy(RuntimeError):
    """The job is being processed by another live worker (its lease has not expired)."""


def _job(conn: sqlite3.Connection, row: sqlite3.Row) -> Job:
    comps = conn.execute(
        "SELECT username, status, error FROM viral_ideas_competitors WHERE job_id = ? ORDER BY position", (row["id"],)
    ).fetchall()
    return Job(
        id=row["id"],
        primary_username=row["primary_username"],
        competitors=[c["username"] for c in comps],
        content_strategy=ContentStrategy.model_validate_json(row["content_strategy"]),
        status=JobStatus(row["status"]),
        stage=row["stage"],
        progress=row["progress"],
        error=row["error"],
        runs=row["runs"],
        auto_rerun=bool(row["auto_rerun"]),
        rerun_every_hours=row["rerun_every_hours"],
        next_run_at=from_iso(row["next_run_at"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        started_at=from_iso(row["started_at"]),
        completed_at=from_iso(row["completed_at"]),
        competitor_states=[
            CompetitorState(username=c["username"], status=c["status"], error=c["error"]) for c in comps
        ],
    )


def _get(conn: sqlite3.Connection, job_id: int) -> Job | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM viral_ideas_queue WHERE id = ?", (job_id,)).fetchone()
    return _job(conn, row) if row else None


# Which jobs may be claimed at ``now``: new/released work, and recurring runs that are due.
_CLAIMABLE = """
    (status = 'pending' AND (next_run_at IS NULL OR next_run_at <= :now))
 OR (status IN ('completed','failed') AND auto_rerun = 1 AND runs > 0 AND next_run_at <= :now)
"""


class ViralStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _now(self) -> str:
        return to_iso(self.clock.now())  # type: ignore[return-value]

    # ------------------------------------------------------------------ jobs
    async def create_job(
        self,
        primary: str,
        competitors: list[str],
        strategy: ContentStrategy,
        auto_rerun: bool,
        rerun_every_hours: float,
        *,
        also: Callable[[sqlite3.Connection, int], None] | None = None,
    ) -> Job:
        """Insert a pending job; inputs are validated by building the :class:`Job` first.

        ``also(conn, job_id)`` runs in the same transaction: the Supabase backend records a
        web-form job's lease with it, so a crash never leaves one without the other."""
        now = self.clock.now()
        Job(
            id=0,
            primary_username=primary,
            competitors=competitors,
            content_strategy=strategy,
            auto_rerun=auto_rerun,
            rerun_every_hours=rerun_every_hours,
            created_at=now,
            updated_at=now,
        )
        iso = to_iso(now)

        def write(conn: sqlite3.Connection) -> Job:
            job_id = conn.execute(
                "INSERT INTO viral_ideas_queue (primary_username, content_strategy, status, auto_rerun,"
                " rerun_every_hours, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?)",
                (primary, strategy.model_dump_json(), int(auto_rerun), rerun_every_hours, iso, iso),
            ).lastrowid
            conn.executemany(
                "INSERT INTO viral_ideas_competitors (job_id, username, position, updated_at) VALUES (?, ?, ?, ?)",
                [(job_id, name, i, iso) for i, name in enumerate(competitors)],
            )
            if also is not None:
                also(conn, int(job_id or 0))
            job = _get(conn, int(job_id or 0))
            assert job is not None
            return job

        return await self.db.write(write)

    async def get_job(self, job_id: int) -> Job | None:
        return await self.db.read(_get, job_id)

    async def list_jobs(self, limit: int = 500) -> list[Job]:
        def read(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM viral_ideas_queue ORDER BY id DESC LIMIT ?", (limit,))
            return [_job(conn, r) for r in rows.fetchall()]

        return await self.db.read(read)

    async def claim(self, owner: str, lease_seconds: float, limit: int, job_id: int | None = None) -> list[Job]:
        """Atomically take up to ``limit`` claimable jobs (oldest first), or the one ``job_id``.

        ``owner`` must be fresh for this claim (:func:`~viralspot_tui.core.store.leases.claim_owner`):
        with the row id it is the fencing token every later write of this claim must present.
        """
        now = self.clock.now()
        params: dict[str, Any] = {
            "now": to_iso(now),
            "owner": owner,
            "limit": limit,
            "expires": to_iso(now + timedelta(seconds=lease_seconds)),
            "id": job_id,
        }

        def write(conn: sqlite3.Connection) -> list[Job]:
            where = f"({_CLAIMABLE})" + (" AND id = :id" if job_id is not None else "")
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM viral_ideas_queue WHERE {where} ORDER BY COALESCE(next_run_at, created_at), id"
                    " LIMIT :limit",
                    params,
                )
            ]
            for jid in ids:
                conn.execute(
                    "UPDATE viral_ideas_queue SET status = 'processing', lease_owner = :owner,"
                    " lease_expires_at = :expires, error = NULL, updated_at = :now, progress = 0, stage = 'queued',"
                    " started_at = :now, completed_at = NULL WHERE id = :jid",
                    {**params, "jid": jid},
                )
            return [j for j in (_get(conn, jid) for jid in ids) if j is not None]

        return await self.db.write(write)

    async def _owned_update(self, job_id: int, owner: str, sql: str, values: dict[str, Any]) -> bool:
        """Apply ``SET sql`` only while ``owner`` still holds the lease (a fencing token, docs/leases.md)."""
        return await self.db.write(fenced_update_sync, JOBS, job_id, owner, self._now(), sql, values)

    async def renew(self, job_id: int, owner: str, lease_seconds: float) -> bool:
        """Extend one job's lease (the engine renews through the one LeaseKeeper instead)."""
        expires = to_iso(self.clock.now() + timedelta(seconds=lease_seconds))
        return await self._owned_update(job_id, owner, "lease_expires_at = :expires", {"expires": expires})

    async def set_progress(
        self, job_id: int, owner: str, stage: str, progress: int, status: JobStatus = JobStatus.PROCESSING
    ) -> bool:
        # Concurrent steps may report out of order: progress never goes backwards within a claim.
        return await self._owned_update(
            job_id,
            owner,
            "stage = CASE WHEN :progress >= progress THEN :stage ELSE stage END,"
            " progress = MAX(progress, :progress), status = :status",
            {"stage": stage, "progress": max(0, min(100, progress)), "status": status.value},
        )

    async def finish(
        self, job_id: int, owner: str, next_run_at: datetime | None, result_id: int, notes: str | None = None
    ) -> bool:
        """The run completed: mark the run and the job, count it, schedule the next one, release the lease.

        One transaction, so a crash can never leave a completed run under a job that will run it
        again; a lost lease (another worker took over) changes nothing.
        """
        now = self._now()
        params = {
            "id": job_id,
            "owner": owner,
            "now": now,
            "stage": Stage.DONE.value,
            "next": to_iso(next_run_at),
            "rid": result_id,
            "notes": notes,
        }

        def write(conn: sqlite3.Connection) -> bool:
            done = fenced_update_sync(
                conn,
                JOBS,
                job_id,
                owner,
                now,
                "status = 'completed', stage = :stage, progress = 100, runs = runs + 1, error = NULL,"
                f" next_run_at = :next, completed_at = :now, {JOBS.clear}",
                params,
            )
            if done:
                conn.execute(
                    "UPDATE viral_analysis_results SET status = 'completed', error = NULL,"
                    " notes = COALESCE(:notes, notes), completed_at = :now WHERE id = :rid",
                    params,
                )
            return done

        return await self.db.write(write)

    async def fail(self, job_id: int, owner: str, error: str, next_run_at: datetime | None = None) -> bool:
        return await self._owned_update(
            job_id,
            owner,
            # The stage and progress stay where the run failed: the operator sees how far it got.
            "status = 'failed', error = :error, next_run_at = :next,"
            " completed_at = :now, lease_owner = NULL, lease_expires_at = NULL",
            {"error": error[:2000], "next": to_iso(next_run_at)},
        )

    async def release(
        self, job_id: int, owner: str, not_before: datetime | None = None, error: str | None = None
    ) -> bool:
        """Hand an unfinished job back (shutdown, quota parking); checkpoints keep its progress."""
        return await self._owned_update(
            job_id,
            owner,
            "status = 'pending', lease_owner = NULL, lease_expires_at = NULL, next_run_at = :next, error = :error",
            {"next": to_iso(not_before), "error": error},
        )

    async def retry(self, job_id: int) -> Job:
        """Operator retry of a failed job: back to pending; the failed run resumes where it stopped."""

        def write(conn: sqlite3.Connection) -> Job:
            job = _get(conn, job_id)
            if job is None:
                raise JobNotFound(job_id)
            if job.status != JobStatus.FAILED:
                raise ValueError(f"job {job_id} is {job.status.value}, only failed jobs can be retried")
            conn.execute(
                "UPDATE viral_ideas_queue SET status = 'pending', error = NULL, next_run_at = NULL,"
                " stage = :stage, updated_at = :now WHERE id = :id",
                {"id": job_id, "now": self._now(), "stage": Stage.QUEUED.value},
            )
            return _get(conn, job_id)  # type: ignore[return-value]

        return await self.db.write(write)

    async def rerun_now(self, job_id: int) -> Job:
        """Make a finished job's next run due now, leaving its schedule (``auto_rerun``) alone.

        The job goes back to ``pending`` with ``next_run_at`` = now, which is claimable whether or
        not re-runs are on; a schedule that is on resumes from the run's completion as before.
        """

        def write(conn: sqlite3.Connection) -> Job:
            job = _get(conn, job_id)
            if job is None:
                raise JobNotFound(job_id)
            if job.runs == 0 or job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
                raise ValueError(f"job {job_id} has no finished run to repeat (status {job.status.value})")
            now = self._now()
            conn.execute(
                "UPDATE viral_ideas_queue SET status = 'pending', error = NULL, next_run_at = :now,"
                " stage = :stage, updated_at = :now WHERE id = :id",
                {"id": job_id, "now": now, "stage": Stage.QUEUED.value},
            )
            return _get(conn, job_id)  # type: ignore[return-value]

        return await self.db.write(write)

    async def set_schedule(self, job_id: int, every_hours: float | None) -> Job:
        """Re-runs every ``every_hours`` (the next one that long from now), or off (``None``).

        A job that has not finished a run yet only records the setting: its first completion
        schedules the next run. Turning re-runs off clears a finished job's ``next_run_at``; a
        pending job keeps its own (a quota wait is not a schedule).
        """

        def write(conn: sqlite3.Connection) -> Job:
            job = _get(conn, job_id)
            if job is None:
                raise JobNotFound(job_id)
            finished = job.runs > 0 and job.status in (JobStatus.COMPLETED, JobStatus.FAILED)
            now = self.clock.now()
            if every_hours is None:
                conn.execute(
                    "UPDATE viral_ideas_queue SET auto_rerun = 0, updated_at = :now,"
                    " next_run_at = CASE WHEN :finished THEN NULL ELSE next_run_at END WHERE id = :id",
                    {"id": job_id, "now": to_iso(now), "finished": int(finished)},
                )
            else:
                conn.execute(
                    "UPDATE viral_ideas_queue SET auto_rerun = 1, rerun_every_hours = :every, updated_at = :now,"
                    " next_run_at = CASE WHEN :finished THEN :next ELSE next_run_at END WHERE id = :id",
                    {
                        "id": job_id,
                        "every": every_hours,
                        "now": to_iso(now),
                        "finished": int(finished),
                        "next": to_iso(now + timedelta(hours=every_hours)),
                    },
                )
            return _get(conn, job_id)  # type: ignore[return-value]

        return await self.db.write(write)

    async def cancel(self, job_id: int, reason: str) -> tuple[Job, bool]:
        """Stop a job: an unfinished run ends ``failed`` with ``reason``, and re-runs are turned off.

        Returns the job and whether a run was stopped (``False``: only its schedule was turned
        off). Clearing the lease is what stops a worker: its next renewal fails and its task is
        cancelled, and every later write of that worker is fenced out. Stage and progress stay,
        so the operator sees where it stopped; ``jobs retry`` resumes it from its checkpoints.
        Raises ``ValueError`` when there is nothing to stop.
        """

        def write(conn: sqlite3.Connection) -> tuple[Job, bool]:
            job = _get(conn, job_id)
            if job is None:
                raise JobNotFound(job_id)
            now = self._now()
            running = job.status in (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.PAUSED)
            if not running and not job.auto_rerun:
                raise ValueError(f"job {job_id} is {job.status.value} and has no re-runs scheduled: nothing to cancel")
            if running:
                conn.execute(
                    "UPDATE viral_ideas_queue SET status = 'failed', error = :error, auto_rerun = 0, next_run_at = NULL,"
                    " lease_owner = NULL, lease_expires_at = NULL, completed_at = :now, updated_at = :now"
                    " WHERE id = :id",
                    {"id": job_id, "now": now, "error": reason},
                )
                conn.execute(
                    "UPDATE viral_analysis_results SET status = 'failed', error = :error, completed_at = :now"
                    " WHERE job_id = :id AND status NOT IN ('completed', 'failed')",
                    {"id": job_id, "now": now, "error": reason},
                )
            else:
                conn.execute(
                    "UPDATE viral_ideas_queue SET auto_rerun = 0, next_run_at = NULL, updated_at = :now WHERE id = :id",
                    {"id": job_id, "now": now},
                )
            return _get(conn, job_id), running  # type: ignore[return-value]

        return await self.db.write(write)

    async def recover_expired(self) -> int:
        """Jobs whose worker vanished (lease expired, or its process died on this machine) return
        to pending, to resume from checkpoints: the jobs' part of the LeaseKeeper's recovery."""
        recovered = await self.db.write(partial(recover_sync, tables=(JOBS,)), self._now())
        return len(recovered.get(JOBS.name, []))

    async def set_competitor(self, job_id: int, username: str, status: str, error: str | None = None) -> None:
        now = self._now()
        await self.db.write(
            lambda c: c.execute(
                "UPDATE viral_ideas_competitors SET status = ?, error = ?, updated_at = ? WHERE job_id = ? AND username = ?",
                (status, error[:1000] if error else None, now, job_id, username),
            )
        )

    async def next_due(self, within_seconds: float) -> int:
        """How many jobs are claimable now or become due within ``within_seconds`` (for idleness)."""
        soon = to_iso(self.clock.now() + timedelta(seconds=within_seconds))
        return await self.db.read(
            lambda c: c.execute(
                f"SELECT COUNT(*) FROM viral_ideas_queue WHERE ({_CLAIMABLE}) OR status IN ('processing','paused')",
                {"now": soon},
            ).fetchone()[0]
        )
