"""Control commands from a second process change a running runner's state (docs/cli.md)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli_kit import ENV, start_runner
from cli_kit import cli as _cli
from cli_kit import status as _status
from cli_kit import until as _until


def test_pause_resume_add_and_status_against_a_running_runner(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    runner = start_runner(data, "--simulate", "--queue-file", str(queue), "--processors", "queue", env=ENV)
    try:
        _until(lambda: _status(data)["engine_running"])

        paused = _cli(data, "pause", "queue")
        assert paused.returncode == 0 and "queue paused" in paused.stdout
        assert _until(lambda: _status(data)["processors"].get("queue", {}).get("state") == "paused")

        added = _cli(data, "queue", "add", "natgeo", "@nasa", "bad..name", "--priority", "high")
        assert added.returncode == 1  # one name refused, the others added
        assert "natgeo: added at HIGH" in added.stdout and "nasa: added at HIGH" in added.stdout
        assert "cannot contain '..'" in added.stderr
        time.sleep(1.0)
        assert _status(data)["queue"]["HIGH"] == {"PENDING": 2}  # paused: nothing was claimed

        resumed = _cli(data, "resume", "queue")
        assert "queue resumed" in resumed.stdout
        assert _until(lambda: _status(data)["queue"]["HIGH"] == {"COMPLETED": 2})

        listed = json.loads(_cli(data, "queue", "list", "--json").stdout)
        assert sorted(i["username"] for i in listed) == ["nasa", "natgeo"]
        assert "natgeo" in queue.read_text()  # statuses written back to the CSV file
    finally:
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err[-2000:]
    assert _status(data)["engine_running"] is False


def test_pause_without_a_runner_is_remembered_for_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = _cli(data, "pause", "crawler")
    assert result.returncode == 0 and "no engine running" in result.stdout
    assert _cli(data, "config", "show").returncode == 0


def test_bad_usage_exits_2_and_secrets_are_masked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _cli(data, "queue", "add", "..bad").returncode == 2
    assert _cli(data, "queue", "retry").returncode == 2
    env_secret = {**ENV, "RAPIDAPI_KEY": "rk-super-secret-value", "OPENAI_API_KEY": "sk-another-secret"}
    shown = subprocess.run(
        [sys.executable, "-m", "viralspot_tui.cli.main", "--data-dir", str(data), "config", "show"],
        env=env_secret,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0
    assert "rk-super-secret-value" not in shown.stdout + shown.stderr
    assert "sk-another-secret" not in shown.stdout + shown.stderr
    assert 'rapidapi.key = "**********"' in shown.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "viralspot_tui.cli.main",
            "--data-dir",
            str(data),
            "run",
            "--no-ui",
            "--processors",
            "queue",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "RAPIDAPI_KEY" in missing.stderr and "--simulate" in missing.stderr


def test_real_provider_path_against_a_loopback_simulator(tmp_path: Path) -> None:
    """`viralspot simulate` + `--rapidapi-base-url`/`OPENAI_BASE_URL`: the real code path, no --simulate."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "viralspot_tui.cli.main", "simulate", "--port", str(port)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        env = {**ENV, "RAPIDAPI_KEY": "rk-loopback", "OPENAI_API_KEY": "sk-loopback", "OPENAI_BASE_URL": base + "/v1"}
        data = tmp_path / "data"
        args = [sys.executable, "-m", "viralspot_tui.cli.main", "--data-dir", str(data), "--rapidapi-base-url", base]

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        _until(listening, timeout=20)
        added = subprocess.run(
            [*args, "queue", "add", "natgeo", "missing_nobody"], env=env, capture_output=True, text=True, timeout=60
        )
        assert added.returncode == 0, added.stderr
        run = subprocess.run(
            [
                *args,
                "run",
                "--no-ui",
                "--processors",
                "queue",
                "--exit-when-idle",
                "--queue-file",
                str(tmp_path / "q.csv"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert "rk-loopback" not in run.stderr and "SIMULATED" not in run.stderr
        listed = {
            i["username"]: i
            for i in json.loads(
                subprocess.run([*args, "queue", "list", "--json"], env=env, capture_output=True, text=True).stdout
            )
        }
        assert listed["natgeo"]["status"] == "COMPLETED"
        assert (
            listed["missing_nobody"]["status"] == "FAILED"
            and "not found" in listed["missing_nobody"]["last_error"].lower()
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listed(data: Path) -> dict[str, tuple[str, str]]:
    result = _cli(data, "queue", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {i["username"]: (i["priority"], i["status"]) for i in json.loads(result.stdout)}


def test_file_edits_bump_retry_and_remove_against_a_running_runner(tmp_path: Path) -> None:
    data, queue = tmp_path / "data", tmp_path / "queue.csv"
    queue.write_text("username,priority\nalpha_one,LOW\nmissing_user,LOW\n")
    runner = start_runner(
        data,
        "--simulate",
        "--queue-file",
        str(queue),
        "--processors",
        "queue",
        env={**ENV, "VIRALSPOT_QUEUE__CSV_SYNC_SECONDS": "0.2"},
    )
    try:
        _until(lambda: _listed(data) == {"alpha_one": ("LOW", "COMPLETED"), "missing_user": ("LOW", "FAILED")})
        assert _cli(data, "pause", "queue").returncode == 0
        assert _until(lambda: _status(data)["processors"].get("queue", {}).get("state") == "paused")

        with queue.open("a") as handle:  # the operator appends rows while the runner runs
            handle.write("beta_two,LOW\ngone_user,LOW\n")
        _until(lambda: {"beta_two", "gone_user"} <= set(_listed(data)))
        assert _cli(data, "queue", "bump", "beta_two", "--priority", "high").returncode == 0
        assert _cli(data, "queue", "retry", "missing_user").returncode == 0
        assert _cli(data, "queue", "remove", "gone_user").returncode == 0
        assert _listed(data) == {
            "alpha_one": ("LOW", "COMPLETED"),
            "missing_user": ("LOW", "PENDING"),
            "beta_two": ("HIGH", "PENDING"),
        }
        _until(lambda: "gone_user" not in queue.read_text())  # the runner's write-back drops it for good

        assert _cli(data, "resume", "queue").returncode == 0
        _until(lambda: _listed(data)["beta_two"] == ("HIGH", "COMPLETED"))
        _until(lambda: _listed(data)["missing_user"] == ("LOW", "FAILED"))
        assert "gone_user" not in _listed(data)
    finally:
        runner.send_signal(signal.SIGTERM)
        _, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err[-2000:]
    rows = queue.read_text().splitlines()
    assert "gone_user" not in queue.read_text() and any(r.startswith("beta_two,") and ",COMPLETED," in r for r in rows)
