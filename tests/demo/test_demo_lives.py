"""The live demo keeps working after its first wave (issue 16), and the batch demo still ends.

The whole engine runs headless on the simulator with a compressed :class:`DemoPace` (seconds
instead of minutes, a simulated day every two seconds), so one test sees what a visitor sees
over a quarter of an hour: urgent API requests completing, scheduled crawls, a recurring
analysis run that found new reels, a transient fault served and retried — and, once stopped,
nothing left PROCESSING anywhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from testkit import make_settings, wait_for

from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.demo import DEMO_PRIMARY, DemoPace, seed_demo_work
from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.events import Event
from viralspot_tui.core.models.queue import Status
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.models import JobStatus

ROOT = Path(__file__).resolve().parents[2]
FAST = DemoPace(
    api_request_every=0.6,
    fault_every=1.0,
    rerun_every_hours=2.0 / 3600,
    crawl_every_minutes=1.5 / 60,
    crawl_daily_budget=200,
    crawl_target=2,
    crawl_rounds=1,
    time_speed=43_200.0,  # a simulated day every two seconds
    time_lag_days=30.0,
)
FAULT_OUTCOMES = ("http_500", "http_503", "rate_limited")


def demo_settings(tmp_path: Path, pace: DemoPace | None) -> Any:
    queue_file = tmp_path / "demo-queue.csv"
    shutil.copy(ROOT / "queue.csv.sample", queue_file)
    overrides = pace.settings_overrides() if pace is not None else {}
    sim = {"latency_ms": 1.0, **overrides.pop("sim", {})}
    return make_settings(tmp_path, queue={"queue_file": str(queue_file), "max_attempts": 5}, sim=sim, **overrides)


def processing_rows(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            "viral": conn.execute("SELECT COUNT(*) FROM viral_ideas_queue WHERE status = 'processing'").fetchone()[0],
            "crawler": conn.execute("SELECT COUNT(*) FROM crawler_requests WHERE status = 'running'").fetchone()[0],
        }
    finally:
        conn.close()


def queue_rows(db_path: Path, names: set[str]) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db_path)
    try:
        marks = ",".join("?" * len(names))
        return conn.execute(f"SELECT source, priority FROM queue WHERE username IN ({marks})", list(names)).fetchall()
    finally:
        conn.close()


async def test_the_live_demo_keeps_producing_work_until_stopped(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, FAST)
    seen: list[Event] = []
    async with open_engine(settings, refresh_seconds=0.1) as supervisor:
        runtime = supervisor.runtime
        runtime.events.subscribe(seen.append)
        await supervisor.start()
        feed = await seed_demo_work(supervisor, FAST)
        assert feed is not None
        sim = runtime.simulator

        def kinds(kind: str) -> list[Event]:
            return [e for e in seen if e.kind == kind]

        def requested() -> set[str]:
            return {e.data["username"] for e in kinds("demo.request")}

        def api_done() -> set[str]:
            return {e.data["username"] for e in kinds("queue.completed")} & requested()

        def recurring_with_new_reels() -> list[Event]:
            return [e for e in kinds("viral.completed") if e.data["run"] >= 2 and "no new" not in e.message]

        def faults_retried() -> int:
            """Served faults followed by a successful call for the same thing: retried, not lost."""
            calls = sim.stats.calls
            faults = [c for c in calls if c.outcome in FAULT_OUTCOMES]
            return sum(
                any(
                    c.status == 200 and (c.endpoint, c.key) == (f.endpoint, f.key) and c.started_at > f.started_at
                    for c in calls
                )
                for f in faults
            )

        def state() -> str:
            return (
                f"api requests done {len(api_done())}, crawls finished {len(kinds('crawler.finished'))}, "
                f"rounds {len(kinds('crawler.round'))}, recurring runs {[e.message for e in kinds('viral.completed')]}, "
                f"faults retried {faults_retried()}"
            )

        await wait_for(
            lambda: (
                len(api_done()) >= 2
                and len(kinds("crawler.finished")) >= 3
                and recurring_with_new_reels()
                and faults_retried() >= 1
            ),
            timeout=120,
            interval=0.1,
            what=state,
        )
        snapshot = await supervisor.refresh()
        assert snapshot.sim_speed == FAST.time_speed and snapshot.to_json()["sim_speed"] == FAST.time_speed
        assert sim.now() < snapshot.at  # the faster world lags behind the clock, never ahead of it

        # Work kept arriving after the first wave: the API requests are new HIGH rows from "api".
        api_rows = queue_rows(settings.db_path, requested())
        assert api_rows and all(row == ("api", "HIGH") for row in api_rows)
        crawls = await CrawlerStore(runtime.db, runtime.clock).recent_rounds(50)
        assert len(crawls) >= 3
        jobs = await api.list_jobs(runtime)
        [job] = [j for j in jobs if j.primary_username == DEMO_PRIMARY]
        assert job.auto_rerun and job.runs >= 2 and job.status != JobStatus.FAILED
        assert kinds("demo.fault") and not kinds("viral.failed")

        await supervisor.stop(grace_seconds=2.0)
        await asyncio.wait_for(runtime.extras["demo_feed"], timeout=5)  # the feeder ends with the engine
        counts = await runtime.queue.counts()
        assert sum(n for (_, status), n in counts.items() if status == Status.PROCESSING) == 0
    assert processing_rows(settings.db_path) == {"viral": 0, "crawler": 0}


async def test_the_batch_demo_seeds_the_first_wave_only(tmp_path: Path) -> None:
    async with open_engine(demo_settings(tmp_path, None), refresh_seconds=0.1) as supervisor:
        await supervisor.start()
        assert await seed_demo_work(supervisor) is None
        [job] = await api.list_jobs(supervisor.runtime)
        assert not job.auto_rerun and "demo_feed" not in supervisor.runtime.extras
        assert supervisor.snapshot().sim_speed == 1.0
        assert await seed_demo_work(supervisor) is None  # once per data folder
        assert len(await api.list_jobs(supervisor.runtime)) == 1
        # A live demo later in the same folder adds the recurring job it promises, once.
        feed = await seed_demo_work(supervisor, FAST)
        assert feed is not None
        await seed_demo_work(supervisor, FAST)
        jobs = await api.list_jobs(supervisor.runtime)
        assert len(jobs) == 2 and sum(j.auto_rerun for j in jobs) == 1
        await supervisor.stop(grace_seconds=0)


def test_demo_exit_when_idle_still_finishes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "VIRALSPOT_DATA_DIR": str(tmp_path / "data"),
        "VIRALSPOT_SIM_LATENCY_MS": "1",
        "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "1000",  # the real API's politeness limit, not needed here
    }
    done = subprocess.run(
        [sys.executable, "-m", "viralspot_tui.cli.main", "demo", "--no-ui", "--exit-when-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "idle: nothing pending" in done.stderr and "time x" not in done.stderr
