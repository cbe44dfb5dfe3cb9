"""kill -9 mid-job: a crash while a viral ideas job runs recovers like a crash mid-item.

Headless runners hosting the viral processor are killed with SIGKILL at seeded moments (when a
job in this life reached a random progress) and restarted. Each restart must take back the dead
runner's jobs at once — its leases are held by a pid that no longer exists — and resume them
from their checkpoints; the last runner exits when idle, which it cannot do while a dead
owner's job still shows processing (the lease lasts a minute, longer than the test waits).
At the end every job completed exactly once, with one run, one result row and one set of
scripts; nothing is left processing; no row is duplicated; SQLite's integrity check is ok.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

from kill9_kit import finish, integrity_ok, query, start_runner, wait_for
from testkit import make_sim, public_names

from viralspot_tui.config import load_settings
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api

JOBS = 8
KILLS = 6
ENV = {"VIRALSPOT_VIRAL__MAX_CONCURRENT_JOBS": "2", "VIRALSPOT_QUEUE__LEASE_SECONDS": "60"}


async def _create_jobs(data: Path, names: list[str]) -> None:
    runtime = await Runtime.open(load_settings(data_dir=data, simulate=True), with_providers=False)
    try:
        for i in range(JOBS):
            primary, *rivals = names[3 * i : 3 * i + 3]
            await api.create_job(runtime, primary, rivals)
    finally:
        await runtime.close()


def _count(db: Path, status: str) -> int:
    rows = query(db, "SELECT COUNT(*) FROM viral_ideas_queue WHERE status = ?", (status,))
    return rows[0][0] if rows else 0


def _progressed(db: Path, completed: int, progress: int) -> bool:
    """``completed`` jobs are done and a job in flight passed ``progress`` (claims restart at 0)."""
    return _count(db, "completed") >= completed and bool(
        query(db, "SELECT 1 FROM viral_ideas_queue WHERE status = 'processing' AND progress >= ?", (progress,))
    )


def test_kill9_mid_job_resumes_every_job_once(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    names = public_names(make_sim(), 3 * JOBS, prefix="k9job")
    data = tmp_path / "data"
    db = data / "viralspot.db"
    asyncio.run(_create_jobs(data, names))

    kills = kills_in_flight = 0
    for _kill in range(KILLS):
        before = _count(db, "completed")
        if before >= JOBS - 1:  # leave work for the last runner
            break
        kills += 1
        proc = start_runner(data, "viral", env=ENV)
        target = min(JOBS - 2, before + rng.randint(0, 2))
        wait_for(proc, lambda t=target, p=rng.randint(1, 95): _progressed(db, t, p))
        time.sleep(rng.uniform(0.0, 0.03))
        kills_in_flight += _count(db, "processing") > 0
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reaped (its pid is really gone for the dead-owner check), pipes closed
    assert kills >= KILLS - 2 and _count(db, "completed") < JOBS, "the killed runners left nothing to recover"
    assert kills_in_flight >= kills - 1, f"only {kills_in_flight} of {kills} kills met a job in flight"

    finish(start_runner(data, "viral", "--exit-when-idle", env=ENV))

    assert integrity_ok(db)
    jobs = query(db, "SELECT id, status, runs, progress, lease_owner FROM viral_ideas_queue ORDER BY id")
    assert [(status, runs, progress, owner) for _, status, runs, progress, owner in jobs] == [
        ("completed", 1, 100, None)
    ] * JOBS
    results = query(db, "SELECT job_id, run_number, status FROM viral_analysis_results ORDER BY job_id")
    assert results == [(job_id, 1, "completed") for job_id, *_ in jobs]
    scripts = query(db, "SELECT job_id, COUNT(*), COUNT(DISTINCT position) FROM viral_scripts GROUP BY job_id")
    assert len(scripts) == JOBS and all(n == distinct and n > 0 for _, n, distinct in scripts), scripts
    dupes = query(db, "SELECT shortcode, COUNT(*) FROM content GROUP BY shortcode HAVING COUNT(*) > 1")
    assert dupes == []
