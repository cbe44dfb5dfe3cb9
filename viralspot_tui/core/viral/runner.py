"""One run of one job, start to finish: fetch → select → transcripts → AI stages → store.

Shared by the processor (engine) and ``run_job_now`` (``analyze --wait`` without an engine), so
both do exactly the same work. The runner holds no state that matters between runs: the run's
row is its checkpoint, which is why a retried, paused or crashed job resumes at the first step
that has no result yet. Progress (stage and percentage, docs/viral.md) is written to the job row and
published as ``viral.progress`` events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..clock import to_iso
from ..pipeline.profile_fetch import PauseRequested
from ..processors.base import Stopping
from ..providers.errors import ProviderError, QuotaExhaustedError
from ..redaction import mask_secrets
from .ai_pipeline import AIInputs, AIPipeline, StageFailed
from .fetch import AccountFetch, PrimaryFetchError, fetch_accounts
from .models import Job, JobStatus, RunType, Stage
from .prompts import ProfileContext, ReelContext
from .results import ResultStore, Run
from .selection import SelectionPlan
from .store import ViralStore
from .transcripts import candidate_from_row, candidates_for, fill_plan, new_reels

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["JobRunner", "RunOutcome", "NoMaterial"]

log = logging.getLogger("viralspot.viral")
Boundary = Callable[[], Awaitable[None]]

# Progress bands per stage (V7): fetching k/n, selecting, transcripts k/n, AI k/4, storing.
_FETCH, _SELECT, _TRANSCRIPTS, _AI, _STORE = (0, 30), 30, (32, 50), (50, 90), 95


class NoMaterial(Exception):
    """Nothing to analyse (e.g. no competitor reel with a transcript): a clear, permanent failure."""


@dataclass(frozen=True)
class RunOutcome:
    job_id: int
    status: JobStatus
    run_number: int | None = None
    run_type: RunType | None = None
    error: str | None = None


class JobRunner:
    def __init__(
        self,
        runtime: "Runtime",
        store: ViralStore,
        results: ResultStore,
        owner: str,
        *,
        boundary: Boundary | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.results = results
        self.owner = owner
        self.boundary = boundary
        self._reached: tuple[int, str] = (0, Stage.QUEUED.value)  # furthest (progress, stage) of this claim

    async def progress(self, job: Job, stage: Stage, percent: float, message: str | None = None) -> None:
        """Publish first (synchronously, so concurrent steps publish in the order they finished), then store."""
        pct = int(max(0, min(100, percent)))
        if pct >= self._reached[0]:  # as the job row keeps it: concurrent steps report out of order
            self._reached = (pct, stage.value)
        self.runtime.events.emit(
            "viral.progress",
            message or f"job {job.id} @{job.primary_username}: {stage.value} {pct}%",
            job_id=job.id,
            stage=stage.value,
            progress=pct,
        )
        await self.store.set_progress(job.id, self.owner, stage.value, pct)

    async def run(self, job: Job) -> RunOutcome:
        """Run (or resume) the job's current run and record the outcome on the job."""
        run, resumed = await self.results.open_run(job.id)
        self.runtime.events.emit(
            "viral.started",
            f"job {job.id} @{job.primary_username}: "
            f"{'resuming' if resumed else 'starting'} {run.run_type.value} run {run.run_number}",
            job_id=job.id,
            run=run.run_number,
            run_type=run.run_type.value,
        )
        try:
            notes = await self._work(job, run)
        except (PauseRequested, Stopping, asyncio.CancelledError):
            await self.store.release(job.id, self.owner)
            raise
        except QuotaExhaustedError as exc:
            message = mask_secrets(self.runtime.settings, f"waiting for API quota: {exc.detail}")
            not_before = exc.reset_at or self.runtime.clock.now() + timedelta(minutes=1)
            await self.store.release(job.id, self.owner, not_before=not_before, error=message)
            self.runtime.events.emit("viral.parked", f"job {job.id}: {message}", level="warning", job_id=job.id)
            return RunOutcome(job.id, JobStatus.PENDING, run.run_number, run.run_type, message)
        except (PrimaryFetchError, StageFailed, NoMaterial, ProviderError) as exc:
            return await self._failed(job, run, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must fail this job, not the processor
            log.exception("viral job %s crashed", job.id)
            return await self._failed(job, run, f"internal error: {type(exc).__name__}: {exc}")
        await self.progress(job, Stage.STORING, _STORE)
        next_run = self.runtime.clock.now() + timedelta(hours=job.rerun_every_hours) if job.auto_rerun else None
        await self.store.finish(job.id, self.owner, next_run, run.id, notes)
        self.runtime.events.emit(
            "viral.completed",
            f"job {job.id} @{job.primary_username}: {run.run_type.value} run "
            f"{run.run_number} completed" + (f" ({notes})" if notes else ""),
            job_id=job.id,
            run=run.run_number,
            next_run_at=to_iso(next_run),
        )
        return RunOutcome(job.id, JobStatus.COMPLETED, run.run_number, run.run_type)

    async def _failed(self, job: Job, run: Run, error: str) -> RunOutcome:
        # The job keeps the stage it reached (docs/viral.md, "Outcomes"); the error names it too,
        # so `jobs list`, the pane and the log all say where the run stopped.
        progress, stage = self._reached
        where = f"at {progress}%" if stage in error else f"{stage} failed at {progress}%"  # AI stages name themselves
        error = mask_secrets(self.runtime.settings, f"{where}: {error}")
        await self.results.fail_run(run.id, error)
        retry_at = None
        if job.auto_rerun and run.run_type == RunType.RECURRING:
            retry_at = self.runtime.clock.now() + timedelta(hours=job.rerun_every_hours)
        await self.store.fail(job.id, self.owner, error, next_run_at=retry_at)
        self.runtime.events.emit(
            "viral.failed",
            f"job {job.id} @{job.primary_username} failed: {error}",
            level="error",
            job_id=job.id,
            error=error,
        )
        return RunOutcome(job.id, JobStatus.FAILED, run.run_number, run.run_type, error)

    # ------------------------------------------------------------------ the work
    async def _work(self, job: Job, run: Run) -> str | None:
        recurring = run.run_type == RunType.RECURRING
        accounts = [job.primary_username, *job.competitors]
        ai = self.runtime.require_providers().ai
        if not run.selection_done:
            baseline: dict[str, list[str]] = {}
            if recurring:
                # New = posted or first seen since the last run (V8): the baseline is what was stored
                # when the last run ended, not now — reels other processes stored since then are new.
                last = await self.results.get_run(job.id, run.run_number - 1, completed_only=False)
                cutoff = last.completed_at if last is not None and last.completed_at else run.started_at
                baseline = await self.results.set_baseline(run.id, await self.results.known_before(accounts, cutoff))
            await self._fetch_and_select(job, run, baseline)
        selection = await self.results.selection(run.id)
        competitor_rows = [r for r in selection if r["role"] == "competitor"]
        if not competitor_rows:
            if recurring:
                return "no new competitor reels with a transcript since the last run"
            raise NoMaterial(
                "no competitor reel with a transcript was found: nothing to learn hooks from "
                "(every competitor failed, or none has transcribed reels)"
            )
        inputs = await self._ai_inputs(job, selection)

        async def on_stage(stage: Stage, number: int) -> None:
            lo, hi = _AI
            await self.progress(
                job,
                stage,
                lo + (hi - lo) * (number - 1) / 4,
                f"job {job.id} @{job.primary_username}: AI stage {number}/4 ({stage.value})",
            )

        await AIPipeline(ai, self.results, run, inputs, boundary=self.boundary, on_stage=on_stage).run()
        return None

    async def _fetch(
        self, job: Job, run: Run, recurring: bool, on_primary: Callable[[], object]
    ) -> dict[str, AccountFetch]:
        await self.progress(job, Stage.FETCHING, _FETCH[0])

        async def on_done(outcome: AccountFetch, k: int, n: int) -> None:
            # Load the AI SDK's chat client in a thread while the other fetches wait on the network.
            # Not at the start: that is a burst of small database round trips (freshness,
            # checkpoints), each of which a busy thread would delay by up to a GIL switch interval.
            self.runtime.require_providers().ai.prepare()
            if outcome.role == "primary" and outcome.status != "failed":
                on_primary()
            if outcome.status == "failed":
                self.runtime.events.emit(
                    "viral.competitor_failed" if outcome.role == "competitor" else "viral.primary_failed",
                    f"job {job.id}: @{outcome.username} {outcome.error}",
                    level="warning",
                    job_id=job.id,
                    username=outcome.username,
                    error=outcome.error,
                )
            lo, hi = _FETCH
            await self.progress(
                job,
                Stage.FETCHING,
                lo + (hi - lo) * k / n,
                f"job {job.id} @{job.primary_username}: fetching profiles {k}/{n}",
            )
            if outcome.role == "competitor":
                await self.store.set_competitor(job.id, outcome.username, outcome.status, outcome.error)

        return await fetch_accounts(
            self.runtime,
            job.primary_username,
            job.competitors,
            item_prefix=f"viral:{job.id}:{run.run_number}",
            recurring=recurring,
            boundary=self.boundary,
            on_done=on_done,
        )

    async def _fetch_and_select(self, job: Job, run: Run, baseline: dict[str, list[str]]) -> None:
        """Fetch every account, pick the reels, fetch their transcripts, then save the selection.

        The primary's plan needs the primary's reels only, so its transcripts are asked for as
        soon as the primary is fetched, while the competitors are still being fetched (every
        request of it is then a pause boundary, as every fetch step is). The competitors' reels
        are ranked together, so their plan starts once every fetch is done. The selection is
        saved when both plans are full; a run stopped before that does this step again, and the
        transcripts it already stored are reused without a call (docs/viral.md, "Reel selection").
        """
        recurring = run.run_type == RunType.RECURRING
        cfg = self.runtime.settings.viral
        plans: dict[str, SelectionPlan] = {}
        rows: dict[str, list[dict[str, Any]]] = {}
        total = max(1, cfg.primary_transcripts + cfg.competitor_transcripts)
        state = {"fetching": True, "reporting": False, "checked": 0}

        async def make_plan(role: str, usernames: list[str], target: int, cap: int) -> SelectionPlan:
            found = await candidates_for(self.runtime, usernames)
            if recurring:
                found = {u: new_reels(r, set(baseline.get(u, [])), run.since) for u, r in found.items()}
            rows.update(found)
            reels = [candidate_from_row(r) for u in usernames for r in found[u]]
            window = None if recurring else cfg.lookback_days
            plan = plans[role] = SelectionPlan(reels, self.runtime.clock.now(), target, cap, window)
            return plan

        async def report(message: bool = True) -> None:
            found = sum(len(p.selected) for p in plans.values())  # checked reels may have none
            lo, hi = _TRANSCRIPTS
            text = (
                f"job {job.id} @{job.primary_username}: transcripts {found}/{total} ({state['checked']} reels checked)"
            )
            await self.progress(
                job, Stage.TRANSCRIPTS, lo + (hi - lo) * min(1.0, found / total), text if message else None
            )

        async def on_checked(_: int) -> None:
            state["checked"] += 1
            # Not under a lock: concurrent reports' progress writes then share one flush instead
            # of queueing one round trip each behind the slowest (the stored progress only rises).
            # Reels the primary's plan checks while fetching are counted in the stage's first report.
            if state["reporting"]:
                await report()

        async def while_fetching() -> None:
            if state["fetching"] and self.boundary is not None:
                await self.boundary()

        async def primary_plan() -> None:
            await while_fetching()
            plan = await make_plan("primary", [job.primary_username], cfg.primary_transcripts, cfg.primary_candidates)
            await fill_plan(self.runtime, plan, on_checked=on_checked, before_call=while_fetching)

        try:
            async with asyncio.TaskGroup() as group:
                outcomes = await self._fetch(job, run, recurring, lambda: group.create_task(primary_plan()))
                state["fetching"] = False
                if self.boundary is not None:
                    await self.boundary()
                await self.progress(job, Stage.SELECTING, _SELECT)
                usable = [u for u, o in outcomes.items() if o.status != "failed" and u != job.primary_username]
                competitor = await make_plan(
                    "competitor", usable, cfg.competitor_transcripts, cfg.competitor_candidates
                )
                if self.boundary is not None:
                    await self.boundary()
                state["reporting"] = True  # set and reported with no await between: progress only rises
                await report(message=False)
                await fill_plan(self.runtime, competitor, on_checked=on_checked)
        except BaseExceptionGroup as failed:  # primary failed, pause, stop, quota: the caller decides
            raise failed.exceptions[0] from None
        primary = plans["primary"]
        by_code = {r["shortcode"]: r for rs in rows.values() for r in rs}
        selected = [("primary", s) for s in primary.selected] + [("competitor", s) for s in competitor.selected]
        await self.results.save_selection(
            run, [_selection_row(role, s, by_code[s.candidate.shortcode]) for role, s in selected]
        )
        run.selection_done = True
        for plan, who in ((primary, "primary"), (competitor, "competitors")):
            if plan.missing:
                self.runtime.events.emit(
                    "viral.selection_short",
                    f"job {job.id}: only {len(plan.selected)} of "
                    f"{plan.target} {who} reels with transcripts after {plan.tried} candidates",
                    level="warning",
                    job_id=job.id,
                )

    async def _ai_inputs(self, job: Job, selection: list[dict[str, Any]]) -> AIInputs:
        users = sorted({r["username"] for r in selection} | {job.primary_username})
        # Both reads at once: one wait on the database thread between the transcripts and the first AI call.
        rows, stored_profile = await asyncio.gather(
            candidates_for(self.runtime, users), self.runtime.content.get_profile(job.primary_username)
        )
        content = {r["shortcode"]: r for rs in rows.values() for r in rs}
        profile = stored_profile or {}

        def ctx(row: dict[str, Any]) -> ReelContext:
            stored = content.get(row["shortcode"], {})
            return ReelContext(
                shortcode=row["shortcode"],
                username=row["username"],
                views=row["views"],
                likes=row["likes"],
                comments=row["comments"],
                outlier_score=row["outlier_score"],
                caption=stored.get("caption") or row.get("caption"),
                transcript=stored.get("transcript") or "",
            )

        return AIInputs(
            strategy=job.content_strategy,
            profile=ProfileContext(
                username=job.primary_username,
                full_name=profile.get("full_name"),
                biography=profile.get("biography"),
                followers=profile.get("followers"),
                reels_count=profile.get("reels_count") or 0,
                median_views=profile.get("median_views") or 0.0,
            ),
            primary_reels=[ctx(r) for r in selection if r["role"] == "primary"],
            competitor_reels=[ctx(r) for r in selection if r["role"] == "competitor"],
            hooks=self.runtime.settings.viral.hooks,
        )


def _selection_row(role: str, picked: Any, row: dict[str, Any]) -> dict[str, Any]:
    c = picked.candidate
    return {
        "shortcode": c.shortcode,
        "username": c.username,
        "role": role,
        "rank": picked.rank,
        "reason": picked.reason,
        "views": c.views,
        "likes": c.likes,
        "comments": c.comments,
        "outlier_score": c.outlier_score,
        "engagement_rate": c.engagement_rate,
        "taken_at": row.get("taken_at"),
        "caption": row.get("caption"),
        "transcript_reused": int(picked.transcript_reused),
    }
