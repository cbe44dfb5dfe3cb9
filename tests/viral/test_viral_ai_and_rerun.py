"""AI output validation, resume at the failed stage, recurring runs, and the real SDK over loopback."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from viral_kit import public_names, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.export import export_bundle
from viralspot_tui.core.viral.models import JobStatus, RunType
from viralspot_tui.core.viral.results import ResultStore
from viralspot_tui.sim import Simulator, running_server


def chat_counts(sim: Simulator) -> dict[str, int]:
    names = ("ProfileAnalysis", "HookAnalysis", "GeneratedHooks", "Script")
    return {n: sim.stats.count("chat", key=n) for n in names}


async def test_invalid_output_is_retried_then_fails_naming_the_stage(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    attempts = runtime.settings.openai.output_retries + 1
    sim.inject("chat", "invalid_output", count=attempts, match="GeneratedHooks")
    outcome = await api.run_job_now(runtime, job.id)
    failed = await api.get_job(runtime, job.id)
    assert outcome.status == failed.status == JobStatus.FAILED
    assert "AI stage 'hook generation' failed" in failed.error and f"after {attempts} attempts" in failed.error
    assert sim.stats.count("chat", outcome="invalid_output") == attempts
    assert chat_counts(sim)["Script"] == 0  # nothing invented after the failure
    run = await ResultStore(runtime.db, runtime.clock).get_run(job.id, 1)
    assert run is not None and run.status == "failed" and run.generated_hooks is None
    assert run.profile_analysis is not None and len(run.hook_analysis) == 8  # earlier stages checkpointed


async def test_retried_job_resumes_at_the_failed_stage(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 4, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    attempts = runtime.settings.openai.output_retries + 1
    sim.inject("chat", "invalid_output", count=attempts, match="GeneratedHooks")
    assert (await api.run_job_now(runtime, job.id)).status == JobStatus.FAILED
    before = {e: sim.stats.count(e) for e in ("profile", "reels", "transcript")}
    chats_before = chat_counts(sim)

    await api.retry_job(runtime, job.id)
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED and outcome.run_number == 1, outcome.error
    assert {e: sim.stats.count(e) for e in before} == before  # no fetch or transcript call repeated
    chats = chat_counts(sim)
    assert chats["ProfileAnalysis"] == chats_before["ProfileAnalysis"] == 1
    assert chats["HookAnalysis"] == chats_before["HookAnalysis"] == 8
    assert chats["GeneratedHooks"] == chats_before["GeneratedHooks"] + 1
    assert chats["Script"] == 5
    bundle = await export_bundle(runtime, job.id)
    assert len(bundle["scripts"]) == 5 and bundle["run"]["number"] == 1


async def test_recurring_run_analyses_only_new_reels(runtime: Runtime, sim: Simulator, clock: FakeClock) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True, rerun_every_hours=24)
    assert (await api.run_job_now(runtime, job.id)).status == JobStatus.COMPLETED
    first = await api.get_job(runtime, job.id)
    assert first.next_run_at == clock.now() + timedelta(hours=24)
    stored_before = {code for n in names for code in await runtime.content.known_shortcodes(n)}
    run1_start = clock.now()

    clock.advance(days=8)  # the world's clock too: new reels appear
    new_in_world = {r.shortcode for n in names for r in sim.world.reels(n) if r.taken_at > run1_start}
    assert len(new_in_world) >= 5
    transcripts_before = list(sim.stats.keys("transcript"))
    reels_before = sim.stats.count("reels")
    outcome = await api.run_job_now(runtime, job.id)  # due now
    assert outcome.status == JobStatus.COMPLETED and outcome.run_type == RunType.RECURRING, outcome.error
    assert outcome.run_number == 2
    assert sim.stats.count("reels") - reels_before == 3  # the latest page of each account, nothing more

    conn = sqlite3.connect(runtime.settings.db_path)
    used = conn.execute(
        "SELECT r.shortcode FROM viral_analysis_reels r JOIN viral_analysis_results a"
        " ON a.id = r.result_id WHERE a.job_id = ? AND a.run_number = 2",
        (job.id,),
    ).fetchall()
    kinds = conn.execute(
        "SELECT run_number, run_type FROM viral_analysis_results WHERE job_id = ? ORDER BY 1", (job.id,)
    ).fetchall()
    conn.close()
    codes = {r[0] for r in used}
    assert codes and codes <= new_in_world and not codes & stored_before
    new_transcript_calls = set(sim.stats.keys("transcript")[len(transcripts_before) :])
    assert new_transcript_calls <= new_in_world  # no transcript asked again for an old reel
    assert kinds == [(1, "initial"), (2, "recurring")]
    job_after = await api.get_job(runtime, job.id)
    assert job_after.runs == 2 and job_after.next_run_at == clock.now() + timedelta(hours=24)


async def test_recurring_run_without_new_reels_makes_no_ai_calls(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 2, "creator")
    job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True)
    assert (await api.run_job_now(runtime, job.id)).status == JobStatus.COMPLETED
    chats = sim.stats.count("chat")
    await api.schedule_rerun_now(runtime, job.id)  # same moment: nothing new was posted
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED and outcome.run_type == RunType.RECURRING
    assert sim.stats.count("chat") == chats
    run = await ResultStore(runtime.db, runtime.clock).get_run(job.id, 2)
    assert run is not None and "no new competitor reels" in (run.notes or "")


async def test_openai_sdk_against_the_loopback_server(tmp_path: Path, sim: Simulator, clock: FakeClock) -> None:
    async with running_server(sim) as base_url:
        overrides = {
            "simulate": False,
            "rapidapi": {"key": "loopback-test-key", "instagram_base_url": base_url, "transcript_base_url": base_url},
            "openai": {"api_key": "loopback-test-key", "base_url": f"{base_url}/v1"},
        }
        async with viral_runtime(tmp_path, sim, clock, real_http=True, **overrides) as runtime:
            names = public_names(sim, 2, "creator")
            job = await api.create_job(runtime, names[0], names[1:])
            outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    counts = chat_counts(sim)
    assert (counts["ProfileAnalysis"], counts["GeneratedHooks"], counts["Script"]) == (1, 1, 5)
    assert counts["HookAnalysis"] >= 2 and sim.stats.count("chat") == sim.stats.count("chat", outcome="ok")
    assert sim.stats.count("profile") == 2
