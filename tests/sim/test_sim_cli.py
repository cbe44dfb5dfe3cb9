"""``viralspot simulate --quirks``: a real process serving the chosen answers over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.main import cli

HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "h"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _missing_profile_status(tmp_path: Path, *flags: str) -> int:
    port = _free_port()
    env = {**os.environ, "VIRALSPOT_SIM_LATENCY_MS": "0"}
    args = [sys.executable, "-m", "viralspot_tui.cli.main", "--data-dir", str(tmp_path), "simulate"]
    proc = subprocess.Popen([*args, "--port", str(port), *flags], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.post(
                    f"http://127.0.0.1:{port}/ig_get_fb_profile.php",
                    data={"username_or_url": "missing_cli"},
                    headers=HEADERS,
                )
                return resp.status_code
            except httpx.ConnectError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_quirks_flag_picks_the_answers(tmp_path):
    assert _missing_profile_status(tmp_path) == 200  # the real host's HTTP-200 "does not exist"
    assert _missing_profile_status(tmp_path, "--quirks", "off") == 404


def test_bad_simulator_setting_is_a_usage_error_not_a_traceback(tmp_path):
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "simulate"], obj=CliState(), env={"VIRALSPOT_SIM_QUIRKS": "sometimes"}
    )
    assert result.exit_code == 2 and "quirks must be one of real, off" in result.output
    assert "Traceback" not in result.output
