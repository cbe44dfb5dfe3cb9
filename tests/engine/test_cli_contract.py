"""The command line as scripts see it: exit codes, liveness, batch runs, hand-overs, JSON keys
(docs/cli.md). Each test drives ``viralspot`` as separate processes, where the defects showed."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from cli_kit import ENV, cli, start_runner, status, until


def _stop(runner) -> str:
    runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=60)
    return err


def test_failing_control_commands_exit_non_zero_and_a_killed_engine_is_seen_dead(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    runner = start_runner(data, "--simulate", "--queue-file", str(queue), "--processors", "queue")
    try:
        until(lambda: status(data)["engine_running"])
        refused = cli(data, "pause", "crawler")  # the runner does not host the crawler
        assert refused.returncode == 2 and "does not host the crawler" in refused.stderr
        os.kill(runner.pid, signal.SIGKILL)
        runner.communicate(timeout=30)
        assert status(data)["engine_running"] is False  # its heartbeat is fresh, its process is gone
        shown = cli(data, "status")
        assert shown.returncode == 0 and "engine: not running" in shown.stdout
        later = cli(data, "pause", "queue")
        assert later.returncode == 0 and "no engine running" in later.stdout
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.communicate()


def test_an_engine_that_does_not_answer_is_exit_1(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    assert cli(data, "status").returncode == 0  # creates the database
    now = cli(data, "status", "--json")  # nothing published yet
    assert json.loads(now.stdout)["engine_running"] is False
    from datetime import UTC, datetime

    state = {"running": True, "heartbeat": datetime.now(UTC).isoformat(), "processors": {"queue": {"state": "running"}},
             "instance": f"{socket.gethostname()}:{os.getpid()}:test"}  # fmt: skip
    with sqlite3.connect(data / "viralspot.db") as conn:  # an engine that looks alive but never answers
        conn.execute(
            "INSERT OR REPLACE INTO runtime_state (key, value, updated_at) VALUES ('engine', ?, '')",
            (json.dumps(state),),
        )
    result = cli(data, "pause", "queue")
    assert result.returncode == 1 and "did not answer" in result.stderr


def test_a_saved_pause_lets_a_batch_run_stop_and_says_why(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    assert cli(data, "pause", "queue").returncode == 0
    assert cli(data, "queue", "add", "alice").returncode == 0
    run = cli(data, "run", "--no-ui", "--simulate", "--queue-file", str(queue), "--processors", "queue",
              "--exit-when-idle", timeout=90)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "paused by an earlier command" in run.stderr
    assert "viralspot resume queue" in run.stderr


def test_crawl_wait_hands_over_to_a_running_engine_without_keys(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    runner = start_runner(data, "--simulate", "--queue-file", str(queue), "--processors", "crawler")
    try:
        until(lambda: status(data)["engine_running"])
        crawl = cli(data, "crawl", "--seed", "natgeo", "--target", "2", "--rounds", "1", "--wait", timeout=120)
        assert crawl.returncode == 0, crawl.stderr
        assert "handed to the running engine" in crawl.stdout and "RAPIDAPI_KEY" not in crawl.stderr
        assert "_" not in crawl.stdout.splitlines()[-1].split(":")[1], crawl.stdout  # "target reached", as elsewhere
    finally:
        err = _stop(runner)
    assert runner.returncode == 0, err[-2000:]


def test_crawl_wait_on_an_empty_database_asks_for_a_seed(tmp_path: Path) -> None:
    result = cli(tmp_path / "data", "--simulate", "crawl", "--wait")
    assert result.returncode == 1 and "no profile is stored yet" in result.stderr and "--seed" in result.stderr


def test_keys_are_required_only_by_the_processors_hosted(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    env = {**ENV, "RAPIDAPI_KEY": "rk-only-this-one"}
    run = cli(data, "run", "--no-ui", "--queue-file", str(queue), "--processors", "queue", "--exit-when-idle",
              env=env, timeout=90)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OPENAI_API_KEY" not in run.stderr
    needs_ai = cli(data, "run", "--no-ui", "--queue-file", str(queue), "--processors", "viral", env=env)
    assert needs_ai.returncode == 2 and "OPENAI_API_KEY" in needs_ai.stderr


def test_jobs_list_json_uses_the_documented_field_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "analyze", "natgeo", "-c", "nasa").returncode == 0
    [job] = json.loads(cli(data, "jobs", "list", "--json").stdout)
    assert {"id", "primary_username", "competitors", "status", "stage", "progress", "runs", "auto_rerun",
            "rerun_every_hours", "next_run_at", "error", "content_strategy", "competitor_status"} <= set(job)  # fmt: skip
    assert "primary" not in job and job["primary_username"] == "natgeo"


def test_messages_say_when_nothing_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "queue", "add", "dora").returncode == 0
    again = cli(data, "queue", "bump", "dora", "--priority", "low")
    assert again.returncode == 0 and "already LOW" in again.stdout and "nothing changed" in again.stdout
    unknown = cli(data, "queue", "retry", "nobody")
    assert unknown.returncode == 1 and "nobody is not in the queue" in unknown.stderr
    pending = cli(data, "queue", "retry", "dora")
    assert pending.returncode == 1 and "is PENDING, not FAILED" in pending.stderr
    upper = cli(data, "--log-level", "DEBUG", "status")  # choice options accept any case
    assert upper.returncode == 0


def test_every_json_output_keeps_its_documented_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "queue", "add", "erin").returncode == 0
    [item] = json.loads(cli(data, "queue", "list", "--json").stdout)
    assert set(item) >= {"id", "username", "priority", "status", "source", "attempts", "max_attempts", "last_error",
                         "not_before", "lease_owner", "lease_expires_at", "created_at", "updated_at", "completed_at",
                         "request_id"}  # fmt: skip
    assert item["created_at"].endswith("Z") or "+00:00" in item["created_at"]  # ISO 8601 UTC
    shown = status(data)
    assert set(shown) >= {"engine_running", "queue", "processors", "backend", "online", "outbox_depth", "simulated",
                          "quota", "viral", "crawler", "jobs", "crawls", "last_seen", "paused",
                          "shared_queue"}  # fmt: skip
    assert shown["shared_queue"] is None  # the CSV backend
    assert shown["queue"] == {"LOW": {"PENDING": 1}}
    blocked = json.loads(cli(data, "crawl", "blocklist", "--json").stdout)
    assert set(blocked) == {"blocklist", "config"}
    assert json.loads(cli(data, "crawl", "history", "--json").stdout) == []
