"""Audit findings for the viral ideas processor (docs/viral.md): each test pins one defect that was fixed."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.selection import ReelCandidate, SelectionPlan

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize("hours", [math.inf, 1e12])
async def test_unrepresentable_rerun_interval_is_refused_at_creation(runtime: Runtime, hours: float) -> None:
    # An interval that no datetime can hold used to be accepted, then blew up (OverflowError)
    # after the run's work was done, leaving the job 'processing' and re-running it forever.
    with pytest.raises(ValueError, match="rerun"):
        await api.create_job(runtime, "creator_a", ["rival_b"], auto_rerun=True, rerun_every_hours=hours)
    assert await api.list_jobs(runtime) == []


def test_undated_reels_are_a_last_resort_not_ignored() -> None:
    # The reels endpoint only *usually* carries taken_at. Reels without it were never inside any
    # window, so an account whose reels are undated could not contribute a single reel.
    reels = [ReelCandidate("rival", f"code{i}", views=1000 * (i + 1), outlier_score=1.0 + i) for i in range(4)]
    plan = SelectionPlan(reels, NOW, target=2, max_candidates=10, lookback_days=30)
    batch = []
    while not plan.done:
        batch = plan.next_batch()
        if not batch:
            break
        for choice in batch:
            plan.accept(choice, reused=False)
    assert [s.candidate.shortcode for s in plan.selected] == ["code3", "code2"]
    assert all("date unknown" in s.reason for s in plan.selected)


def test_dated_reels_still_come_before_undated_ones() -> None:
    dated = [
        ReelCandidate("rival", f"old{i}", views=10, outlier_score=0.5, taken_at=NOW - timedelta(days=40 + i))
        for i in range(2)
    ]
    undated = [ReelCandidate("rival", "nodate", views=10**6, outlier_score=9.0)]
    plan = SelectionPlan(dated + undated, NOW, target=2, max_candidates=10, lookback_days=30)
    for choice in plan.next_batch():
        plan.accept(choice, reused=False)
    assert plan.done and {s.candidate.shortcode for s in plan.selected} == {"old0", "old1"}


async def test_internal_error_text_never_carries_a_secret(tmp_path, sim, clock) -> None:
    # A bug's exception text is stored as the job's error (shown by `jobs list`, the console and
    # events); if it quotes a key (a header dict, a URL), the key must not land there (docs/performance.md).
    from viral_kit import public_names, viral_runtime

    secret = "sk-audit-0123456789abcdef"
    async with viral_runtime(tmp_path, sim, clock, openai={"api_key": secret}) as runtime:
        names = public_names(sim, 2, "creator")
        job = await api.create_job(runtime, names[0], names[1:])

        async def broken(_: str) -> list[dict]:
            raise RuntimeError(f"unexpected: headers={{'authorization': 'Bearer {secret}'}}")

        runtime.content.reels_for = broken  # type: ignore[method-assign]
        seen = []
        runtime.events.subscribe(lambda e: seen.append(e.message + repr(e.data)))
        outcome = await api.run_job_now(runtime, job.id)
        failed = await api.get_job(runtime, job.id)
        runs = await runtime.db.read(lambda c: [r[0] for r in c.execute("SELECT error FROM viral_analysis_results")])
    assert outcome.status.value == failed.status.value == "failed"
    assert "internal error" in failed.error and "RuntimeError" in failed.error
    for text in [failed.error, outcome.error or "", *runs, *seen]:
        assert secret not in text


async def test_recurring_run_picks_up_reels_first_seen_since_the_last_run(runtime: Runtime, sim, clock) -> None:
    # V8: new = "posted or first seen since the last run". A reel another process (the queue
    # processor) stored between the runs was already in the table when the re-run started, so
    # diffing against what was stored *at the re-run's start* hid it unless it was also posted late.
    from viral_kit import public_names

    from viralspot_tui.core.clock import to_iso

    names = public_names(sim, 2, "creator")
    job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True)
    assert (await api.run_job_now(runtime, job.id)).status.value == "completed"
    clock.advance(hours=1)
    now, posted = to_iso(clock.now()), to_iso(clock.now() - timedelta(days=100))
    await runtime.db.write(
        lambda c: c.execute(
            "INSERT INTO content (content_id, shortcode, username, url, taken_at, views, likes, comments, outlier_score,"
            " transcript, transcript_checked_at, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, 90000, 900, 90, 40.0,"
            " 'you will not believe this trick', ?, ?, ?)",
            ("audit1", "AuditLate01", names[1], "https://www.instagram.com/reel/AuditLate01/", posted, now, now, now),
        )
    )
    await api.schedule_rerun_now(runtime, job.id)
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status.value == "completed" and outcome.run_number == 2, outcome.error
    used = await runtime.db.read(
        lambda c: [
            r[0]
            for r in c.execute(
                "SELECT r.shortcode FROM viral_analysis_reels r JOIN viral_analysis_results a ON a.id = r.result_id"
                " WHERE a.job_id = ? AND a.run_number = 2",
                (job.id,),
            )
        ]
    )
    assert "AuditLate01" in used


async def test_a_failed_stage_still_records_the_tokens_it_paid_for(runtime: Runtime, sim) -> None:
    # V6: token usage and cost per stage. Refused answers are paid for; AIPipeline._paid_for reads
    # exc.usage / exc.cost_usd, but the provider never sets them, so a failed stage shows no cost.
    from viral_kit import public_names

    from viralspot_tui.core.viral.results import ResultStore

    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    attempts = runtime.settings.openai.output_retries + 1
    sim.inject("chat", "invalid_output", count=attempts, match="GeneratedHooks")
    assert (await api.run_job_now(runtime, job.id)).status.value == "failed"
    run = await ResultStore(runtime.db, runtime.clock).get_run(job.id, 1, completed_only=False)
    assert run is not None and run.usage.get("hook_generation", {}).get("calls") == attempts
