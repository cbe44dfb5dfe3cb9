"""``viralspot crawl``: record a request, or run it in the foreground with --wait."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import click
from click.testing import CliRunner
from crawler_helpers import community

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.crawl_cmds import register
from viralspot_tui.sim import SimConfig, Simulator


def _cli() -> click.Group:
    @click.group()
    def cli() -> None:
        """test group"""

    register(cli)
    return cli


def _invoke(tmp_path, *args: str):
    state = CliState(
        overrides={
            "data_dir": str(tmp_path),
            "simulate": True,
            "sim": {"latency_ms": 0, "seed": 7},
            "rapidapi": {"requests_per_second": 1000.0},
            "crawler": {"round_delay_seconds": 0},
        }
    )
    return CliRunner().invoke(_cli(), list(args), obj=state, catch_exceptions=False)


def _db(tmp_path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "viralspot.db")


def _seeds(n: int, k: int = 30) -> list[str]:
    world_sim = Simulator(SimConfig(seed=7, latency_ms=0), clock=lambda: datetime.now(UTC))
    return community(world_sim, k)[:n]


def test_crawl_wait_without_engine_runs_here_and_prints_rounds(tmp_path):
    seeds = _seeds(3)
    result = _invoke(tmp_path, "crawl", *[f"--seed={s}" for s in seeds], "--target", "12", "--rounds", "3", "--wait")
    assert result.exit_code == 0, result.output
    assert "running here" in result.output and "SIMULATED" in result.output
    assert f"round 1 seed={seeds[0]}" in result.output
    assert "target reached: queued 12/12" in result.output
    with _db(tmp_path) as conn:
        rows = conn.execute("SELECT priority, source, status FROM queue").fetchall()
        request = conn.execute("SELECT status, outcome, source FROM crawler_requests").fetchall()
        rounds = conn.execute("SELECT COUNT(*) FROM crawler_rounds").fetchone()[0]
    assert len(rows) == 12 and set(rows) == {("LOW", "crawler", "PENDING")}
    assert request == [("completed", "target_reached", "cli")]
    assert rounds >= 1


def test_crawl_wait_json_reports_rounds_exhausted(tmp_path):
    seeds = _seeds(2, k=31)
    result = _invoke(
        tmp_path,
        "crawl",
        "--seed",
        seeds[0],
        "--seed",
        seeds[1],
        "--target",
        "400",
        "--rounds",
        "2",
        "--wait",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["outcome"] == "rounds_exhausted" and len(report["rounds"]) == 2
    assert [r["seed"] for r in report["rounds"]] == seeds
    assert report["queued"] == sum(r["queued"] for r in report["rounds"]) > 0


def test_crawl_without_wait_only_records_the_request(tmp_path):
    result = _invoke(tmp_path, "crawl", "--target", "5")
    assert result.exit_code == 0, result.output
    assert "recorded" in result.output and "no engine is running" in result.output
    with _db(tmp_path) as conn:
        assert conn.execute("SELECT status, target, seeds FROM crawler_requests").fetchall() == [("pending", 5, "[]")]
        assert conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0


def test_invalid_seed_is_a_usage_error(tmp_path):
    result = _invoke(tmp_path, "crawl", "--seed", "bad name!", "--wait")
    assert result.exit_code == 2
    assert "invalid username" in result.output


def test_block_unblock_and_blocklist(tmp_path):
    assert "alice_b: blocked" in _invoke(tmp_path, "crawl", "block", "@Alice_B").output
    assert "already blocked" in _invoke(tmp_path, "crawl", "block", "alice_b").output
    listed = json.loads(_invoke(tmp_path, "crawl", "blocklist", "--json").output)
    assert listed["blocklist"] == ["alice_b"]
    assert "alice_b: unblocked" in _invoke(tmp_path, "crawl", "unblock", "alice_b").output
    assert "not on the blocklist" in _invoke(tmp_path, "crawl", "unblock", "alice_b").output
    assert _invoke(tmp_path, "crawl", "block", "no good!").exit_code == 2


def test_history_lists_recorded_rounds(tmp_path):
    seeds = _seeds(1, k=32)
    assert _invoke(tmp_path, "crawl", "--seed", seeds[0], "--rounds", "1", "--wait").exit_code == 0
    result = _invoke(tmp_path, "crawl", "history", "--json")
    rounds = json.loads(result.output)
    assert len(rounds) == 1 and rounds[0]["seed"] == seeds[0]


async def test_crawl_wait_with_an_engine_running_hands_over_and_follows(tmp_path, make_runtime, sim):
    import asyncio

    from viralspot_tui.core.clock import to_iso, utcnow
    from viralspot_tui.core.control import ControlChannel
    from viralspot_tui.core.crawler.processor import CrawlerProcessor
    from viralspot_tui.core.processors.base import ProcessorControl

    runtime = await make_runtime()  # the "engine", on the same data dir
    await ControlChannel(runtime.db, runtime.clock).set_state(
        "engine", json.dumps({"running": True, "heartbeat": to_iso(utcnow())})
    )
    control = ProcessorControl("crawler")
    engine = asyncio.create_task(CrawlerProcessor(runtime, poll_seconds=0.01).run(control))
    try:
        seeds = _seeds(2, k=33)
        result = await asyncio.to_thread(
            _invoke,
            tmp_path,
            "crawl",
            "--seed",
            seeds[0],
            "--seed",
            seeds[1],
            "--target",
            "500",
            "--rounds",
            "2",
            "--wait",
        )
    finally:
        control.stop()
        await asyncio.wait_for(engine, 5)
    assert result.exit_code == 0, result.output
    assert "handed to the running engine" in result.output and "running here" not in result.output
    assert (
        f"round 2 seed={seeds[1]}" in result.output and "rounds exhausted" in result.output
    )  # the words, as the crawl report says them
    assert sim.stats.keys(endpoint="similar") == seeds  # the engine's simulator did the work
