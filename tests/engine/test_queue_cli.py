"""Operator actions through the command line (docs/cli.md, Q6), in-process with click's runner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.main import cli


def _run(data: Path, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj=CliState())


def _fail_everything(data: Path) -> None:
    """Mark every item FAILED the way the processor would (through the store's fenced API)."""
    from viralspot_tui.config import load_settings
    from viralspot_tui.core.models.queue import Priority
    from viralspot_tui.core.runtime import Runtime

    async def go() -> None:
        runtime = await Runtime.open(load_settings(data_dir=str(data)), with_providers=False)
        try:
            for prio in (Priority.HIGH, Priority.LOW):
                for item in await runtime.queue.claim(prio, 100, 30):
                    await runtime.queue.fail(item, "HTTP 503 from upstream", permanent=True)
        finally:
            await runtime.close()

    asyncio.run(go())


def test_add_is_idempotent_upgrades_and_says_what_happened(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = _run(data, "queue", "add", "natgeo", "https://www.instagram.com/NASA/", "--priority", "low")
    assert first.exit_code == 0 and "natgeo: added at LOW" in first.output and "nasa: added at LOW" in first.output
    again = _run(data, "queue", "add", "natgeo")
    assert "already queued at LOW, nothing changed" in again.output
    up = _run(data, "queue", "add", "@natgeo", "--priority", "high")
    assert "natgeo: raised to HIGH" in up.output
    listed = json.loads(_run(data, "queue", "list", "--json").output)
    assert [(i["username"], i["priority"]) for i in listed] == [("natgeo", "HIGH"), ("nasa", "LOW")]


def test_bump_retry_and_remove(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _run(data, "queue", "add", "alpha", "beta", "gamma")
    bumped = _run(data, "queue", "bump", "beta", "--priority", "high")
    assert bumped.exit_code == 0 and "beta is now HIGH" in bumped.output
    assert _run(data, "queue", "bump", "nobody").exit_code == 1

    _fail_everything(data)
    failed = json.loads(_run(data, "queue", "list", "--status", "failed", "--json").output)
    assert {i["username"] for i in failed} == {"alpha", "beta", "gamma"}
    one = _run(data, "queue", "retry", "alpha")
    assert one.exit_code == 0 and "alpha queued again" in one.output
    rest = _run(data, "queue", "retry", "--all-failed")
    assert "2 failed items queued again" in rest.output
    pending = json.loads(_run(data, "queue", "list", "--status", "pending", "--json").output)
    assert {i["username"] for i in pending} == {"alpha", "beta", "gamma"}
    assert all(i["attempts"] == 0 and i["last_error"] is None for i in pending)

    removed = _run(data, "queue", "remove", "gamma")
    assert removed.exit_code == 0 and "gamma removed from the queue" in removed.output
    assert _run(data, "queue", "remove", "gamma").exit_code == 1
    assert _run(data, "queue", "remove", "..bad").exit_code == 2


def test_status_reports_jobs_and_crawls_from_the_database_without_an_engine(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert _run(data, "analyze", "natgeo", "-c", "nasa").exit_code == 0
    assert _run(data, "crawl", "--seed", "natgeo", "--target", "5").exit_code == 0
    status = json.loads(_run(data, "status", "--json").output)
    assert status["engine_running"] is False
    assert status["jobs"] == {"pending": 1} and status["crawls"] == {"pending": 1}
    text = _run(data, "status").output
    assert "analysis jobs: pending=1" in text and "crawls: pending=1" in text


def test_an_unusable_queue_file_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _run(
        tmp_path / "d",
        "run",
        "--no-ui",
        "--simulate",
        "--processors",
        "queue",
        "--queue-file",
        str(blocker / "queue.csv"),
        "--exit-when-idle",
    )
    assert result.exit_code == 2 and "is not usable" in result.output


def test_analyze_wait_stops_following_when_the_engine_disappears(tmp_path: Path) -> None:
    """An engine that published its state and then died must not leave `analyze --wait` polling forever."""
    from viralspot_tui.config import load_settings
    from viralspot_tui.core.clock import utcnow
    from viralspot_tui.core.runtime import Runtime

    data = tmp_path / "d"

    async def publish_a_live_engine() -> None:
        runtime = await Runtime.open(load_settings(data_dir=str(data)), with_providers=False)
        try:
            await runtime.set_control_state("engine", json.dumps({"running": True, "heartbeat": utcnow().isoformat()}))
        finally:
            await runtime.close()

    asyncio.run(publish_a_live_engine())
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data), "analyze", "natgeo", "-c", "nasa", "--wait"], obj=CliState()
    )
    assert result.exit_code == 1
    assert "the engine stopped before job 1 finished" in result.output


def test_remove_takes_the_row_out_of_the_queue_file_for_good(tmp_path: Path) -> None:
    """The CSV backend merges rows it finds in the file; a removed name must not come back from it."""
    data, queue_file = tmp_path / "d", tmp_path / "queue.csv"
    queue_file.write_text("username,priority\nalpha_one,HIGH\nbeta_two,LOW\n")
    batch = [
        "run",
        "--no-ui",
        "--simulate",
        "--processors",
        "queue",
        "--queue-file",
        str(queue_file),
        "--exit-when-idle",
    ]
    assert _run(data, *batch).exit_code == 0
    assert "beta_two" in queue_file.read_text()

    env = {"VIRALSPOT_QUEUE__QUEUE_FILE": str(queue_file)}
    removed = CliRunner().invoke(cli, ["--data-dir", str(data), "queue", "remove", "beta_two"], obj=CliState(), env=env)
    assert removed.exit_code == 0, removed.output
    assert "beta_two" not in queue_file.read_text()  # the file matches at once, no engine running
    queue_file.write_text(queue_file.read_text() + "beta_two,LOW\n")  # added back by hand: a new request
    assert _run(data, *batch).exit_code == 0
    listed = json.loads(_run(data, "queue", "list", "--json").output)
    assert sorted(i["username"] for i in listed) == ["alpha_one", "beta_two"]

    # Removed while the file still shows the row (no write-back yet): the next merge drops it.
    _run(data, "queue", "remove", "alpha_one")
    assert _run(data, *batch).exit_code == 0
    assert "alpha_one" not in queue_file.read_text()
    assert [i["username"] for i in json.loads(_run(data, "queue", "list", "--json").output)] == ["beta_two"]
