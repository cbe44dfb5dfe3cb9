"""Headless shutdown by signal (docs/queue.md, "Shutdown"): the first drains, a second forces a fast, safe exit."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from cli_kit import start_runner


def _processing(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=5)
        return conn.execute("SELECT COUNT(*) FROM queue WHERE status = 'PROCESSING'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _start(tmp_path: Path, grace: str) -> tuple[subprocess.Popen[str], Path]:
    data = tmp_path / "data"
    queue = tmp_path / "queue.csv"
    queue.write_text("username\n" + "".join(f"slowpoke.{i}\n" for i in range(12)))
    env = {
        **os.environ,
        "VIRALSPOT_SIM_LATENCY_MS": "400",
        "VIRALSPOT_QUEUE__REELS_COUNT": "200",
        "VIRALSPOT_QUEUE__GRACE_SECONDS": grace,
        "VIRALSPOT_QUEUE__MAX_CONCURRENT": "4",
    }
    proc = start_runner(data, "--simulate", "--queue-file", str(queue), "--processors", "queue", env=env)
    deadline = time.monotonic() + 30
    while _processing(data / "viralspot.db") < 4:
        assert time.monotonic() < deadline and proc.poll() is None, "runner did not start work"
        time.sleep(0.1)
    return proc, data / "viralspot.db"


def test_second_sigterm_cuts_the_grace_period_short_and_loses_nothing(tmp_path: Path) -> None:
    proc, db = _start(tmp_path, grace="60")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None  # draining: in-flight items may take up to 60 s
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 30  # well inside the 60 s grace the first signal granted
    assert proc.returncode == 0, err[-2000:]
    assert "fast exit" in err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM queue WHERE status = 'PROCESSING'").fetchone()[0] == 0
    released = conn.execute("SELECT COUNT(*) FROM queue WHERE status = 'PENDING' AND lease_owner IS NULL").fetchone()[0]
    assert released >= 4 - conn.execute("SELECT COUNT(*) FROM queue WHERE status = 'COMPLETED'").fetchone()[0]


def test_sigint_drains_in_flight_items_back_to_pending_with_attempts_returned(tmp_path: Path) -> None:
    proc, db = _start(tmp_path, grace="0.2")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT status, attempts, lease_owner FROM queue").fetchall()
    assert all(status != "PROCESSING" and owner is None for status, _, owner in rows)
    assert all(attempts == 0 for status, attempts, _ in rows if status == "PENDING")
    # a shutdown is not an error: released items carry no last_error (issue 13)
    assert conn.execute("SELECT COUNT(*) FROM queue WHERE last_error IS NOT NULL").fetchone()[0] == 0
    assert "released at shutdown" not in (db.parent.parent / "queue.csv").read_text()
