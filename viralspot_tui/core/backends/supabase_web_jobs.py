"""Viral jobs from the ViralSpot web form, taken, renewed and reported by the Supabase backend.

The web form writes a job to ``viral_ideas_queue`` (status ``pending``) with its competitors. A
console that runs the viral processor takes it with the fenced ``viral_job_claim`` and records
it as an ordinary local job plus a ``web_form_jobs`` row (SQLite migration 0006) in one
transaction, so the processor runs it like any other. From then on, one cheap step per sync
(docs/supabase-results.md, "Web-form jobs"):

- **Renew** the leases of the jobs the server knows as ``processing`` (one call for all, every
  third of ``supabase.job_lease_seconds``). A token reported lost belongs to another console
  now: the local run is cancelled and nothing more about the job is reported.
- **Report** what the local job did. Its rows go through the outbox under the web form's
  ``session_id`` (the pusher looks it up here); the status and run columns are written only by
  the fenced calls (``WEB_FORM_OWNED`` in the mapping). A finished run is reported with
  ``viral_job_finish`` once the outbox has delivered every change made up to the finish, so the
  web form never sees a job completed whose results are still on the way. A re-run (the job's
  schedule, or an operator's retry) first takes the job back with ``viral_job_rerun``.
- **Claim** as many jobs as the viral processor has free slots, every few seconds.

A stopped console keeps its leases: restarted within the lease it renews them and resumes the
jobs from their checkpoints; otherwise another console takes them over (the claim's ``stale``
branch). A claim whose answer is lost leaves its jobs leased to nobody until the lease runs out.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ..clock import to_iso
from .supabase_client import SupabaseError, SupabaseQueue

__all__ = ["WebFormJobs", "sessions_sync", "tracked_sync", "TrackedJob"]

log = logging.getLogger("viralspot.supabase")
CLAIM_EVERY_SECONDS = 5.0
ACTIVE = ("pending", "processing", "paused")


class ClaimedJob(BaseModel):
    job: dict[str, Any]
    competitors: list[dict[str, Any]]
    token: str
    lease_expires_at: datetime


class JobRenewal(BaseModel):
    renewed: list[str]
    lost: list[str]


class JobOutcome(BaseModel):
    ok: bool
    outcome: Literal["finished", "already", "stale", "leased"]
    status: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TrackedJob:
    job_id: int
    session_id: str
    token: str
    remote_state: str
    reported_runs: int
    finish_after_seq: int | None
    status: str  # the local job's
    runs: int
    error: str | None


_TRACKED = (
    "SELECT w.job_id, w.session_id, w.lease_token, w.remote_state, w.reported_runs, w.finish_after_seq,"
    " q.status, q.runs, q.error FROM web_form_jobs w JOIN viral_ideas_queue q ON q.id = w.job_id"
)


def tracked_sync(conn: sqlite3.Connection) -> list[TrackedJob]:
    """Every web-form job still reported on (not lost), with its local job's status."""
    rows = conn.execute(_TRACKED + " WHERE w.remote_state <> 'lost' ORDER BY w.job_id").fetchall()
    return [TrackedJob(*tuple(r)) for r in rows]


def _by_session_sync(conn: sqlite3.Connection, session_id: str) -> TrackedJob | None:
    """The web-form job this database already runs under ``session_id`` (lost ones included)."""
    row = conn.execute(_TRACKED + " WHERE w.session_id = ?", (session_id,)).fetchone()
    return None if row is None else TrackedJob(*tuple(row))


def _unreported(job: TrackedJob) -> bool:
    """A finished local run the server has not been told of (the job is not active here)."""
    if job.remote_state == "processing":
        return True
    if job.status == "completed":
        return job.runs > job.reported_runs
    return job.status == "failed" and job.remote_state == "completed"  # a re-run that failed between two syncs


def sessions_sync(conn: sqlite3.Connection) -> dict[int, str]:
    """Local job id → the web form's session_id, for the pusher's mapping."""
    return {int(r[0]): str(r[1]) for r in conn.execute("SELECT job_id, session_id FROM web_form_jobs")}


def _free_sync(conn: sqlite3.Connection, slots: int) -> int:
    busy = conn.execute(
        "SELECT count(*) FROM viral_ideas_queue WHERE status IN (SELECT value FROM json_each(?))",
        (json.dumps(ACTIVE),),
    ).fetchone()[0]
    return slots - int(busy)


def _record_sync(conn: sqlite3.Connection, job_id: int, claimed: ClaimedJob, now: str) -> None:
    conn.execute(
        "INSERT INTO web_form_jobs (job_id, session_id, remote_id, lease_token, lease_expires_at, claimed_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET"
        " lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at,"
        " remote_state = 'processing', finish_after_seq = NULL, note = NULL, updated_at = excluded.updated_at",
        (
            job_id,
            str(claimed.job["session_id"]),
            str(claimed.job["id"]),
            claimed.token,
            to_iso(claimed.lease_expires_at),
            now,
            now,
        ),
    )


_SETTABLE = frozenset({"remote_state", "reported_runs", "finish_after_seq", "note"})


def _set_sync(conn: sqlite3.Connection, job_id: int, now: str, fields: dict[str, Any]) -> None:
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"web_form_jobs: {sorted(unknown)} cannot be set")
    assigns = ", ".join(f"{name} = :{name}" for name in fields)  # names checked against _SETTABLE
    conn.execute(
        f"UPDATE web_form_jobs SET {assigns}, updated_at = :now WHERE job_id = :id",
        {**fields, "now": now, "id": job_id},
    )


class WebFormJobs:
    """The web-form job step of one Supabase backend (see the module docstring)."""

    def __init__(self, runtime: Any, client: SupabaseQueue, owner: str, note: Callable[..., None]) -> None:
        self.runtime = runtime
        self.client = client
        self.owner = owner
        self._note = note
        settings = runtime.settings
        self.lease_seconds = settings.supabase.job_lease_seconds
        names = runtime.processors
        self.takes = settings.supabase.web_form_jobs and (names is None or "viral" in names)
        self.claimed_total = 0
        self._last_claim = 0.0
        self._last_renewal = time.monotonic()  # a claim's lease is fresh: the first renewal is due in lease/3

    def _now(self) -> str:
        return str(to_iso(self.runtime.clock.now()))

    async def _set(self, job_id: int, **fields: Any) -> None:
        await self.runtime.db.write(_set_sync, job_id, self._now(), fields)

    async def step(self, *, paused: bool = False) -> None:
        """Renew, report, then claim (unless the shared queue is paused)."""
        await self.renew()
        await self.report()
        if self.takes and not paused:
            await self.claim()

    # ------------------------------------------------------------------ claim
    async def claim(self, *, force: bool = False) -> int:
        if not force and time.monotonic() - self._last_claim < CLAIM_EVERY_SECONDS:
            return 0
        self._last_claim = time.monotonic()
        free = await self.runtime.db.read(_free_sync, self.runtime.settings.viral.max_concurrent_jobs)
        if free <= 0:
            return 0
        data = await self.client.call(
            "viral_job_claim", p_owner=self.owner, p_limit=free, p_lease_seconds=self.lease_seconds
        )
        claimed = _parse_list(data)
        for job in claimed:
            await self._adopt(job)
        if claimed:
            self.claimed_total += len(claimed)
            self._last_claim = 0.0  # there may be more: look again at the next sync
        return len(claimed)

    async def _adopt(self, claimed: ClaimedJob) -> None:
        """The claimed job as a local job (or the local job it already is, resumed here)."""
        from ..viral import api
        from .supabase_mapping import MappingError, local_job_from_remote

        session = str(claimed.job.get("session_id"))
        known = await self.runtime.db.read(_by_session_sync, session)
        if known is not None:  # ours before: a restart, the lease ran out while away, or a new run asked for
            await self._take_back(known, claimed)
            return
        try:
            args = local_job_from_remote(claimed.job, claimed.competitors)
            job = await api.create_job(
                self.runtime,
                args.primary,
                args.competitors,
                args.strategy,
                args.auto_rerun,
                args.rerun_every_hours,
                also=lambda conn, job_id: _record_sync(conn, job_id, claimed, self._now()),
            )
        except (MappingError, ValueError) as exc:
            answer = await self._finish(claimed.token, "failed", f"not runnable: {exc}")
            self._note(f"web-form job {session} refused: {exc} (reported {answer.outcome})", level="warning")
            return
        self._note(f"took web-form job {session} for @{job.primary_username} (local job {job.id})")

    async def _take_back(self, before: TrackedJob, claimed: ClaimedJob) -> None:
        """A job this database ran before, claimed again: resume it, report it, or run it anew."""
        from ..viral import api

        job_id = before.job_id
        await self.runtime.db.write(_record_sync, job_id, claimed, self._now())
        if before.status in ACTIVE or _unreported(before):
            self._note(f"took web-form job {claimed.job['session_id']} back (local job {job_id})")
            return  # it runs on here, or its finished run is reported at the next step
        if before.status == "failed":
            await api.retry_job(self.runtime, job_id)
        else:
            await api.schedule_rerun_now(self.runtime, job_id)
        self._note(f"web-form job {claimed.job['session_id']} asked for again: local job {job_id} runs anew")

    # ------------------------------------------------------------------ renew
    async def renew(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_renewal < self.lease_seconds / 3:
            return
        jobs = [j for j in await self.runtime.db.read(tracked_sync) if j.remote_state == "processing"]
        self._last_renewal = time.monotonic()
        if not jobs:
            return
        data = await self.client.call(
            "viral_job_heartbeat", p_tokens=[j.token for j in jobs], p_lease_seconds=self.lease_seconds
        )
        answer = _parse(JobRenewal, data, "viral_job_heartbeat")
        lost = set(answer.lost)
        for job in jobs:
            if job.token in lost:
                await self._lost(job, "another console took the job over (its lease ran out here)")

    async def _lost(self, job: TrackedJob, why: str) -> None:
        from ..viral import api

        await self._set(job.job_id, remote_state="lost", note=why)
        if job.status in ACTIVE:
            await api.cancel_job(self.runtime, job.job_id)
        self._note(f"web-form job {job.session_id} (local job {job.job_id}): {why}", level="warning")

    # ------------------------------------------------------------------ report
    async def report(self) -> None:
        """Tell the server what each web-form job did since the last report."""
        tracked = await self.runtime.db.read(tracked_sync)
        if not tracked:
            return
        box = await self.runtime.db.read(_outbox_marks)
        for job in tracked:
            if job.status in ACTIVE:
                if job.remote_state in ("completed", "failed"):  # a re-run or a retry began here
                    await self._rerun(job)
                continue
            if not _unreported(job):
                continue
            if job.finish_after_seq is None:  # everything up to now, the run's results included
                await self._set(job.job_id, finish_after_seq=box[1])
                job = replace(job, finish_after_seq=box[1])
            if box[0] < (job.finish_after_seq or 0):
                continue  # its results are still in the outbox
            if job.remote_state != "processing" and not await self._rerun(job):
                continue  # a short re-run finished between two syncs: take the job back first
            await self._report_finish(job)

    async def _rerun(self, job: TrackedJob) -> bool:
        data = await self.client.call("viral_job_rerun", p_token=job.token, p_lease_seconds=self.lease_seconds)
        answer = _parse(JobOutcome, data, "viral_job_rerun")
        if not answer.ok:
            await self._lost(job, f"the web form's job changed meanwhile ({answer.reason or answer.status})")
            return False
        await self._set(job.job_id, remote_state="processing")
        return True

    async def _report_finish(self, job: TrackedJob) -> None:
        status = "completed" if job.status == "completed" else "failed"
        answer = await self._finish(job.token, status, job.error)
        if not answer.ok:
            await self._lost(job, f"could not report it {status}: {answer.reason or answer.status}")
            return
        await self._set(job.job_id, remote_state=status, reported_runs=job.runs, finish_after_seq=None)
        self._note(f"web-form job {job.session_id} reported {status}")

    async def _finish(self, token: str, status: str, error: str | None) -> JobOutcome:
        data = await self.client.call("viral_job_finish", p_token=token, p_status=status, p_error=error)
        return _parse(JobOutcome, data, "viral_job_finish")


def _outbox_marks(conn: sqlite3.Connection) -> tuple[int, int]:
    """(acked_through, the highest seq allocated) of the outbox."""
    from ..store.outbox_store import client_sync

    client = client_sync(conn)
    return client.acked_through, client.max_seq


def _parse(model: type[BaseModel], data: Any, function: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SupabaseError(
            f"Supabase {function}: unexpected answer ({exc.errors()[0]['loc']} {exc.errors()[0]['msg']});"
            " are the migrations current?",
            transient=False,
        ) from None


def _parse_list(data: Any) -> list[ClaimedJob]:
    if not isinstance(data, list):
        raise SupabaseError(f"Supabase viral_job_claim: expected a list, got {type(data).__name__}", transient=False)
    return [_parse(ClaimedJob, item, "viral_job_claim") for item in data]
