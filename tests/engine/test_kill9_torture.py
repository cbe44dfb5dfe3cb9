"""kill -9 torture (docs/performance.md): a headless runner is killed at random moments and restarted.

Each runner is killed a moment after it completed a few items, so every kill lands with work in
flight (checked). At the end every valid item is COMPLETED exactly once, no content row is
duplicated, nothing is left PROCESSING, the CSV file parses, and SQLite's integrity check is ok.
Seeded, and kept fast with a small simulator latency and small reel pages.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from kill9_kit import query, start_runner
from testkit import make_sim

from viralspot_tui.core.backends.csv_format import parse_csv

ITEMS = 400
KILLS = 12


TORTURE_ENV = {  # on top of kill9_kit.RUNNER_ENV
    "VIRALSPOT_QUEUE__MAX_CONCURRENT": "8",
    "VIRALSPOT_QUEUE__REELS_COUNT": "12",
    "VIRALSPOT_QUEUE__SIMILAR_COUNT": "5",
    "VIRALSPOT_QUEUE__CSV_SYNC_SECONDS": "0.2",
}


def _runner(data: Path, *extra: str) -> subprocess.Popen[bytes]:
    """A headless runner on the queue file beside ``data`` (tmp_path/queue.csv)."""
    return start_runner(data, "queue", *extra, env=TORTURE_ENV)


def _count(db: Path, status: str) -> int:
    rows = query(db, "SELECT COUNT(*) FROM queue WHERE status = ?", (status,))
    return rows[0][0] if rows else 0


def _let_it_work(proc: subprocess.Popen[bytes], db: Path, until_completed: int, timeout: float = 60) -> None:
    """Wait until the runner has completed items in this life, so the kill lands in the middle of work."""
    deadline = time.monotonic() + timeout
    while _count(db, "COMPLETED") < until_completed:
        if proc.poll() is not None:
            raise AssertionError(f"runner exited early: {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, "the runner made no progress"
        time.sleep(0.02)


def test_kill9_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    sim = make_sim()
    names = [f"torture.{i}" for i in range(ITEMS)]
    valid = {n for n in names if sim.world.profile(n).kind == "public"}
    queue = tmp_path / "queue.csv"
    queue.write_text("username,priority\n" + "".join(f"{n},{rng.choice(['HIGH', 'LOW'])}\n" for n in names))
    data = tmp_path / "data"
    db = data / "viralspot.db"

    kills_in_flight = 0
    for _kill in range(KILLS):
        before = _count(db, "COMPLETED")
        proc = _runner(data)
        _let_it_work(proc, db, before + rng.randint(1, 6))
        time.sleep(rng.uniform(0.0, 0.05))
        kills_in_flight += _count(db, "PROCESSING") > 0
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reaped (its pid is really gone for the dead-owner check), pipes closed
    assert _count(db, "COMPLETED") < len(valid), "the killed runners left nothing for the last one"
    assert kills_in_flight >= KILLS - 2, f"only {kills_in_flight} of {KILLS} kills met work in flight"

    final = _runner(data, "--exit-when-idle")
    try:
        _, err = final.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        final.kill()
        raise
    assert final.returncode == 0, err.decode()[-3000:]

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT username, status, COUNT(*) FROM queue GROUP BY username, status").fetchall()
    by_name: dict[str, list[tuple[str, int]]] = {}
    for username, status, count in rows:
        by_name.setdefault(username, []).append((status, count))
    assert set(by_name) == set(names)
    for name in valid:
        assert by_name[name] == [("COMPLETED", 1)], (name, by_name[name])
    for name in set(names) - valid:
        assert by_name[name] == [("FAILED", 1)], (name, by_name[name])
    assert (
        conn.execute("SELECT COUNT(*) FROM queue WHERE status IN ('PROCESSING','PAUSED','PENDING')").fetchone()[0] == 0
    )
    dupes = conn.execute("SELECT shortcode, COUNT(*) FROM content GROUP BY shortcode HAVING COUNT(*) > 1").fetchall()
    assert dupes == []
    scraped = {r[0] for r in conn.execute("SELECT DISTINCT username FROM content")}
    assert scraped == valid
    assert conn.execute("SELECT COUNT(*) FROM pipeline_checkpoints").fetchone()[0] == 0

    parsed = parse_csv(queue.read_bytes())
    assert parsed.errors == []
    statuses = {row.username: row.status.value for _, row in parsed.rows}
    assert statuses == {n: ("COMPLETED" if n in valid else "FAILED") for n in names}
