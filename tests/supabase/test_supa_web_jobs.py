"""Viral jobs submitted by the web form, run by consoles (docs/supabase-results.md, "Web-form jobs").

A job is written straight into ``viral_ideas_queue`` as the ViralSpot web form writes it; an
engine with the Supabase backend and the viral processor takes it, runs it against the
simulator and reports it. The remote rows are read back with a direct connection, by the
original's column names, as the web form's readers would.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit import make_settings, make_sim, public_names  # noqa: E402

from viralspot_tui.core.headless import run_headless  # noqa: E402


@pytest.fixture
async def web(db: Any) -> AsyncIterator[Any]:
    """The direct connection, with no viral jobs before or after (other tests' engines take pending ones)."""
    await db.execute("TRUNCATE public.viral_ideas_queue CASCADE")
    yield db
    await db.execute("TRUNCATE public.viral_ideas_queue CASCADE")


async def submit(db: Any, session: str, primary: str, competitors: list[str], **extra: Any) -> str:
    """A job as the web form writes it: pending, with its competitors."""
    columns = ["session_id", "primary_username", "content_strategy", *extra]
    values = [session, primary, '{"contentType": "reels", "targetAudience": "founders", "goals": "reach"}']
    values += list(extra.values())
    marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
    qid = await db.fetchval(
        f"INSERT INTO public.viral_ideas_queue ({', '.join(columns)}) VALUES ({marks}) RETURNING id", *values
    )
    for name in competitors:
        await db.execute(
            "INSERT INTO public.viral_ideas_competitors (queue_id, competitor_username) VALUES ($1, $2)", qid, name
        )
    return str(qid)


def settings_for(tmp_path: Path, stack: Any, name: str, **supabase: Any) -> Any:
    return make_settings(
        tmp_path / name,
        queue={"backend": "supabase", "reels_count": 12},
        viral={"max_concurrent_jobs": 2, "primary_transcripts": 1, "competitor_transcripts": 2, "hooks": 2},
        supabase={"url": stack.api_url, "service_role_key": stack.service_key, "lease_seconds": 30, **supabase},
    )


async def run(settings: Any, sim: Any) -> int:
    return await asyncio.wait_for(
        run_headless(settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("viral",)),
        timeout=120,
    )


def local(settings: Any, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(settings.db_path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


async def test_a_web_form_job_is_taken_run_and_reported_under_its_own_session(tmp_path, stack, web):
    sim = make_sim()
    primary, *rivals = public_names(sim, 3, prefix="webform", min_reels=6)
    qid = await submit(web, "web-session-1", primary, rivals)
    settings = settings_for(tmp_path, stack, "one")
    assert await run(settings, sim) == 0

    job = await web.fetchrow(
        "SELECT status, total_runs, progress_percentage, current_step, error_message, last_analysis_at"
        " FROM public.viral_ideas_queue WHERE id = $1",
        qid,
    )
    assert (job["status"], job["total_runs"], job["progress_percentage"]) == ("completed", 1, 100), dict(job)
    assert job["error_message"] is None and job["last_analysis_at"] is not None
    # The console wrote onto the web form's job, never a job of its own.
    assert await web.fetchval("SELECT count(*) FROM public.viral_ideas_queue") == 1
    results = await web.fetch(
        "SELECT id, analysis_run, analysis_type, status FROM public.viral_analysis_results WHERE queue_id = $1", qid
    )
    assert [(r["analysis_run"], r["analysis_type"], r["status"]) for r in results] == [(1, "initial", "completed")]
    analysis = results[0]["id"]
    scripts = await web.fetchval("SELECT count(*) FROM public.viral_scripts WHERE analysis_id = $1", analysis)
    reels = await web.fetch(
        "SELECT reel_type, username FROM public.viral_analysis_reels WHERE analysis_id = $1", analysis
    )
    assert scripts == 2
    assert {r["reel_type"] for r in reels} == {"primary", "competitor"}
    assert {r["username"] for r in reels} <= {primary, *rivals}
    comp = await web.fetch(
        "SELECT competitor_username, processing_status FROM public.viral_ideas_competitors WHERE queue_id = $1", qid
    )
    assert sorted(r["competitor_username"] for r in comp) == sorted(rivals)
    assert {r["processing_status"] for r in comp} == {"fetched"}, [dict(r) for r in comp]
    lease = await web.fetchrow(
        "SELECT outcome, lease_expires_at FROM public.viralspot_viral_leases WHERE queue_id = $1", qid
    )
    assert (lease["outcome"], lease["lease_expires_at"]) == ("completed", None)
    assert local(settings, "SELECT session_id, remote_state, reported_runs FROM web_form_jobs") == [
        ("web-session-1", "completed", 1)
    ]


class Console:
    """One console's pieces, driven step by step: a runtime on its own SQLite file, the outbox
    pusher and the web-form job step, all against the real REST layer."""

    def __init__(self, runtime: Any, client: Any, owner: str) -> None:
        from viralspot_tui.core.backends.supabase_outbox import OutboxPusher
        from viralspot_tui.core.backends.supabase_web_jobs import WebFormJobs
        from viralspot_tui.core.store.outbox_store import OutboxStore

        self.runtime = runtime
        self.notes: list[str] = []
        self.box = OutboxStore(runtime.db)
        self.pusher = OutboxPusher(self.box, client)
        self.jobs = WebFormJobs(runtime, client, owner, lambda message, level="info": self.notes.append(message))

    async def sync(self) -> None:
        """What one backend sync does for web-form jobs: outbox first, then renew/report/claim."""
        await self.pusher.push()
        await self.jobs.renew(force=True)
        await self.jobs.report()
        await self.jobs.claim(force=True)

    async def run_all(self) -> list[Any]:
        """Run every runnable local job here and now, as the viral processor would."""
        from viralspot_tui.core.viral import api

        outcomes = []
        for job in await api.list_jobs(self.runtime):
            if job.status.value == "pending":
                outcomes.append(await api.run_job_now(self.runtime, job.id))
        return outcomes


@pytest.fixture
async def console(tmp_path, stack) -> AsyncIterator[Any]:
    from viralspot_tui.core.backends.supabase_client import SupabaseQueue
    from viralspot_tui.core.runtime import Runtime

    sim = make_sim()
    consoles: list[tuple[Any, Any]] = []

    async def make(name: str) -> Console:
        settings = settings_for(tmp_path, stack, name, job_lease_seconds=30)
        runtime = await Runtime.open(settings, transport=sim.transport(), simulator=sim, processors=("viral",))
        client = SupabaseQueue(stack.api_url, stack.service_key)
        consoles.append((runtime, client))
        c = Console(runtime, client, owner=f"test-{name}")
        await c.box.set_capture(True)
        return c

    make.sim = sim  # type: ignore[attr-defined]
    yield make
    for runtime, client in consoles:
        await client.close()
        await runtime.close()


async def test_a_job_taken_over_elsewhere_is_cancelled_here_and_never_reported(console, web):
    sim = console.sim
    primary, *rivals = public_names(sim, 3, prefix="takeover", min_reels=6)
    qid = await submit(web, "web-takeover", primary, rivals)
    a, b = await console("a"), await console("b")
    await a.sync()
    assert len(await a.runtime.db.read(lambda c: c.execute("SELECT * FROM web_form_jobs").fetchall())) == 1
    await b.sync()  # leased to a: b finds nothing
    assert b.jobs.claimed_total == 0
    await web.execute(
        "UPDATE public.viralspot_viral_leases SET lease_expires_at = now() - interval '1 second' WHERE queue_id = $1",
        qid,
    )
    await b.sync()  # a's lease ran out: b takes the job over
    assert b.jobs.claimed_total == 1
    await a.sync()  # a's renewal finds its token lost: its local job stops, nothing is reported
    from viralspot_tui.core.viral import api

    (job,) = await api.list_jobs(a.runtime)
    assert job.status.value == "failed" and any("another console took the job over" in n for n in a.notes)
    await b.run_all()
    await b.sync()
    await a.sync()
    row = await web.fetchrow("SELECT status, total_runs FROM public.viral_ideas_queue WHERE id = $1", qid)
    assert (row["status"], row["total_runs"]) == ("completed", 1)
    owner = await web.fetchval("SELECT lease_owner FROM public.viralspot_viral_leases WHERE queue_id = $1", qid)
    assert owner == "test-b"


async def test_a_rerun_takes_the_job_back_and_counts_once_more(console, web):
    from viralspot_tui.core.viral import api

    primary, *rivals = public_names(console.sim, 3, prefix="rerun", min_reels=6)
    qid = await submit(web, "web-rerun", primary, rivals, auto_rerun_enabled=True, rerun_frequency_hours=6)
    a = await console("a")
    await a.sync()
    (job,) = await api.list_jobs(a.runtime)
    assert job.auto_rerun and job.rerun_every_hours == 6
    await a.run_all()
    await a.sync()
    assert await web.fetchval("SELECT total_runs FROM public.viral_ideas_queue WHERE id = $1", qid) == 1
    await api.schedule_rerun_now(a.runtime, job.id)  # the schedule's next run, brought forward
    await a.run_all()  # it ran and finished between two syncs: the job is taken back, then reported
    await a.sync()
    await a.sync()  # nothing more to report: counted once
    row = await web.fetchrow(
        "SELECT status, total_runs, progress_percentage FROM public.viral_ideas_queue WHERE id = $1", qid
    )
    assert (row["status"], row["total_runs"], row["progress_percentage"]) == ("completed", 2, 100)
    runs = await web.fetch(
        "SELECT analysis_run, analysis_type FROM public.viral_analysis_results WHERE queue_id = $1 ORDER BY 1", qid
    )
    assert [(r["analysis_run"], r["analysis_type"]) for r in runs] == [(1, "initial"), (2, "recurring")]


async def test_a_job_the_console_cannot_run_is_reported_failed_with_the_reason(console, web):
    primary = public_names(console.sim, 1, prefix="lonely", min_reels=6)[0]
    qid = await submit(web, "web-bad", primary, [primary])  # its only competitor is the creator itself
    a = await console("a")
    await a.sync()
    from viralspot_tui.core.viral import api

    assert await api.list_jobs(a.runtime) == []
    row = await web.fetchrow("SELECT status, error_message FROM public.viral_ideas_queue WHERE id = $1", qid)
    assert row["status"] == "failed" and "active competitors, got 0" in row["error_message"], dict(row)
    assert any("web-bad refused" in n for n in a.notes)


async def test_a_job_the_web_form_deleted_is_not_brought_back(console, web):
    primary, *rivals = public_names(console.sim, 3, prefix="deleted", min_reels=6)
    qid = await submit(web, "web-deleted", primary, rivals)
    a = await console("a")
    await a.sync()
    await web.execute("DELETE FROM public.viral_ideas_queue WHERE id = $1", qid)
    await a.run_all()  # the run goes on here (offline it could not know), then its rows are refused
    await a.sync()
    assert await web.fetchval("SELECT count(*) FROM public.viral_ideas_queue") == 0
    listing = await a.box.listing()
    reasons = [e.reason or "" for e in listing["settled"] if e.state == "rejected"]
    assert reasons and any("web-deleted" in r for r in reasons), reasons
    assert listing["depth"] == 0  # refused and skipped, nothing stuck behind them
    state = await a.runtime.db.read(lambda c: c.execute("SELECT remote_state FROM web_form_jobs").fetchone()[0])
    assert state == "lost"


async def test_a_finished_job_is_reported_only_after_the_outbox_delivered_its_results(console, web):
    primary, *rivals = public_names(console.sim, 3, prefix="ordered", min_reels=6)
    qid = await submit(web, "web-ordered", primary, rivals)
    a = await console("a")
    await a.sync()
    await a.run_all()
    await a.jobs.report()  # the results still wait in the outbox (offline, say): no finish yet
    status = await web.fetchval("SELECT status FROM public.viral_ideas_queue WHERE id = $1", qid)
    assert status == "processing"
    assert await web.fetchval("SELECT count(*) FROM public.viral_analysis_results WHERE queue_id = $1", qid) == 0
    await a.pusher.push()
    await a.jobs.report()
    assert await web.fetchval("SELECT status FROM public.viral_ideas_queue WHERE id = $1", qid) == "completed"
    assert (
        await web.fetchval(
            "SELECT count(*) FROM public.viral_scripts s JOIN public.viral_analysis_results r"
            " ON r.id = s.analysis_id WHERE r.queue_id = $1",
            qid,
        )
        == 2
    )
