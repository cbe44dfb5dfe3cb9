"""The fetch pipeline against the simulator's real-host quirks, over loopback HTTP: what is stored.

Each test names the fact it exercises (see docs/real-apis.md); the simulator serves the quirk
(``quirks="real"``, its default) through its uvicorn server and the real providers read it.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pipeline_kit import pipeline_settings

from viralspot_tui.core.pipeline.prepared import prepare_many
from viralspot_tui.core.pipeline.profile_fetch import DETAIL_CAP
from viralspot_tui.core.providers.errors import NotFoundError, TransientError
from viralspot_tui.sim import SimConfig, Simulator, running_server
from viralspot_tui.sim.payloads import reel_detail_payload
from viralspot_tui.sim.quirks import bare_list_entries


@asynccontextmanager
async def served(make_pipeline, db, sim: Simulator, **options: object) -> AsyncIterator[object]:
    async with running_server(sim) as base_url:
        paging = options.pop("paging", "both")
        settings = pipeline_settings(instagram_base_url=base_url, reels_paging=paging)
        yield make_pipeline(None, db, settings=settings, **options)


async def _content(db) -> dict[str, dict]:
    rows = await db.read(lambda c: [dict(r) for r in c.execute("SELECT * FROM content")])
    return {r["shortcode"]: r for r in rows}


@pytest.fixture
def real_sim(clock) -> Simulator:
    return Simulator(SimConfig(seed=7, latency_ms=0), clock=clock.now)


async def test_undated_list_entries_keep_plays_and_get_capped_details(real_sim, db, make_pipeline):
    name = "nodates_alice"
    assert bare_list_entries(7, name)
    async with served(make_pipeline, db, real_sim, reels_count=30) as pipeline:
        result = await pipeline.run(name, "q:1")
    world = {r.shortcode: r for r in real_sim.world.reels(name)}
    stored = await _content(db)
    assert len(stored) == 30
    for code, row in stored.items():
        assert row["views"] == world[code].play_count  # the list's plays, never video_view_count
        detail_views = reel_detail_payload(world[code], 7, real=True)["video_view_count"]
        assert row["views"] >= detail_views
    # details only for the most viewed undated reels, capped: they got their date and caption
    dated = {c for c, r in stored.items() if r["taken_at"]}
    top = sorted(stored, key=lambda c: -stored[c]["views"])[:DETAIL_CAP]
    assert dated == set(top) and all(stored[c]["caption"] for c in dated)
    assert real_sim.stats.count(endpoint="reel_detail") == DETAIL_CAP
    assert result.calls == 1 + 3 + 1 + DETAIL_CAP  # profile, 3 pages, similar, the capped details
    assert any("detail cap" in note for note in result.notes)
    # the outlier baseline is still the plays
    baseline = statistics.median(r["views"] for r in stored.values() if r["views"] > 0)
    assert all(r["outlier_score"] == pytest.approx(r["views"] / baseline) for r in stored.values())


async def test_rescrape_pays_no_detail_twice(real_sim, db, make_pipeline):
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        await pipeline.run("nodates_bob", "q:1")
        details = real_sim.stats.count(endpoint="reel_detail")
        await pipeline.run("nodates_bob", "q:2")
    assert details == DETAIL_CAP and real_sim.stats.count(endpoint="reel_detail") == details


async def test_rescrape_with_the_batch_read_pays_no_detail_twice(real_sim, db, make_pipeline):
    """The queue processor reads checkpoints and dated reels for a claimed batch (prepared.py)."""
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        await pipeline.run("nodates_carol", "q:1")
        details = real_sim.stats.count(endpoint="reel_detail")
        await pipeline.checkpoints.save("q:2", "similar", {"accounts": []})  # a resumed step
        prepared = await prepare_many(pipeline.checkpoints, [("q:2", "nodates_carol"), ("q:3", "nobody")])
        dated = {c for c, r in (await _content(db)).items() if r["taken_at"]}
        assert prepared["q:2"].dated == dated and len(dated) == DETAIL_CAP and prepared["q:3"].dated == set()
        assert prepared["q:2"].resume == {"similar": {"accounts": []}} and prepared["q:3"].resume == {}
        again = await pipeline.run("nodates_carol", "q:2", resume=prepared["q:2"].resume, dated=prepared["q:2"].dated)
        assert real_sim.stats.count(endpoint="reel_detail") == details == DETAIL_CAP
        assert again.resumed_steps == 1 and again.calls == 2  # the profile and one page; similar resumed
        await pipeline.run("nodates_carol", "q:4", dated=frozenset())  # the caller's set is what counts
    assert real_sim.stats.count(endpoint="reel_detail") == 2 * DETAIL_CAP


@pytest.mark.parametrize(("paging", "pages", "stored"), [("count_max_id", 2, 12), ("both", 3, 30)])
async def test_ignored_paging_pair_never_pages_endlessly(real_sim, db, make_pipeline, paging, pages, stored):
    """The sim honours only amount/pagination_token: sending max_id alone gets page 1 again."""
    async with served(make_pipeline, db, real_sim, reels_count=30, paging=paging) as pipeline:
        await pipeline.run("alice", "q:1")
    assert real_sim.stats.count(endpoint="reels") == pages
    assert len(await _content(db)) == stored


async def test_busy_answers_are_retried_not_stored_as_zero_reels(real_sim, db, make_pipeline):
    real_sim.inject("reels", "busy_body", count=2)
    real_sim.inject("reel_detail", "throttled_body", count=2)
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        result = await pipeline.run("nodates_carol", "q:1")
    assert real_sim.stats.count(endpoint="reels", outcome="busy_body") == 2
    assert real_sim.stats.count(endpoint="reel_detail", outcome="throttled_body") == 2
    assert result.reels_new == 12 and len(await _content(db)) == 12
    assert all(r["taken_at"] for r in (await _content(db)).values())  # the throttled details were retried


async def test_busy_beyond_retries_fails_and_stores_nothing(real_sim, db, make_pipeline):
    real_sim.inject("reels", "busy_body", count=10)
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        with pytest.raises(TransientError) as info:
            await pipeline.run("alice", "q:1")
    assert "try again later" in str(info.value)
    assert await _content(db) == {}
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM primary_profiles").fetchone()[0]) == 0


async def test_missing_account_fails_once_with_a_clear_reason(real_sim, db, make_pipeline):
    name = "missing_dora"
    assert not real_sim.world.profile(name).exists
    async with served(make_pipeline, db, real_sim) as pipeline:
        with pytest.raises(NotFoundError) as info:
            await pipeline.run(name, "q:1")
    assert "not found" in str(info.value) and "does not exist on Instagram" in str(info.value)
    assert real_sim.stats.count(endpoint="profile") == 1  # permanent: not retried
    assert [c.status for c in real_sim.stats.calls if c.endpoint == "profile"] == [200]  # ... though it was HTTP 200


async def test_no_similar_accounts_is_an_empty_answer(real_sim, db, make_pipeline):
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        result = await pipeline.run("nosimilar_erin", "q:1")
    assert result.similar == 0 and result.notes == () and result.reels_new > 0
    assert real_sim.stats.count(endpoint="similar") == 1


async def test_failed_similar_accounts_complete_the_item_with_a_note(real_sim, db, make_pipeline):
    real_sim.inject("similar", "http_503", count=10)
    async with served(make_pipeline, db, real_sim, reels_count=12) as pipeline:
        result = await pipeline.run("alice", "q:1")
    assert result.reels_new == 12 and result.profile.username == "alice"
    assert result.similar == 0 and "similar accounts not fetched" in result.notes[0]
