"""Every fixture of the recorded-shape corpus, replayed over loopback HTTP through the real providers.

One fixture per endpoint answer and error; each states the fact it encodes (from captured
answers of the real hosts, see docs/real-apis.md). The generic test checks the class of
outcome and what it cost in calls; the specific tests check the values read.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from corpus_kit import RETRIES, Replay, all_names, load

from viralspot_tui.core.models.instagram import ProfileData, ReelDetail, ReelsPage, Transcript
from viralspot_tui.core.providers.errors import ConfigurationError, NotFoundError, ProviderError, TransientError
from viralspot_tui.core.providers.upstream import UpstreamBusyError

CODE = "C2bbbbbbbb1"


async def _call(providers, path: str):
    ig = providers.instagram
    if path == "/ig_get_fb_profile.php":
        return await ig.profile("sunny.bakes")
    if path == "/get_ig_user_reels.php":
        return await ig.reels_page("sunny.bakes")
    if path == "/get_media_data.php":
        return await ig.reel_detail(CODE)
    if path == "/get_ig_similar_accounts.php":
        return await ig.similar("sunny.bakes")
    if path == "/transcript":
        return await providers.transcripts.fetch(CODE)
    raise AssertionError(path)


def test_every_fixture_states_its_fact():
    names = all_names()
    assert len(names) >= 20
    for name in names:
        fixture = load(name)
        assert len(fixture["fact"]) > 30, name
        assert fixture["expect"] in {"parsed", "not_found", "transient", "empty", "configuration", "none", "preparing"}
        assert fixture["path"].startswith("/") and isinstance(fixture["status"], int)


@pytest.mark.parametrize("name", all_names())
async def test_fixture_through_the_provider(name, connect, clock):
    fixture = load(name)
    replay = Replay().add(fixture)
    providers = await connect(replay)
    expect = fixture["expect"]
    if expect in ("parsed", "empty", "none"):
        result = await _call(providers, fixture["path"])
        assert replay.calls(fixture["path"]) == 1  # a clean answer (or "none") costs exactly one call
        if expect == "empty":
            assert result == []
        elif expect == "none":
            assert result is None
        else:
            assert isinstance(result, (ProfileData, ReelsPage, ReelDetail, Transcript, list)) and result
        return
    with pytest.raises(ProviderError) as info:
        await _call(providers, fixture["path"])
    error = info.value
    if expect == "not_found":
        assert isinstance(error, NotFoundError) and error.kind == "permanent"
        assert "not found" in str(error) and fixture["body"]["error"] in str(error)  # the host's own reason
        assert replay.calls(fixture["path"]) == 1  # permanent: never retried
    elif expect == "configuration":
        assert isinstance(error, ConfigurationError)
        assert replay.calls(fixture["path"]) == 1
    elif expect == "transient":
        assert isinstance(error, TransientError)
        assert replay.calls(fixture["path"]) == 1 + RETRIES  # retried in the policy, then handed to the queue
    elif expect == "preparing":
        assert isinstance(error, TransientError) and "being prepared" in str(error) and "a1b2c3d4e5f6" in str(error)
        polls = providers.transcripts.polls
        assert replay.calls("/transcript") == 1 + polls  # asked again, bounded
        assert clock.sleeps == [2.0] * polls  # after the server's Retry-After each time


async def test_profile_reads_hd_picture_info_and_links(connect):
    profile = await (await connect(Replay().add("profile_hd_info"))).instagram.profile("sunny.bakes")
    assert profile.hd_profile_pic_url == "https://scontent.cdninstagram.com/v/t51.2885-19/sunny_s1080x1080.jpg"
    assert profile.bio_links == ["https://sunny.example/shop"] and profile.external_url == "https://sunny.example/shop"
    assert (profile.total_clips_count, profile.account_type, profile.followers) == (212, 2, 48210)


async def test_reels_at_top_level_keep_their_token(connect):
    page = await (await connect(Replay().add("reels_top_level"))).instagram.reels_page("sunny.bakes")
    assert [r.shortcode for r in page.reels] == ["C1aaaaaaaa1", "C1aaaaaaaa2"]
    assert page.next_token == "QVFDtoken-page-2"
    assert page.reels[0].views == 465 and page.reels[0].caption == "proofing at dawn" and page.reels[0].taken_at


async def test_bare_list_entries_have_counts_but_no_date(connect):
    page = await (await connect(Replay().add("reels_bare_entries"))).instagram.reels_page("sunny.bakes")
    assert [(r.views, r.likes, r.comments) for r in page.reels] == [(465, 20, 3), (9000, 700, 41)]
    assert all(r.taken_at is None and r.caption is None and r.needs_detail for r in page.reels)


async def test_ig_play_count_is_the_plays_when_play_count_is_null(connect):
    page = await (await connect(Replay().add("reels_media_objects"))).instagram.reels_page("sunny.bakes")
    assert page.reels[0].views == 777


async def test_detail_keeps_both_counters_apart(connect):
    detail = await (await connect(Replay().add("detail_graphql_counters"))).instagram.reel_detail(CODE)
    assert (detail.views, detail.video_view_count, detail.likes, detail.comments) == (465, 190, 20, 3)
    natgeo = await (await connect(Replay().add("detail_natgeo_zero_views"))).instagram.reel_detail("C2bbbbbbbb2")
    assert natgeo.views is None and natgeo.video_view_count == 0 and natgeo.likes == 35897


async def test_similar_bare_array_followers_from_text_only(connect):
    accounts = await (await connect(Replay().add("similar_bare_array"))).instagram.similar("sunny.bakes")
    assert [(a.username, a.followers) for a in accounts] == [("crumb.club", 12500), ("levain.lab", None)]


async def test_transcript_segments_in_milliseconds(connect):
    transcript = await (await connect(Replay().add("transcript_segments_ms"))).transcripts.fetch(CODE)
    assert transcript is not None and transcript.text.startswith("Stop scrolling")
    assert [(s.offset, s.duration) for s in transcript.segments] == [(0, 2140), (2300, 1500)]


async def test_202_then_200_gives_the_transcript(connect, clock):
    replay = Replay().add("transcript_202_preparing").add("transcript_segments_ms")
    transcript = await (await connect(replay)).transcripts.fetch(CODE)
    assert transcript is not None and transcript.lang == "en"
    assert replay.calls("/transcript") == 2 and clock.sleeps == [2.0]


async def test_busy_then_answer_is_retried_to_the_answer(connect):
    replay = Replay().add("reels_busy").add("reels_top_level")
    page = await (await connect(replay)).instagram.reels_page("sunny.bakes")
    assert len(page.reels) == 2 and replay.calls("/get_ig_user_reels.php") == 2


async def test_ignored_paging_parameter_ends_paging(connect):
    replay = Replay().add("reels_paging_ignored")
    reels = await (await connect(replay)).instagram.reels("sunny.bakes", count=50)
    assert [r.shortcode for r in reels] == ["C4dddddddd1"]
    assert replay.calls("/get_ig_user_reels.php") == 2  # page 1, then page 1 again: stop
    first, second = (s.params for s in replay.seen)
    assert {"count", "amount"} <= set(first) and "max_id" not in first  # both pairs, no token yet
    assert second["max_id"] == second["pagination_token"] == "QVFDsame-token"


async def test_unknown_error_text_is_logged_once(connect, caplog):
    fixture = load("unknown_error_text")
    text = f"{fixture['body']['error']} [{uuid.uuid4().hex}]"  # a text no earlier test has logged
    replay = Replay().add({**fixture, "body": {"error": text}})
    providers = await connect(replay)
    with caplog.at_level(logging.WARNING, logger="viralspot.providers"):
        for _ in range(2):
            with pytest.raises(TransientError) as info:
                await providers.instagram.profile("sunny.bakes")
            assert not isinstance(info.value, UpstreamBusyError)
    mentions = [r for r in caplog.records if text in r.getMessage()]
    assert len(mentions) == 1
