"""Viral ideas job actions: create, retry, re-run, cancel, schedule, list, details, export (docs/viral.md).

Creating or re-queuing a job records it and wakes the viral processor; ``run_job_here`` does the
work in this process when no engine runs (``analyze --wait``), through the same runner the
processor uses. Everything here goes through :mod:`viralspot_tui.core.viral.api`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..models.usernames import InvalidUsername, normalize_username
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..views import JobView
    from ..viral.models import ContentStrategy, Job
    from .link import EngineLink

__all__ = ["JobActions", "JobDetail"]


@dataclass
class JobDetail:
    """Everything the job detail screen shows, read once when it opens (and on refresh)."""

    job: JobView
    strategy: dict[str, Any] = field(default_factory=dict)
    competitor_states: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] | None = None
    reels: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[dict[str, Any]] = field(default_factory=list)


def _api() -> Any:
    """``viral.api``, imported on first use: control commands that never touch jobs (``queue
    add``, ``status``) do not pay for the viral models at start-up (docs/performance.md)."""
    from ..viral import api

    return api


def _strategy(value: ContentStrategy | dict[str, Any] | None) -> ContentStrategy:
    from ..viral.models import ContentStrategy

    if isinstance(value, ContentStrategy):
        return value
    try:
        return ContentStrategy(**{k: v for k, v in (value or {}).items() if v is not None})
    except ValueError as exc:
        raise OpError(f"invalid content strategy: {exc}", ErrorKind.USAGE) from None


def _repeats(raw: list[str]) -> list[str]:
    """Names given more than once (``@Bob`` and ``bob`` are one account), as the operator typed
    them after the first: the job keeps one of each, and says so."""
    seen: set[str] = set()
    repeats: list[str] = []
    for name in raw:
        key = normalize_username(name)
        if key in seen:
            repeats.append(name)
        seen.add(key)
    return repeats


class JobActions:
    runtime: "Runtime"
    link: "EngineLink"

    async def _where(self) -> tuple[str, tuple[str, ...]]:
        if await self.link.wake("viral"):
            return "the running engine picks it up now", ("viral",)
        hosted = await self.link.hosted()
        if hosted is not None and "viral" not in hosted:
            return "recorded (the running engine does not host the viral processor)", ()
        return "no engine is running: it starts with the next `viralspot run`, or use --wait", ()

    async def create_job(
        self,
        primary: str,
        competitors: list[str],
        strategy: ContentStrategy | dict[str, Any] | None = None,
        auto_rerun: bool = False,
        rerun_every_hours: float | None = None,
    ) -> OpResult:
        try:
            job = await _api().create_job(
                self.runtime, primary, list(competitors), _strategy(strategy), auto_rerun, rerun_every_hours
            )
        except (InvalidUsername, ValueError) as exc:
            raise OpError(str(exc), ErrorKind.USAGE) from None
        where, woke = await self._where()
        created = f"job {job.id} created: @{job.primary_username} vs {', '.join('@' + c for c in job.competitors)}"
        merged = _repeats(competitors)
        note = (f"merged repeated competitor name(s): {', '.join(merged)}",) if merged else ()
        return OpResult(created, lines=(created, *note, where), data=job, woke=woke)

    async def get_job(self, job_id: int) -> Job:
        try:
            return await _api().get_job(self.runtime, job_id)
        except _api().JobNotFound:
            raise OpError(f"job #{job_id} does not exist", ErrorKind.NOT_FOUND) from None

    async def _requeue(self, job_id: int, change: Any, what: str) -> OpResult:
        try:
            job = await change(self.runtime, job_id)
        except _api().JobNotFound:
            raise OpError(f"job #{job_id} does not exist", ErrorKind.NOT_FOUND) from None
        except ValueError as exc:  # not in a state that allows it (exit 2, as the command always said)
            raise OpError(str(exc), ErrorKind.USAGE) from None
        where, woke = await self._where()
        done = f"job {job.id} {what} (@{job.primary_username}, {job.runs} run(s) so far)"
        return OpResult(done, lines=(done, where), data=job, woke=woke)

    async def retry_job(self, job_id: int) -> OpResult:
        """A failed job back to pending; its failed run resumes at the stage that failed."""
        return await self._requeue(job_id, _api().retry_job, "back to pending")

    async def rerun_job(self, job_id: int) -> OpResult:
        """A finished job's next run now (only reels new since the last run are analysed)."""
        return await self._requeue(job_id, _api().schedule_rerun_now, "due now")

    async def cancel_job(self, job_id: int) -> OpResult:
        """Stop a job: its unfinished run ends (``failed``, resumable with retry), re-runs go off."""
        try:
            job, stopped = await _api().cancel_job(self.runtime, job_id)
        except _api().JobNotFound:
            raise OpError(f"job #{job_id} does not exist", ErrorKind.NOT_FOUND) from None
        except ValueError as exc:  # nothing to stop: valid, but not in this state
            raise OpError(str(exc), ErrorKind.REFUSED) from None
        await self.link.wake("viral")  # a running engine stops the job's work at once
        if stopped:
            done = f"job {job.id} cancelled (@{job.primary_username}, stopped at {job.stage} {job.progress}%)"
            return OpResult(
                done, lines=(done, f"re-runs are off; `viralspot jobs retry {job.id}` resumes it"), data=job
            )
        return OpResult(f"job {job.id} re-runs turned off (@{job.primary_username}, {job.runs} run(s))", data=job)

    async def schedule_job(self, job_id: int, every_hours: float | None) -> OpResult:
        """Turn a job's re-runs on (every ``every_hours``) or off (``None``)."""
        try:
            job = await _api().set_schedule(self.runtime, job_id, every_hours)
        except _api().JobNotFound:
            raise OpError(f"job #{job_id} does not exist", ErrorKind.NOT_FOUND) from None
        except ValueError as exc:
            raise OpError(str(exc), ErrorKind.USAGE) from None
        await self.link.wake("viral")
        if not job.auto_rerun:
            return OpResult(f"job {job.id} re-runs turned off (@{job.primary_username})", data=job)
        when = f"next run {job.next_run_at:%Y-%m-%d %H:%M} UTC" if job.next_run_at else "after its current run"
        return OpResult(
            f"job {job.id} re-runs every {job.rerun_every_hours:g} h (@{job.primary_username}, {when})", data=job
        )

    async def list_jobs(self, limit: int = 500) -> OpResult:
        jobs = await _api().list_jobs(self.runtime, limit)
        return OpResult(f"{len(jobs)} job(s)", data=jobs)

    async def run_job_here(self, job_id: int) -> Job:
        """Run the job's next run in this process (needs providers); raises ``api.JobBusy``."""
        await _api().run_job_now(self.runtime, job_id)
        return await self.get_job(job_id)

    async def export_job(self, job_id: int, fmt: str = "md", run_number: int | None = None) -> str:
        from ..viral.export import NoResults, export_bundle, render

        if fmt not in ("md", "json"):
            raise OpError(f"unknown export format {fmt!r}: choose md or json", ErrorKind.USAGE)
        try:
            return render(await export_bundle(self.runtime, job_id, run_number), fmt)
        except _api().JobNotFound:
            raise OpError(f"job #{job_id} does not exist", ErrorKind.NOT_FOUND) from None
        except NoResults as exc:
            raise OpError(str(exc), ErrorKind.NOT_FOUND) from None

    async def job_detail(self, job_id: int) -> JobDetail:
        from ..views import JobView
        from ..viral.results import ResultStore

        job = await self.get_job(job_id)
        detail = JobDetail(
            job=JobView.of(job),
            strategy=job.content_strategy.model_dump(),
            competitor_states=[c.model_dump() for c in job.competitor_states],
        )
        results = ResultStore(self.runtime.db, self.runtime.clock)
        run = await results.get_run(job_id, completed_only=False)
        if run is None:
            return detail
        detail.run = {
            "number": run.run_number,
            "type": run.run_type.value,
            "status": run.status,
            "error": run.error,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "tokens": sum(
                int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0)) for u in run.usage.values()
            ),
            "cost": sum(float(u.get("cost_usd", 0.0)) for u in run.usage.values()),
        }
        detail.reels = await results.selection(run.id)
        detail.hooks = list((run.generated_hooks or {}).get("hooks", []))
        detail.scripts = await results.scripts(run.id)
        return detail
