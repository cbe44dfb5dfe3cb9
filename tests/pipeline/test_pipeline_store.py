"""Metrics on hand-computed examples, the content store's upserts, and checkpoints."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime

import pytest

from viralspot_tui.core.models.instagram import ProfileData, ReelData, SimilarAccount
from viralspot_tui.core.pipeline.metrics import (
    engagement_rate,
    median_nonzero,
    outlier_score,
    outlier_scores,
    profile_aggregates,
)
from viralspot_tui.core.store.checkpoints import CheckpointStore
from viralspot_tui.core.store.content import ContentStore


def _reel(code: str, views: int | None, likes: int = 0, comments: int = 0, **kw: object) -> ReelData:
    return ReelData(shortcode=code, views=views, likes=likes, comments=comments, **kw)


def test_outlier_score_hand_computed():
    # non-zero views 100, 200, 300, 1000 -> median (200 + 300) / 2 = 250; the zero is left out
    views = [100, 200, 300, 1000, 0]
    assert median_nonzero(views) == 250
    assert outlier_scores(views) == [0.4, 0.8, 1.2, 4.0, 0.0]
    assert outlier_score(500, None) is None and outlier_scores([0, None]) == [None, None]


def test_engagement_rate_and_aggregates():
    assert engagement_rate(40, 10, 1000) == 0.05
    assert engagement_rate(40, 10, 0) is None and engagement_rate(1, 1, None) is None
    agg = profile_aggregates([(100, 10, 1), (200, 20, 2), (300, 30, 3), (0, 0, 0)])
    assert (agg.reels_count, agg.total_views, agg.total_likes, agg.total_comments) == (4, 600, 60, 6)
    assert agg.median_views == 150 and agg.mean_views == 150
    assert agg.std_views == pytest.approx(math.sqrt(12500))  # population std of 100, 200, 300, 0
    assert profile_aggregates([]).total_views == 0


async def test_store_recomputes_over_all_stored_reels(db, clock):
    store = ContentStore(db, clock)
    profile = ProfileData(username="alice", followers=1000)
    first = await store.save_fetch(profile, [_reel("aaaaa", 100, 8, 2), _reel("bbbbb", 300), _reel("ccccc", 0)])
    assert (first.reels_new, first.reels_updated) == (3, 0)
    rows = {r["shortcode"]: r for r in await store.reels_for("alice")}
    assert rows["aaaaa"]["outlier_score"] == pytest.approx(0.5)  # median of 100, 300 = 200
    assert rows["bbbbb"]["outlier_score"] == pytest.approx(1.5)
    assert rows["ccccc"]["outlier_score"] == 0.0 and rows["ccccc"]["engagement_rate"] is None
    assert rows["aaaaa"]["engagement_rate"] == pytest.approx(0.1)

    # a later batch with only new reels shifts the baseline of the earlier ones too
    clock.advance(60)
    second = await store.save_fetch(profile, [_reel("ddddd", 500), _reel("eeeee", 700)])
    assert (second.reels_new, second.reels_updated) == (2, 0)
    rows = {r["shortcode"]: r for r in await store.reels_for("alice")}
    # non-zero views: 100, 300, 500, 700 -> median 400
    assert {c: round(r["outlier_score"], 6) for c, r in rows.items()} == {
        "aaaaa": 0.25,
        "bbbbb": 0.75,
        "ccccc": 0.0,
        "ddddd": 1.25,
        "eeeee": 1.75,
    }
    stored = await store.get_profile("alice")
    assert stored["total_views"] == 1600 and stored["reels_count"] == 5 and stored["median_views"] == 300


async def test_reel_upsert_refreshes_and_keeps_known_values(db, clock):
    store = ContentStore(db, clock)
    profile = ProfileData(username="alice")
    taken = datetime(2026, 10, 1, tzinfo=UTC)
    await store.save_fetch(profile, [_reel("aaaaa", 100, 5, 1, taken_at=taken, caption="hello")])
    first_seen = (await store.reels_for("alice"))[0]["first_seen_at"]
    clock.advance(3600)
    counts = await store.save_fetch(profile, [_reel("aaaaa", None, 9, 2)])  # views unknown this time
    assert (counts.reels_new, counts.reels_updated) == (0, 1)
    [row] = await store.reels_for("alice")
    assert (row["views"], row["likes"], row["comments"]) == (100, 9, 2)
    assert row["caption"] == "hello" and row["taken_at"].startswith("2026-10-01")
    assert row["first_seen_at"] == first_seen and row["updated_at"] != first_seen
    assert await store.known_shortcodes("alice") == {"aaaaa"}
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM content").fetchone()[0]) == 1


async def test_secondaries_transcripts_and_profile_age(db, clock):
    store = ContentStore(db, clock)
    similar = [
        SimilarAccount(username="bob", social_context="12.5K followers"),
        SimilarAccount(username="carol", social_context="Followed by dan"),
    ]
    counts = await store.save_fetch(ProfileData(username="alice"), [_reel("aaaaa", 10)], similar)
    assert counts.similar == 2
    await store.save_fetch(ProfileData(username="zed"), [], [SimilarAccount(username="bob", followers=13000)])
    rows = await db.read(lambda c: [dict(r) for r in c.execute("SELECT * FROM secondary_profiles ORDER BY username")])
    assert [(r["username"], r["followers"], r["discovered_by"]) for r in rows] == [
        ("bob", 13000, "alice"),  # refreshed numbers, first discoverer kept
        ("carol", None, "alice"),
    ]
    assert await store.set_transcript("aaaaa", "hello there", "en") is True
    assert await store.set_transcript("zzzzz", "nobody", "en") is False
    assert (await store.reels_for("alice"))[0]["transcript"] == "hello there"
    clock.advance(7200)
    assert (await store.profile_age("alice")).total_seconds() == 7200
    assert await store.profile_age("nobody") is None and await store.get_profile("nobody") is None


async def test_checkpoints_idempotent_load_and_clear(db, clock):
    checkpoints = CheckpointStore(db, clock)
    assert await checkpoints.load("q:1") == {}
    await checkpoints.save("q:1", "profile", {"username": "alice"})
    await checkpoints.save("q:1", "profile", {"username": "alice", "followers": 5})
    await checkpoints.save("q:1", "reels:1", {"reels": [], "next_token": None})
    await checkpoints.save("q:2", "profile", {"username": "bob"})
    assert await checkpoints.load("q:1") == {
        "profile": {"username": "alice", "followers": 5},
        "reels:1": {"reels": [], "next_token": None},
    }
    assert await checkpoints.clear("q:1") == 2
    assert await checkpoints.load("q:1") == {}
    assert await checkpoints.steps("q:2") == ["profile"]
    with pytest.raises(TypeError):
        await checkpoints.save("q:3", "bad", {"x": object()})


def test_std_views_matches_the_population_standard_deviation() -> None:
    """Computed from exact integer sums (metrics._pstdev), it agrees with statistics.pstdev."""
    rng = random.Random(17)
    for _ in range(300):
        views = [rng.choice([0, rng.randint(0, 10**9)]) for _ in range(rng.randint(1, 60))]
        got = profile_aggregates([(v, 0, 0) for v in views]).std_views
        assert got == pytest.approx(statistics.pstdev(views), rel=1e-12, abs=1e-9)
