"""A whole job against the simulator: completion, export, parallel fetch, failures, reuse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from viral_kit import make_sim, public_names, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.export import export_bundle, to_json, to_markdown
from viralspot_tui.core.viral.models import ContentStrategy, JobStatus
from viralspot_tui.sim import Simulator


def rows(runtime: Runtime, sql: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(runtime.settings.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_job_with_five_competitors_completes_and_exports(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 6, "creator")
    strategy = ContentStrategy(content_type="cooking reels", target_audience="busy parents", goals="grow saves")
    job = await api.create_job(runtime, names[0], names[1:], strategy=strategy)
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    done = await api.get_job(runtime, job.id)
    assert (done.status, done.progress, done.runs) == (JobStatus.COMPLETED, 100, 1)
    assert all(c.status == "fetched" for c in done.competitor_states)

    used = rows(runtime, "SELECT * FROM viral_analysis_reels WHERE job_id = ?", job.id)
    competitor_codes = {r["shortcode"] for r in used if r["role"] == "competitor"}
    assert len(competitor_codes) == 5 and len([r for r in used if r["role"] == "primary"]) == 3
    for r in used:  # every selected reel really has a transcript in the world, with a recorded reason
        assert sim.world.has_transcript(r["shortcode"]) and r["reason"] and r["rank"] >= 1
    stored = {r["shortcode"]: r for r in rows(runtime, "SELECT * FROM content")}
    assert all(stored[r["shortcode"]]["transcript"] for r in used)  # dual storage (V5)

    bundle = await export_bundle(runtime, job.id)
    assert len(bundle["hooks"]) == 5 and len(bundle["scripts"]) == 5
    for hook in bundle["hooks"]:
        assert hook["source_shortcode"] in competitor_codes
    for script in bundle["scripts"]:
        assert script["source_shortcode"] in competitor_codes and script["sections"]
    markdown = to_markdown(bundle)
    for hook in bundle["hooks"]:
        assert hook["hook_text"] in markdown and hook["source_shortcode"] in markdown
    assert "busy parents" in markdown and "## Scripts" in markdown
    assert to_json(bundle) == to_json(await export_bundle(runtime, job.id))  # stable
    assert json.loads(to_json(bundle))["run"]["type"] == "initial"
    usage = bundle["run"]["usage"]
    assert set(usage) == {"profile_analysis", "hook_analysis", "hook_generation", "script_writing"}
    assert usage["hook_analysis"]["calls"] == 8 and bundle["run"]["total_cost_usd"] > 0
    progress = [e.data["progress"] for e in runtime.events.recent(500) if e.kind == "viral.progress"]
    assert progress == sorted(progress) and progress[-1] == 95


class HoldProfiles(httpx.AsyncBaseTransport):
    """Holds every profile request until ``expected`` of them have arrived, then lets them all go.

    A job that fetches the accounts one after another sends the second only after the first has
    answered, so the first waits out ``patience`` and the peak stays below ``expected``; a job that
    fetches them in parallel gets them all in flight at once however loaded the machine is."""

    def __init__(self, inner: httpx.AsyncBaseTransport, expected: int, patience: float = 3.0) -> None:
        self.inner, self.expected, self.patience = inner, expected, patience
        self.arrived = 0
        self.all_here = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ig_get_fb_profile.php"):
            self.arrived += 1
            if self.arrived >= self.expected:
                self.all_here.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_here.wait(), self.patience)
        return await self.inner.handle_async_request(request)


async def test_profile_fetches_of_all_accounts_overlap(tmp_path: Path, clock: FakeClock) -> None:
    sim = make_sim(clock, latency_ms=20)
    hold = HoldProfiles(sim.transport(), expected=6)
    async with viral_runtime(
        tmp_path, sim, clock, transport=hold, rapidapi={"requests_per_second": 100000.0}
    ) as runtime:
        names = public_names(sim, 6, "creator")
        job = await api.create_job(runtime, names[0], names[1:])
        outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    assert sim.stats.count("profile") == 6
    assert sim.stats.max_concurrency("profile") == 6  # all six were in flight at once


async def test_missing_primary_fails_the_job_clearly(runtime: Runtime, sim: Simulator) -> None:
    competitors = public_names(sim, 2, "rival")
    job = await api.create_job(runtime, "missing_creator", competitors)
    outcome = await api.run_job_now(runtime, job.id)
    failed = await api.get_job(runtime, job.id)
    assert outcome.status == failed.status == JobStatus.FAILED
    assert "@missing_creator" in failed.error and "does not exist" in failed.error
    assert sim.stats.count("chat") == 0


async def test_a_failed_primary_stops_the_competitor_fetches(tmp_path, clock) -> None:
    """The job cannot succeed without its primary: the other fetches are cancelled, not paid for."""
    sim = make_sim(clock, latency_ms=20)
    async with viral_runtime(tmp_path, sim, clock) as runtime:
        competitors = public_names(sim, 4, "rival")
        job = await api.create_job(runtime, "missing_creator", competitors)
        assert (await api.run_job_now(runtime, job.id)).status == JobStatus.FAILED
        # Fetching these four in full takes 13 reels pages; cancelled, at most the first ones run.
        assert sim.stats.count("reels") < 2 * len(competitors), sim.stats.by_endpoint()


async def test_private_competitor_is_recorded_and_job_goes_on(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], [names[1], "private_rival", names[2]])
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    states = {c.username: c for c in (await api.get_job(runtime, job.id)).competitor_states}
    assert states["private_rival"].status == "failed" and "private" in states["private_rival"].error
    assert states[names[1]].status == states[names[2]].status == "fetched"
    bundle = await export_bundle(runtime, job.id)
    assert "private_rival" not in {r["username"] for r in bundle["source_reels"]}
    assert "@private_rival (the profile is private)" in to_markdown(bundle)


async def test_fallback_skips_reels_without_transcripts(runtime: Runtime, sim: Simulator) -> None:
    primary, rival = public_names(sim, 2, "creator")
    silent = next(
        n
        for n in (f"notranscript_{i}" for i in range(50))
        if sim.world.profile(n).kind == "public" and len(sim.world.reels(n)) >= 5
    )
    job = await api.create_job(runtime, primary, [silent, rival])
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.COMPLETED, outcome.error
    used = rows(runtime, "SELECT * FROM viral_analysis_reels WHERE job_id = ? AND role = 'competitor'", job.id)
    assert len(used) == 5 and all(r["username"] == rival for r in used)
    # the silent account's reels were tried (it had round-robin slots) and skipped
    silent_codes = {r.shortcode for r in sim.world.reels(silent)}
    assert any(code in silent_codes for code in sim.stats.keys("transcript"))
    assert any("fallback" in r["reason"] for r in used)


async def test_narrow_window_widens(tmp_path: Path, sim: Simulator, clock: FakeClock) -> None:
    async with viral_runtime(tmp_path, sim, clock, viral={"lookback_days": 1}) as runtime:
        names = public_names(sim, 3, "creator")
        job = await api.create_job(runtime, names[0], names[1:])
        outcome = await api.run_job_now(runtime, job.id)
        assert outcome.status == JobStatus.COMPLETED, outcome.error
        used = rows(runtime, "SELECT reason FROM viral_analysis_reels WHERE job_id = ?", job.id)
    assert len(used) == 8
    assert any("window widened" in r["reason"] for r in used)


async def test_transcript_from_an_earlier_run_is_reused(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    first = await api.create_job(runtime, names[0], names[1:])
    assert (await api.run_job_now(runtime, first.id)).status == JobStatus.COMPLETED
    profile_calls, transcript_calls = sim.stats.count("profile"), sim.stats.count("transcript")
    second = await api.create_job(runtime, names[0], names[1:])
    assert (await api.run_job_now(runtime, second.id)).status == JobStatus.COMPLETED
    assert sim.stats.count("profile") == profile_calls  # fresh stored data reused, not refetched
    assert sim.stats.count("transcript") == transcript_calls  # every transcript came from the store
    used = rows(runtime, "SELECT * FROM viral_analysis_reels WHERE job_id = ?", second.id)
    assert len(used) == 8 and all(r["transcript_reused"] == 1 for r in used)
    assert all("transcript reused" in r["reason"] for r in used)
    states = (await api.get_job(runtime, second.id)).competitor_states
    assert {c.status for c in states} == {"reused"}


async def test_stored_data_older_than_the_freshness_limit_is_fetched_again(
    runtime: Runtime, sim: Simulator, clock
) -> None:
    names = public_names(sim, 3, "creator")
    first = await api.create_job(runtime, names[0], names[1:])
    assert (await api.run_job_now(runtime, first.id)).status == JobStatus.COMPLETED
    profile_calls = sim.stats.count("profile")
    clock.advance(runtime.settings.viral.fresh_data_hours * 3600 + 60)  # the stored profiles are now stale
    second = await api.create_job(runtime, names[0], names[1:])
    assert (await api.run_job_now(runtime, second.id)).status == JobStatus.COMPLETED
    assert sim.stats.count("profile") == profile_calls + 3  # every account fetched again
    states = (await api.get_job(runtime, second.id)).competitor_states
    assert "reused" not in {c.status for c in states}


@pytest.mark.parametrize(
    "competitors, message",
    [
        ([], "1 to 20 competitors"),
        ([f"rival{i}" for i in range(21)], "1 to 20 competitors"),
        (["bad name!"], "not allowed"),
        (["creator_x"], "cannot also be a competitor"),
    ],
)
async def test_invalid_jobs_are_refused(runtime: Runtime, competitors: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await api.create_job(runtime, "Creator_X", competitors)
    assert await api.list_jobs(runtime) == []


async def test_usernames_are_normalised(runtime: Runtime) -> None:
    job = await api.create_job(runtime, "@Creator_X", ["https://www.instagram.com/Rival.One/", "rival.one", "@B"])
    assert job.primary_username == "creator_x" and job.competitors == ["rival.one", "b"]


async def test_exhausted_quota_parks_the_job_instead_of_failing_it(
    runtime: Runtime, sim: Simulator, clock: FakeClock
) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    sim.inject("transcript", "quota_exhausted", count=1)
    outcome = await api.run_job_now(runtime, job.id)
    parked = await api.get_job(runtime, job.id)
    assert outcome.status == parked.status == JobStatus.PENDING
    assert "waiting for API quota" in parked.error
    assert parked.next_run_at is not None and parked.next_run_at > clock.now()  # not claimable before the reset
    with pytest.raises(api.JobBusy):
        await api.run_job_now(runtime, job.id)


async def test_unsubscribed_key_fails_with_a_clear_error(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 2, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    sim.inject("profile", "not_subscribed", count=1, match=names[1])
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status == JobStatus.FAILED
    assert "not subscribed" in outcome.error.lower() and "internal error" not in outcome.error
