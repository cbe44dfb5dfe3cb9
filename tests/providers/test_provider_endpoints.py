"""Each endpoint, as the simulator serves it, parses into the core's models."""

from __future__ import annotations

import httpx
import pytest

from viralspot_tui.core.models.instagram import (
    ReelData,
    SimilarAccount,
    parse_follower_text,
    parse_json,
    parse_similar,
)
from viralspot_tui.core.providers.errors import InvalidInputError, NotFoundError
from viralspot_tui.sim import format_followers
from viralspot_tui.sim.payloads import similar_shape


async def test_profile_parsed_from_sim(providers, sim):
    profile = await providers.instagram.profile("@Alice")
    world = sim.world.profile("alice")
    assert profile.username == "alice"
    assert profile.followers == world.follower_count
    assert profile.is_private is False
    assert profile.pk and profile.profile_pic_url
    assert sim.stats.count(endpoint="profile", outcome="ok") == 1


async def test_reels_paginate_up_to_count(providers, sim):
    first = await providers.instagram.reels_page("alice")
    assert first.reels and first.next_token
    reel = first.reels[0]
    assert isinstance(reel, ReelData)
    assert reel.url == f"https://www.instagram.com/reel/{reel.shortcode}/"
    assert reel.views is not None and reel.likes is not None and reel.taken_at is not None
    assert reel.taken_at.tzinfo is not None

    sim.stats.reset()
    reels = await providers.instagram.reels("alice", count=30)
    assert len(reels) == 30
    assert len({r.shortcode for r in reels}) == 30
    pages = sim.stats.count(endpoint="reels")
    assert pages >= 2  # more than one page was needed, each following the previous token
    assert sim.stats.calls[1].detail == first.next_token


async def test_private_profile_reels_are_empty(providers, sim):
    name = "private_jane"
    assert sim.world.profile(name).kind == "private"
    profile = await providers.instagram.profile(name)
    assert profile.is_private
    page = await providers.instagram.reels_page(name)
    assert page.reels == [] and page.next_token is None and page.message


async def test_reel_detail_matches_list(providers, sim):
    reel = (await providers.instagram.reels_page("alice")).reels[0]
    detail = await providers.instagram.reel_detail(reel.url)  # a URL is reduced to its shortcode
    assert detail.shortcode == reel.shortcode
    assert (detail.views, detail.likes, detail.comments) == (reel.views, reel.likes, reel.comments)
    assert detail.taken_at == reel.taken_at
    merged = reel.model_copy(update={"views": None, "taken_at": None}).merged_with(detail)
    assert merged.views == reel.views and merged.taken_at == reel.taken_at


async def test_similar_accounts_with_follower_text(providers, sim):
    accounts = await providers.instagram.similar("alice", limit=50)
    assert accounts and all(isinstance(a, SimilarAccount) for a in accounts)
    with_count = [a for a in accounts if a.followers is not None]
    assert with_count, "the sim gives some follower counts as text"
    for account in with_count:
        # the count came only from the social_context text
        assert account.followers == parse_follower_text(account.social_context)
        true_count = sim.world.profile(account.username).follower_count
        assert abs(account.followers - true_count) <= max(1, true_count * 0.06)
    assert len(await providers.instagram.similar("alice", limit=3)) == 3


async def test_three_similar_shapes_parse_alike(sim):
    """list, {"data": list} and {"0": ..., "1": ...} all give the same accounts."""
    async with httpx.AsyncClient(
        transport=sim.transport(), headers={"x-rapidapi-key": "k", "x-rapidapi-host": "h"}
    ) as client:
        shapes: dict[str, object] = {}
        for name in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"):
            shapes.setdefault(similar_shape(7, name), name)
            if len(shapes) == 3:
                break
        assert len(shapes) == 3, "the sim serves all three container shapes"
        for _shape, name in shapes.items():
            resp = await client.get("https://h/get_ig_similar_accounts.php", params={"username_or_url": name})
            raw = parse_json("similar", resp.content)
            items = (
                raw
                if isinstance(raw, list)
                else raw["data"]
                if "data" in raw
                else [raw[k] for k in sorted(raw, key=int)]
            )
            as_list = parse_similar(items)
            assert parse_similar({"data": items}) == as_list
            assert parse_similar({str(i): it for i, it in enumerate(items)}) == as_list
            assert parse_similar(raw) == as_list
            assert [a.username for a in as_list] == [it["username"] for it in items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5K followers", 12_500),
        ("8,431 followers", 8_431),
        ("1.2M followers", 1_200_000),
        ("2B followers", 2_000_000_000),
        ("1 follower", 1),
        ("999 followers", 999),
        ("Followed by nest.by.emma + 3 more", None),
        ("Followed by leo", None),
        ("Suggested for you", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_follower_text(text, expected):
    assert parse_follower_text(text) == expected


@pytest.mark.parametrize("count", [1, 999, 8_431, 12_500, 40_400, 999_999, 1_250_000, 3_400_000_000])
def test_follower_text_round_trips_sim_format(count):
    for style in ("compact", "comma"):
        parsed = parse_follower_text(format_followers(count, style))
        assert parsed is not None and abs(parsed - count) <= count * 0.05 + 1


def test_similar_account_followers_from_text_only():
    account = SimilarAccount.model_validate({"username": "Some.One", "social_context": "12.5K followers"})
    assert account.username == "some.one" and account.followers == 12_500
    assert SimilarAccount.model_validate(account.model_dump()) == account


async def test_transcript_and_no_transcript(providers, sim):
    reels = (await providers.instagram.reels_page("alice")).reels
    found = missing = 0
    for reel in reels:
        transcript = await providers.transcripts.fetch(reel.shortcode)
        if sim.world.has_transcript(reel.shortcode):
            assert transcript is not None and transcript.text and transcript.lang
            assert transcript.shortcode == reel.shortcode
            found += 1
        else:
            assert transcript is None
            missing += 1
    assert found
    no_talk = (await providers.instagram.reels_page("notranscript_zed")).reels
    assert no_talk and await providers.transcripts.fetch(no_talk[0].shortcode) is None


async def test_missing_profile_is_not_found_at_once(providers, sim, clock):
    with pytest.raises(NotFoundError) as info:
        await providers.instagram.profile("missing_bob")
    assert info.value.kind == "permanent" and info.value.endpoint == "profile"
    assert sim.stats.count() == 1 and clock.sleeps == []


@pytest.mark.parametrize("bad", ["", "bad name", "a..b", ".dot", "x" * 31, "https://example.com/alice"])
async def test_invalid_username_never_reaches_the_wire(providers, sim, bad):
    with pytest.raises(InvalidInputError):
        await providers.instagram.profile(bad)
    with pytest.raises(InvalidInputError):
        await providers.instagram.similar(bad)
    assert sim.stats.count() == 0


async def test_invalid_shortcode_never_reaches_the_wire(providers, sim):
    for bad in ("", "has space", "../etc", "x" * 65):
        with pytest.raises(InvalidInputError):
            await providers.instagram.reel_detail(bad)
        with pytest.raises(InvalidInputError):
            await providers.transcripts.fetch(bad)
    assert sim.stats.count() == 0
