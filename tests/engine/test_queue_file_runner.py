"""The CSV queue file with the runner as a subprocess (issue 13): timestamps, ownership, defaults."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from viralspot_tui.core.backends.csv_format import parse_csv
from viralspot_tui.core.clock import from_iso

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_")}
    env.update({"PYTHONPATH": str(ROOT), "VIRALSPOT_SIM_LATENCY_MS": "2", **extra})
    return env


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viralspot_tui.cli.main", *args],
        env=env or _env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _run(data: Path, queue: Path | None, *extra: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    args = ["--data-dir", str(data), "run", "--no-ui", "--simulate", "--processors", "queue", "--exit-when-idle"]
    if queue is not None:
        args += ["--queue-file", str(queue)]
    return _cli(*args, *extra, env=env, cwd=cwd)


def test_a_completed_item_is_stamped_with_the_moment_it_completed(tmp_path: Path) -> None:
    """completed_at, updated_at and last_attempt come after the fetch, not at its start."""
    data, queue = tmp_path / "d", tmp_path / "queue.csv"
    queue.write_text("username,priority\nnatgeo,HIGH\n")
    result = _run(data, queue, env=_env(VIRALSPOT_SIM_LATENCY_MS="150"))
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(data / "viralspot.db")
    completed, updated = conn.execute("SELECT completed_at, updated_at FROM queue WHERE username = 'natgeo'").fetchone()
    (stored,) = conn.execute("SELECT last_scraped_at FROM primary_profiles WHERE username = 'natgeo'").fetchone()
    conn.close()
    # the profile is stored in the completing transaction, after every (slow) fetch
    assert from_iso(completed) >= from_iso(stored)
    assert updated == completed
    (row,) = [r for _, r in parse_csv(queue.read_bytes()).rows if r.username == "natgeo"]
    assert row.last_attempt is not None and row.last_attempt >= from_iso(stored)
