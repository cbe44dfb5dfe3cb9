"""The corpus answers through the whole fetch pipeline into a real SQLite file: what is stored.

Plays from the list stay the view count (never the detail's smaller ``video_view_count``),
details fill only what the list lacked, a busy reels answer is never stored as "0 reels",
and "no similar accounts" or a failed similar-accounts call still completes the item.
"""

from __future__ import annotations

import pytest
from corpus_kit import Replay, load

from viralspot_tui.core.providers.errors import NotFoundError, TransientError


def _bare_profile_replay() -> Replay:
    return (
        Replay()
        .add("profile_hd_info")
        .add("reels_bare_entries")
        .add("detail_graphql_counters", match="C2bbbbbbbb1")
        .add("detail_natgeo_zero_views", match="C2bbbbbbbb2")
    )


async def _content(db) -> dict[str, dict]:
    rows = await db.read(lambda c: [dict(r) for r in c.execute("SELECT * FROM content")])
    return {r["shortcode"]: r for r in rows}


async def test_plays_kept_and_dates_filled_from_details(connect, pipeline_for, db):
    replay = _bare_profile_replay().add("similar_none")
    result = await pipeline_for(await connect(replay)).run("sunny.bakes", "q:1")
    stored = await _content(db)
    # the list's play_count stays the views: not 190, not 0 (the details' video_view_count)
    assert {c: r["views"] for c, r in stored.items()} == {"C2bbbbbbbb1": 465, "C2bbbbbbbb2": 9000}
    # the list's likes stand too; only what was missing (date, caption, picture) came from the detail
    assert stored["C2bbbbbbbb2"]["likes"] == 700 and stored["C2bbbbbbbb2"]["caption"] == "into the wild"
    assert stored["C2bbbbbbbb1"]["taken_at"].startswith("2024-10-29") and stored["C2bbbbbbbb1"]["thumbnail_url"]
    assert replay.calls("/get_media_data.php") == 2  # one per undated reel
    assert result.similar == 0 and result.notes == ()  # "no similar accounts" is an answer, not a failure
    profile = await db.read(lambda c: dict(c.execute("SELECT * FROM primary_profiles").fetchone()))
    assert profile["hd_profile_pic_url"].endswith("sunny_s1080x1080.jpg") and profile["total_views"] == 9465


async def test_detail_cap_bounds_the_extra_calls(connect, pipeline_for, db):
    replay = _bare_profile_replay().add("similar_none")
    await pipeline_for(await connect(replay), detail_cap=1).run("sunny.bakes", "q:1")
    stored = await _content(db)
    assert replay.calls("/get_media_data.php") == 1
    assert stored["C2bbbbbbbb2"]["taken_at"] and stored["C2bbbbbbbb1"]["taken_at"] is None  # most viewed first


async def test_failed_similar_accounts_keep_profile_and_reels(connect, pipeline_for, db):
    busy_similar = {**load("profile_busy"), "path": "/get_ig_similar_accounts.php"}  # the same text there
    replay = _bare_profile_replay().add(busy_similar)
    result = await pipeline_for(await connect(replay)).run("sunny.bakes", "q:1")
    assert len(await _content(db)) == 2 and result.similar == 0
    assert len(result.notes) == 1 and "similar accounts not fetched" in result.notes[0]
    assert replay.calls("/get_ig_similar_accounts.php") == 3  # retried first, then tolerated


async def test_busy_reels_answer_is_never_stored_as_zero_reels(connect, pipeline_for, db):
    replay = Replay().add("profile_hd_info").add("reels_busy").add("similar_none")
    with pytest.raises(TransientError):
        await pipeline_for(await connect(replay)).run("sunny.bakes", "q:1")
    assert await _content(db) == {}
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM primary_profiles").fetchone()[0]) == 0


async def test_missing_account_fails_once_with_the_hosts_reason(connect, pipeline_for, db):
    missing = load("profile_does_not_exist")
    replay = Replay().add(missing).add({**missing, "path": "/get_ig_user_reels.php"}).add("similar_none")
    with pytest.raises(NotFoundError) as info:
        await pipeline_for(await connect(replay)).run("sunny.bakes", "q:1")
    assert "does not exist on Instagram" in str(info.value)
    assert replay.calls("/ig_get_fb_profile.php") == 1 and replay.calls("/get_ig_user_reels.php") == 1
