"""The store step scores each fetch's reels before writing them (core/store/content.py, ``plan_reels_sync``).

Held to an oracle: a model of the table kept by the test (a known number is never overwritten by a
missing one, a reel moves to the profile that lists it) and scores and aggregates recomputed from
scratch over every stored reel of the profile, after every fetch of a seeded random sequence that
has missing numbers, zero views, a shortcode listed twice in one page and reels moving between
profiles. With capture on, each reel is captured once per fetch, already scored.
"""

from __future__ import annotations

import json
import random

import pytest

from viralspot_tui.core.models.instagram import ProfileData, ReelData, SimilarAccount
from viralspot_tui.core.pipeline.metrics import engagement_rate, median_nonzero, outlier_score, profile_aggregates
from viralspot_tui.core.store.content import ContentStore
from viralspot_tui.core.store.outbox_store import OutboxStore

PROFILES = ("alice", "bobby", "carol")


def _random_page(rng: random.Random) -> list[ReelData]:
    def number(top: int) -> int | None:
        return None if rng.random() < 0.2 else rng.choice((0, rng.randint(1, top)))

    codes = rng.sample(range(30), rng.randint(0, 8))  # 30 shortcodes shared by three profiles
    if codes and rng.random() < 0.3:
        codes.append(codes[0])  # the same reel twice in one page
    return [
        ReelData(shortcode=f"reel{c:03d}", views=number(10_000), likes=number(500), comments=number(50)) for c in codes
    ]


async def test_scores_and_aggregates_match_a_recompute_over_every_stored_reel(db, clock):
    store = ContentStore(db, clock)
    model: dict[str, tuple[str, int, int, int]] = {}  # shortcode -> (owner, views, likes, comments)
    rng = random.Random(20261202)
    for _ in range(150):
        owner = rng.choice(PROFILES)
        page = _random_page(rng)
        counts = await store.save_fetch(ProfileData(username=owner), page)
        new = 0
        for reel in page:
            prev = model.get(reel.shortcode)
            new += prev is None
            _, v, lk, cm = prev or ("", 0, 0, 0)
            model[reel.shortcode] = (
                owner,
                v if reel.views is None else reel.views,
                lk if reel.likes is None else reel.likes,
                cm if reel.comments is None else reel.comments,
            )
        assert (counts.reels_new, counts.reels_updated) == (new, len(page) - new)

        mine = {code: n[1:] for code, n in model.items() if n[0] == owner}
        rows = {r["shortcode"]: r for r in await store.reels_for(owner)}
        assert {code: (r["views"], r["likes"], r["comments"]) for code, r in rows.items()} == mine
        baseline = median_nonzero(v for v, _, _ in mine.values())
        for code, (v, lk, cm) in mine.items():
            assert rows[code]["outlier_score"] == outlier_score(v, baseline), code
            assert rows[code]["engagement_rate"] == engagement_rate(lk, cm, v), code
        expected = profile_aggregates(mine.values())
        stored = await store.get_profile(owner)
        assert stored is not None
        for name in ("reels_count", "total_views", "median_views", "mean_views", "total_likes", "total_comments"):
            assert stored[name] == getattr(expected, name), name
        assert stored["std_views"] == pytest.approx(expected.std_views)
        clock.advance(60)


async def _captured(db) -> list[tuple[str, dict]]:
    rows = await db.read(lambda c: c.execute("SELECT local_table, payload FROM outbox ORDER BY seq").fetchall())
    await db.write(lambda c: c.execute("DELETE FROM outbox"))
    return [(r[0], json.loads(r[1])) for r in rows]


async def test_capture_writes_each_row_once_per_fetch_and_already_scored(db, clock):
    await OutboxStore(db, clock).set_capture(True)
    store = ContentStore(db, clock)
    profile = ProfileData(username="alice", followers=10)
    similar = [SimilarAccount(username="friend_one"), SimilarAccount(username="friend_two")]
    page = [ReelData(shortcode="aaaaa", views=100, likes=5), ReelData(shortcode="bbbbb", views=300)]

    await store.save_fetch(profile, page, similar)
    captured = await _captured(db)
    assert [table for table, _ in captured] == ["primary_profiles", "content", "content"] + ["secondary_profiles"] * 2
    assert captured[0][1]["total_views"] == 400 and captured[0][1]["reels_count"] == 2
    assert {p["shortcode"]: p["outlier_score"] for _, p in captured[1:3]} == {"aaaaa": 0.5, "bbbbb": 1.5}
    assert captured[1][1]["engagement_rate"] == pytest.approx(0.05)

    # the same answer again: the page's rows are refreshed, nothing else is rewritten
    clock.advance(60)
    await store.save_fetch(profile, page)
    assert [table for table, _ in await _captured(db)] == ["primary_profiles", "content", "content"]

    # a page of one new reel moves the baseline (median of 100, 300, 500 = 300): the reels off the
    # page are rescored, and only they are written besides the page
    clock.advance(60)
    await store.save_fetch(profile, [ReelData(shortcode="ccccc", views=500)])
    captured = await _captured(db)
    assert {p["shortcode"]: round(p["outlier_score"], 6) for t, p in captured if t == "content"} == {
        "ccccc": round(500 / 300, 6),
        "aaaaa": round(100 / 300, 6),
        "bbbbb": 1.0,
    }
