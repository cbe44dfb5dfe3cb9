"""Helpers for driving ``viralspot`` as operators and scripts do: as separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = {
    **os.environ,
    "VIRALSPOT_SIM_LATENCY_MS": "2",
    "VIRALSPOT_QUEUE__REELS_COUNT": "12",
    "VIRALSPOT_LOG_LEVEL": "warning",
    "VIRALSPOT_STATUS_INTERVAL_SECONDS": "60",
}
CLI = [sys.executable, "-m", "viralspot_tui.cli.main"]


def cli(
    data: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--data-dir", str(data), *args], env=env or ENV, capture_output=True, text=True, timeout=timeout
    )


def start_runner(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``viralspot run --no-ui ARGS`` in the background (stderr kept for the assertion messages)."""
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data), "run", "--no-ui", *args],
        env=env or ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def status(data: Path) -> dict[str, Any]:
    result = cli(data, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
