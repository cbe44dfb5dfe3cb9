"""The profile fetch pipeline end to end against the simulator and a real SQLite file."""

from __future__ import annotations

import sqlite3
import statistics
from datetime import timedelta

import pytest
from pipeline_kit import pipeline_settings

from viralspot_tui.core.providers.errors import NotFoundError, PrivateProfileError
from viralspot_tui.core.store.checkpoints import CheckpointStore
from viralspot_tui.sim import SimConfig, Simulator, running_server


def _rows(conn: sqlite3.Connection, sql: str, *args: object) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, args).fetchall()]


async def _dump(db) -> dict[str, list[dict]]:
    def read(conn: sqlite3.Connection) -> dict[str, list[dict]]:
        return {
            "profiles": _rows(conn, "SELECT * FROM primary_profiles ORDER BY username"),
            "content": _rows(conn, "SELECT * FROM content ORDER BY shortcode"),
            "secondary": _rows(conn, "SELECT * FROM secondary_profiles ORDER BY username"),
            "checkpoints": _rows(conn, "SELECT * FROM pipeline_checkpoints"),
        }

    return await db.read(read)


async def test_fetch_stores_profile_reels_and_similar(sim, db, make_pipeline):
    pipeline = make_pipeline(sim, db)
    result = await pipeline.run("Alice", "queue:1")
    world_reels = sim.world.reels("alice")
    expected = min(50, len(world_reels))
    assert result.username == "alice" and result.profile.username == "alice"
    assert (result.reels_new, result.reels_updated) == (expected, 0)
    assert result.calls == sim.stats.count() == sim.stats.count(outcome="ok")
    assert result.resumed_steps == 0

    data = await _dump(db)
    assert data["checkpoints"] == []
    [profile] = data["profiles"]
    assert profile["followers"] == sim.world.profile("alice").follower_count
    assert profile["reels_count"] == expected
    views = [r["views"] for r in data["content"]]
    assert profile["total_views"] == sum(views)
    assert profile["median_views"] == pytest.approx(statistics.median(views))
    assert profile["std_views"] == pytest.approx(statistics.pstdev(views))
    assert profile["total_likes"] == sum(r["likes"] for r in data["content"])
    assert {r["shortcode"] for r in data["content"]} == {r.shortcode for r in world_reels[:expected]}
    baseline = statistics.median(v for v in views if v > 0)
    for row in data["content"]:
        assert row["username"] == "alice"
        assert row["url"] == f"https://www.instagram.com/reel/{row['shortcode']}/"
        assert row["outlier_score"] == pytest.approx(row["views"] / baseline)
        if row["views"]:
            assert row["engagement_rate"] == pytest.approx((row["likes"] + row["comments"]) / row["views"])
    assert len(data["secondary"]) == result.similar > 0
    assert all(s["discovered_by"] == "alice" for s in data["secondary"])


async def test_steps_run_concurrently(clock, db, make_pipeline):
    sim = Simulator(SimConfig(seed=7, latency_ms=40, jitter=0.0), clock=clock.now)
    await make_pipeline(sim, db, reels_count=12).run("alice", "queue:1")
    assert sim.stats.max_concurrency() == 3  # profile, first reels page and similar overlapped


async def test_loopback_server_gives_the_same_rows(clock, make_db, make_pipeline):
    local_sim = Simulator(SimConfig(seed=7, latency_ms=0), clock=clock.now)
    local_db = await make_db("local.db")
    await make_pipeline(local_sim, local_db, fetch_reel_details=True, reels_count=20).run("alice", "q:1")

    remote_sim = Simulator(SimConfig(seed=7, latency_ms=0), clock=clock.now)
    remote_db = await make_db("remote.db")
    async with running_server(remote_sim) as base_url:
        settings = pipeline_settings(instagram_base_url=base_url)
        pipeline = make_pipeline(None, remote_db, settings=settings, fetch_reel_details=True, reels_count=20)
        result = await pipeline.run("alice", "q:1")
    assert result.calls == remote_sim.stats.count() == local_sim.stats.count()
    assert await _dump(remote_db) == await _dump(local_db)


async def test_rescrape_refreshes_numbers_and_never_deletes(sim, db, make_pipeline, clock):
    pipeline = make_pipeline(sim, db, reels_count=24)
    first = await pipeline.run("alice", "q:1")
    before = {r["shortcode"]: r for r in (await _dump(db))["content"]}
    assert first.reels_new == len(before)

    sim.advance(timedelta(days=20))  # new reels get posted, old numbers grow
    clock.advance(hours=1)
    second = await pipeline.run("alice", "q:2")
    after = {r["shortcode"]: r for r in (await _dump(db))["content"]}
    assert set(before) <= set(after)  # nothing deleted, even reels that fell off the first pages
    assert second.reels_new == len(after) - len(before) > 0
    assert second.reels_updated == 24 - second.reels_new
    refreshed = [c for c in before if after[c]["updated_at"] != before[c]["updated_at"]]
    assert len(refreshed) == second.reels_updated
    for code in refreshed:
        fresh = sim.world.reel(code)
        assert after[code]["views"] == fresh.play_count
        assert after[code]["first_seen_at"] == before[code]["first_seen_at"]
    assert any(after[c]["views"] > before[c]["views"] for c in refreshed)  # numbers grew
    untouched = set(before) - set(refreshed)
    assert untouched and all(after[c]["views"] == before[c]["views"] for c in untouched)
    # outlier scores are recomputed over ALL stored reels, including the untouched ones
    views = [r["views"] for r in after.values()]
    baseline = statistics.median(v for v in views if v > 0)
    for row in after.values():
        assert row["outlier_score"] == pytest.approx(row["views"] / baseline)
    [profile] = (await _dump(db))["profiles"]
    assert profile["reels_count"] == len(after) and profile["total_views"] == sum(views)


async def test_private_profile_is_stored_then_refused(sim, db, make_pipeline):
    with pytest.raises(PrivateProfileError):
        await make_pipeline(sim, db).run("private_jane", "q:1")
    data = await _dump(db)
    assert [p["username"] for p in data["profiles"]] == ["private_jane"]
    assert data["profiles"][0]["is_private"] == 1
    assert data["content"] == [] and data["checkpoints"] == []


async def test_missing_profile_fails_permanently(sim, db, make_pipeline, clock):
    with pytest.raises(NotFoundError) as info:
        await make_pipeline(sim, db).run("missing_bob", "q:1")
    assert info.value.endpoint == "profile" and info.value.kind == "permanent"
    assert sim.stats.count(endpoint="profile") == 1 and clock.sleeps == []
    data = await _dump(db)
    assert data == {"profiles": [], "content": [], "secondary": [], "checkpoints": []}


async def test_finish_runs_in_the_store_transaction(sim, db, make_pipeline, clock):
    def finish(conn: sqlite3.Connection) -> None:
        stored = conn.execute("SELECT COUNT(*) FROM content WHERE username = 'alice'").fetchone()[0]
        conn.execute(
            "INSERT INTO runtime_state (key, value, updated_at) VALUES ('done:alice', ?, 'now')", (str(stored),)
        )

    result = await make_pipeline(sim, db, reels_count=12).run("alice", "q:1", finish=finish)
    state = await db.read(lambda c: c.execute("SELECT value FROM runtime_state WHERE key = 'done:alice'").fetchone()[0])
    assert int(state) == result.reels_new == 12  # finish saw the stored rows: same transaction


async def test_failing_finish_rolls_everything_back(sim, db, make_pipeline):
    class Fenced(RuntimeError):
        pass

    def finish(conn: sqlite3.Connection) -> None:
        raise Fenced("lease lost")

    pipeline = make_pipeline(sim, db, reels_count=24)
    with pytest.raises(Fenced):
        await pipeline.run("alice", "q:1", finish=finish)
    data = await _dump(db)
    assert data["profiles"] == [] and data["content"] == [] and data["secondary"] == []
    steps = {c["step"] for c in data["checkpoints"]}
    assert steps == {"profile", "reels:1", "reels:2", "similar"}
    calls = sim.stats.count()
    # the next run stores from checkpoints alone: no call is repeated
    result = await pipeline.run("alice", "q:1")
    assert result.calls == 0 and sim.stats.count() == calls
    assert result.resumed_steps == 4 and result.reels_new == 24
    assert (await _dump(db))["checkpoints"] == []


async def test_reel_details_fill_and_refresh(sim, db, make_pipeline):
    result = await make_pipeline(sim, db, reels_count=12, fetch_reel_details=True).run("alice", "q:1")
    assert sim.stats.count(endpoint="reel_detail", outcome="ok") == 12
    assert result.calls == 1 + 1 + 1 + 12
    for row in (await _dump(db))["content"]:
        reel = sim.world.reel(row["shortcode"])
        assert (row["views"], row["likes"], row["comments"]) == (reel.play_count, reel.like_count, reel.comment_count)


async def test_checkpoint_loaded_instead_of_fetched(sim, db, make_pipeline, clock):
    """A checkpoint written by an earlier process is used as is (no call for that step)."""
    pipeline = make_pipeline(sim, db, reels_count=12)
    profile = await pipeline.instagram.profile("alice")
    sim.stats.reset()
    await CheckpointStore(db, clock).save("q:9", "profile", profile.model_dump(mode="json"))
    result = await pipeline.run("alice", "q:9")
    assert sim.stats.count(endpoint="profile") == 0 and result.resumed_steps == 1
    assert result.profile == profile
