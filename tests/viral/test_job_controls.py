"""Stopping jobs and their re-runs: ``jobs cancel``, ``jobs schedule``, and a ``rerun`` that leaves
the schedule alone — through click on the simulator, and on a running processor."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from test_viral_cli import invoke, state
from test_viral_processor import wait_until
from viral_kit import make_sim, public_names, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.processors.base import ProcessorControl
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus
from viralspot_tui.core.viral.processor import ViralIdeasProcessor
from viralspot_tui.core.viral.results import ResultStore


def job_json(tmp_path: Path) -> dict[str, Any]:
    [job] = json.loads(invoke(tmp_path, "jobs", "list", "--json").output)
    return job


def test_cancel_a_pending_job_then_retry_schedule_rerun_and_turn_off(tmp_path: Path) -> None:
    assert invoke(tmp_path, "analyze", "cli_creator", "-c", "cli_rival_one").exit_code == 0
    cancelled = invoke(tmp_path, "jobs", "cancel", "1")
    assert cancelled.exit_code == 0, cancelled.output
    assert "job 1 cancelled" in cancelled.output and "jobs retry 1" in cancelled.output
    job = job_json(tmp_path)
    assert job["status"] == "failed" and job["error"].startswith("cancelled by the operator at queued")
    again = invoke(tmp_path, "jobs", "cancel", "1")
    assert again.exit_code == 1 and "nothing to cancel" in again.output

    assert invoke(tmp_path, "jobs", "retry", "1", "--wait").exit_code == 0  # a cancelled job resumes
    job = job_json(tmp_path)
    assert (job["status"], job["runs"], job["auto_rerun"], job["next_run_at"]) == ("completed", 1, False, None)

    rerun = invoke(tmp_path, "jobs", "rerun", "1", "--wait")  # the bug: this used to turn re-runs on
    assert rerun.exit_code == 0 and "job 1 completed (run 2)" in rerun.output, rerun.output
    job = job_json(tmp_path)
    assert (job["runs"], job["auto_rerun"], job["next_run_at"]) == (2, False, None)

    scheduled = invoke(tmp_path, "jobs", "schedule", "1", "--every", "6")
    assert scheduled.exit_code == 0 and "job 1 re-runs every 6 h" in scheduled.output, scheduled.output
    job = job_json(tmp_path)
    assert job["auto_rerun"] and job["rerun_every_hours"] == 6
    due = datetime.fromisoformat(job["next_run_at"]) - datetime.now(datetime.fromisoformat(job["next_run_at"]).tzinfo)
    assert timedelta(hours=5, minutes=59) < due <= timedelta(hours=6)

    rerun = invoke(tmp_path, "jobs", "rerun", "1", "--wait")  # re-runs stay on, at the same interval
    assert rerun.exit_code == 0, rerun.output
    job = job_json(tmp_path)
    assert (job["runs"], job["auto_rerun"], job["rerun_every_hours"]) == (3, True, 6)
    assert job["next_run_at"] is not None

    off = invoke(tmp_path, "jobs", "cancel", "1")  # a finished job: cancel turns its re-runs off
    assert off.exit_code == 0 and "job 1 re-runs turned off" in off.output, off.output
    job = job_json(tmp_path)
    assert (job["status"], job["auto_rerun"], job["next_run_at"]) == ("completed", False, None)
    assert invoke(tmp_path, "jobs", "schedule", "1", "--every", "2").exit_code == 0
    off = invoke(tmp_path, "jobs", "schedule", "1", "--off")
    assert off.exit_code == 0 and "re-runs turned off" in off.output
    assert (job_json(tmp_path)["auto_rerun"], job_json(tmp_path)["next_run_at"]) == (False, None)


def test_schedule_refuses_bad_usage_and_unknown_jobs(tmp_path: Path) -> None:
    assert invoke(tmp_path, "analyze", "cli_creator", "-c", "cli_rival_one").exit_code == 0
    for args in (["1"], ["1", "--every", "3", "--off"], ["1", "--every", "0"], ["1", "--every", "1e9"]):
        result = invoke(tmp_path, "jobs", "schedule", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    missing = invoke(tmp_path, "jobs", "schedule", "9", "--off")
    assert missing.exit_code == 1 and "job #9 does not exist" in missing.output
    assert invoke(tmp_path, "jobs", "cancel", "9").exit_code == 1
    # a pending job only records the setting: its first completion schedules the next run
    assert invoke(tmp_path, "jobs", "schedule", "1", "--every", "3").exit_code == 0
    job = job_json(tmp_path)
    assert (job["status"], job["auto_rerun"], job["rerun_every_hours"], job["next_run_at"]) == (
        "pending",
        True,
        3,
        None,
    )


def test_a_failed_job_keeps_the_stage_it_reached_and_its_error_names_it(tmp_path: Path) -> None:
    failed = invoke(tmp_path, "analyze", "missing_someone", "-c", "cli_rival_one", "--wait")
    assert failed.exit_code == 1
    job = job_json(tmp_path)
    assert (job["status"], job["stage"]) == ("failed", "fetching profiles")
    assert job["error"].startswith(f"fetching profiles failed at {job['progress']}%: primary creator @missing_someone")
    listed = invoke(tmp_path, "jobs", "list").output
    assert "fetching profiles" in listed and "error: fetching profiles failed" in listed
    assert state(tmp_path)  # the same data dir throughout


async def test_cancel_stops_a_running_job_in_the_processor(tmp_path: Path, clock: FakeClock) -> None:
    sim = make_sim(clock, latency_ms=20)  # slow enough to catch the job mid-run
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        names = public_names(sim, 3, "creator")
        job = await api.create_job(runtime, names[0], names[1:], auto_rerun=True)
        processor = ViralIdeasProcessor(runtime, poll_seconds=0.05)
        control = ProcessorControl("viral")
        loop = asyncio.create_task(processor.run(control))

        async def running() -> bool:
            current = await api.get_job(runtime, job.id)
            return current.status == JobStatus.PROCESSING and current.progress > 0

        await wait_until(running)
        cancelled, stopped = await api.cancel_job(runtime, job.id)
        assert stopped and cancelled.status == JobStatus.FAILED and not cancelled.auto_rerun

        async def task_gone() -> bool:
            return job.id not in processor.tasks

        await wait_until(task_gone, timeout=5)
        kinds = [e.kind for e in runtime.events.recent(100) if e.data.get("job_id") == job.id]
        assert "viral.stopped" in kinds and "viral.released" not in kinds  # not "handed back"
        after = await api.get_job(runtime, job.id)
        assert after.status == JobStatus.FAILED and after.error == cancelled.error  # nothing written after it
        assert after.stage == cancelled.stage and after.progress == cancelled.progress
        run = await ResultStore(runtime.db, runtime.clock).get_run(job.id, completed_only=False)
        assert run is not None and run.status == "failed" and run.error == cancelled.error
        assert await processor.store.next_due(within_seconds=10 * 24 * 3600) == 0  # never claimed again
        control.stop()
        await loop


def test_analyze_says_when_it_merged_repeated_competitors(tmp_path: Path) -> None:
    result = invoke(tmp_path, "analyze", "cli_creator", "-c", "cli_rival_one", "-c", "@CLI_Rival_One", "-c", "rival_b")
    assert result.exit_code == 0, result.output
    assert "vs @cli_rival_one, @rival_b" in result.output
    assert "merged repeated competitor name(s): @CLI_Rival_One" in result.output
    plain = invoke(tmp_path, "analyze", "cli_creator", "-c", "rival_c")
    assert "merged" not in plain.output
