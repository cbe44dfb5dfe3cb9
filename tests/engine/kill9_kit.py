"""Shared by the kill -9 tests: start a real headless runner on the simulator, read its database.

The runner is a subprocess (``viralspot run --no-ui --simulate``) so SIGKILL really kills a
process mid-work, and the next runner's start-up recovery meets a dead owner's leases.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNNER_ENV = {
    "VIRALSPOT_SIM_LATENCY_MS": "2",
    "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "2000",
    "VIRALSPOT_OPENAI__REQUESTS_PER_SECOND": "2000",
    "VIRALSPOT_LOG_LEVEL": "warning",
}


def start_runner(
    data: Path, processors: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "viralspot_tui.cli.main",
        "--data-dir",
        str(data),
        "run",
        "--no-ui",
        "--simulate",
        "--queue-file",
        str(data.parent / "queue.csv"),
        "--processors",
        processors,
        *extra,
    ]
    full_env = {**os.environ, **RUNNER_ENV, **(env or {})}
    return subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the runner's database from outside (empty until its tables exist)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def wait_for(proc: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 30) -> None:
    """Until ``condition`` holds; fails if the runner exits or makes no progress."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"runner exited early ({proc.returncode}): {err[-2000:]}")
        assert time.monotonic() < deadline, "the runner made no progress"
        time.sleep(0.01)


def finish(proc: subprocess.Popen[bytes], timeout: float = 45) -> None:
    """Wait for an ``--exit-when-idle`` runner; it must exit cleanly."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the last runner did not become idle: work was left behind") from None
    assert proc.returncode == 0, err.decode()[-3000:]


def integrity_ok(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()
