"""``analyze``, ``jobs list`` and ``export`` through click, on the simulator, with no engine running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.viral_cmds import register


@click.group()
def cli() -> None:
    """A tiny host group, as the real one registers the same commands."""


register(cli)


def state(tmp_path: Path) -> CliState:
    return CliState(
        overrides={
            "data_dir": str(tmp_path / "data"),
            "simulate": True,
            "sim": {"latency_ms": 0.0},
            "rapidapi": {"requests_per_second": 1000.0, "backoff_initial": 0.001},
            "openai": {"requests_per_second": 1000.0},
        }
    )


def invoke(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=state(tmp_path), catch_exceptions=False)


def test_analyze_wait_runs_the_job_here_then_lists_and_exports(tmp_path: Path) -> None:
    result = invoke(
        tmp_path,
        "analyze",
        "cli_creator",
        "-c",
        "cli_rival_one",
        "-c",
        "@CLI_Rival_Two",
        "--strategy-type",
        "fitness reels",
        "--audience",
        "beginners",
        "--goals",
        "more saves",
        "--wait",
    )
    assert result.exit_code == 0, result.output
    assert "job 1 created: @cli_creator vs @cli_rival_one, @cli_rival_two" in result.output
    assert "SIMULATED" in result.output and "job 1 completed" in result.output

    listed = invoke(tmp_path, "jobs", "list", "--json")
    assert listed.exit_code == 0
    [job] = json.loads(listed.output)
    assert (job["id"], job["status"], job["progress"], job["runs"]) == (1, "completed", 100, 1)
    assert job["content_strategy"]["target_audience"] == "beginners"
    assert "cli_creator" in invoke(tmp_path, "jobs", "list").output

    out = tmp_path / "ideas.json"
    exported = invoke(tmp_path, "export", "1", "--format", "json", "-o", str(out))
    assert exported.exit_code == 0
    bundle = json.loads(out.read_text())
    sources = {r["shortcode"] for r in bundle["source_reels"] if r["role"] == "competitor"}
    assert len(bundle["scripts"]) == 5 and all(h["source_shortcode"] in sources for h in bundle["hooks"])
    markdown = invoke(tmp_path, "export", "1").output
    assert markdown.startswith("# Viral ideas for @cli_creator") and "fitness reels" in markdown


def test_analyze_without_wait_only_records(tmp_path: Path) -> None:
    result = invoke(tmp_path, "analyze", "cli_creator", "-c", "cli_rival_one")
    assert result.exit_code == 0 and "no engine is running" in result.output
    [job] = json.loads(invoke(tmp_path, "jobs", "list", "--json").output)
    assert job["status"] == "pending"
    missing = invoke(tmp_path, "export", "1")
    assert missing.exit_code == 1 and "job 1 has no completed run to export (status: pending)" in missing.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "ok_name", "-c", "bad name!"], "not allowed"),
        (["analyze", "ok..name", "-c", "rival"], "'..'"),
        (["analyze", "ok_name", *sum((["-c", f"r{i}"] for i in range(21)), [])], "1 to 20 competitors"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(tmp_path, *args)
    assert result.exit_code == 2 and message in result.output


def test_failed_job_exits_1_with_the_reason(tmp_path: Path) -> None:
    result = invoke(tmp_path, "analyze", "missing_someone", "-c", "cli_rival_one", "--wait")
    assert result.exit_code == 1
    assert "@missing_someone could not be fetched: the profile does not exist" in result.output


def test_failed_job_is_retried_and_rerun_from_the_command_line(tmp_path: Path) -> None:
    flaky = state(tmp_path)
    flaky.overrides["sim"] = {"latency_ms": 0.0, "fault_rate": 1.0}  # every upstream call fails transiently
    failed = CliRunner().invoke(
        cli, ["analyze", "cli_creator", "-c", "cli_rival_one", "--wait"], obj=flaky, catch_exceptions=False
    )
    assert failed.exit_code == 1, failed.output
    [job] = json.loads(invoke(tmp_path, "jobs", "list", "--json").output)
    assert job["status"] == "failed"

    retried = invoke(tmp_path, "jobs", "retry", "1", "--wait")  # the upstream is healthy again
    assert retried.exit_code == 0, retried.output
    assert "job 1 back to pending" in retried.output and "job 1 completed (run 1)" in retried.output
    again = invoke(tmp_path, "jobs", "retry", "1")
    assert again.exit_code == 2 and "only failed jobs can be retried" in again.output

    rerun = invoke(tmp_path, "jobs", "rerun", "1", "--wait")
    assert rerun.exit_code == 0, rerun.output
    assert "job 1 due now" in rerun.output and "job 1 completed (run 2)" in rerun.output
    [job] = json.loads(invoke(tmp_path, "jobs", "list", "--json").output)
    assert (job["status"], job["runs"]) == ("completed", 2)
    missing = invoke(tmp_path, "jobs", "retry", "7")
    assert missing.exit_code == 1 and "7" in missing.output
