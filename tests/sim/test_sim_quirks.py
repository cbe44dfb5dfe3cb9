"""The simulator's real-host quirks (``quirks="real"``, the default): the answers on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from viralspot_tui.sim import SimConfig, Simulator
from viralspot_tui.sim.quirks import (
    BUSY_TEXT,
    MEDIA_THROTTLED_TEXT,
    NOT_EXIST_TEXT,
    SIMILAR_NONE_TEXT,
    THROTTLED_TEXT,
    bare_list_entries,
    reels_at_top_level,
    transcript_prepares,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": "h"}


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimConfig(seed=7, latency_ms=0), clock=lambda: NOW)


@pytest.fixture
async def c(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://h", headers=HEADERS) as client:
        yield client


async def _reels(c: httpx.AsyncClient, name: str, **form: str) -> httpx.Response:
    return await c.post("/get_ig_user_reels.php", data={"username_or_url": name, **form})


def test_quirks_are_on_by_default_and_validated():
    assert SimConfig().quirks == "real" and SimConfig().real
    assert SimConfig.from_env({"VIRALSPOT_SIM_QUIRKS": "OFF"}).quirks == "off"
    assert SimConfig.from_env({"VIRALSPOT_SIM_ERROR_BODY_RATE": "0.2"}).error_body_rate == 0.2
    for bad in ({"quirks": "sometimes"}, {"paging": "page"}, {"error_body_rate": 1.5}):
        with pytest.raises(ValueError):
            SimConfig(**bad)  # type: ignore[arg-type]


async def test_missing_account_is_http_200_with_the_real_text(c):
    for path in ("/ig_get_fb_profile.php", "/get_ig_user_reels.php"):
        resp = await c.post(path, data={"username_or_url": "missing_zed"})
        assert (resp.status_code, resp.json()) == (200, {"error": NOT_EXIST_TEXT})
    resp = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "missing_zed"})
    assert (resp.status_code, resp.json()) == (200, {"error": SIMILAR_NONE_TEXT})


async def test_profile_has_hd_picture_info(c):
    body = (await c.post("/ig_get_fb_profile.php", data={"username_or_url": "alice"})).json()
    assert "hd_profile_pic_url" not in body and body["hd_profile_pic_url_info"]["url"].startswith("https://")
    assert isinstance(body["account_type"], int) and body["total_clips_count"] == body["media_count"]
    assert isinstance(body["bio_links"], list) and "external_url" in body


async def test_reels_come_nested_or_at_top_level_and_some_entries_are_bare(sim, c):
    names = [f"shape{i}" for i in range(40)]
    public = [n for n in names if sim.world.profile(n).kind == "public" and sim.world.reels(n)]
    tops = {n: reels_at_top_level(7, n) for n in public}
    assert set(tops.values()) == {True, False}
    for name in public[:12]:
        body = (await _reels(c, name, amount="12")).json()
        container = body if tops[name] else body["data"]
        assert ("data" in body) is not tops[name] and "pagination_token" in container
        media = container["reels"][0]["node"]["media"]
        if bare_list_entries(7, name):
            assert set(media) == {
                "code",
                "pk",
                "media_type",
                "product_type",
                "play_count",
                "like_count",
                "comment_count",
            }
        else:
            assert media["taken_at"] and media["caption"]["text"] and media["ig_play_count"] == media["play_count"]
    assert any(bare_list_entries(7, n) for n in public) and not all(bare_list_entries(7, n) for n in public)


async def test_only_the_honoured_paging_pair_pages(sim, c):
    first = (await _reels(c, "nodates_pager", amount="12")).json()
    token = (first.get("data") or first)["pagination_token"]
    codes = [r["node"]["media"]["code"] for r in (first.get("data") or first)["reels"]]
    ignored = (await _reels(c, "nodates_pager", count="12", max_id=token)).json()  # the other pair
    assert ignored == first  # page 1 again, same token
    honoured = (await _reels(c, "nodates_pager", amount="12", pagination_token=token)).json()
    again = [r["node"]["media"]["code"] for r in (honoured.get("data") or honoured)["reels"]]
    assert again and not set(again) & set(codes)
    other = Simulator(SimConfig(seed=7, latency_ms=0, paging="count_max_id"), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=other.transport(), base_url="https://h", headers=HEADERS) as c2:
        assert (await _reels(c2, "nodates_pager", count="12", max_id=token)).json() == honoured


async def test_detail_has_both_counters_and_view_count_is_smaller(sim, c):
    reels = sim.world.reels("alice")[:20]
    smaller = 0
    for reel in reels:
        resp = await c.get("/get_media_data.php", params={"reel_post_code_or_url": reel.url, "type": "reel"})
        body = resp.json()
        assert body["video_play_count"] == reel.play_count
        assert body["video_view_count"] <= reel.play_count
        smaller += body["video_view_count"] < reel.play_count
    assert smaller >= len(reels) // 2


async def test_similar_is_a_bare_array_or_the_none_text(c):
    resp = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "alice"})
    assert isinstance(resp.json(), list) and resp.json()
    resp = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "nosimilar_alice"})
    assert resp.json() == {"error": SIMILAR_NONE_TEXT}


async def test_transcripts_206_none_and_202_then_ready(sim, c):
    async def ask(code: str) -> httpx.Response:
        url = f"https://www.instagram.com/reel/{code}/"
        return await c.get("/transcript", params={"url": url, "chunkSize": "500", "text": "false"})

    reels = sim.world.reels("alice")
    none = next(r for r in reels if not sim.world.has_transcript(r.shortcode))
    assert (await ask(none.shortcode)).status_code == 206
    preparing = next(r for r in reels if sim.world.has_transcript(r.shortcode) and transcript_prepares(7, r.shortcode))
    first = await ask(preparing.shortcode)
    assert first.status_code == 202 and first.json()["jobId"] and first.headers["retry-after"] == "1"
    ready = await ask(preparing.shortcode)
    assert ready.status_code == 200 and ready.json()["content"]
    offsets = [s["offset"] for s in ready.json()["content"]]
    assert all(isinstance(o, int) for o in offsets) and offsets[-1] > 1000  # milliseconds
    assert sim.stats.count("transcript", outcome="preparing") == 1


async def test_error_bodies_drawn_at_their_rate_and_injectable():
    sim = Simulator(SimConfig(seed=3, latency_ms=0, error_body_rate=0.3), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://h", headers=HEADERS) as c2:
        bodies = [(await c2.post("/ig_get_fb_profile.php", data={"username_or_url": f"u{i}"})) for i in range(200)]
    errors = [b.json()["error"] for b in bodies if b.status_code == 200 and "error" in b.json()]
    missing = sum(1 for e in errors if e == NOT_EXIST_TEXT)
    assert 40 <= len(errors) - missing <= 90 and set(errors) - {NOT_EXIST_TEXT} == {BUSY_TEXT, THROTTLED_TEXT}
    assert sim.stats.count(outcome="busy_body") + sim.stats.count(outcome="throttled_body") == len(errors) - missing
    with pytest.raises(ValueError):
        sim.inject("transcript", "busy_body")
    sim.inject("reel_detail", "throttled_body")
    code = sim.world.reels("alice")[0].shortcode
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://h", headers=HEADERS) as c2:
        resp = await c2.get("/get_media_data.php", params={"reel_post_code_or_url": code})
        assert resp.json() == {"error": MEDIA_THROTTLED_TEXT} and resp.status_code == 200
        resp = await c2.get("/get_media_data.php", params={"reel_post_code_or_url": code})
    assert resp.json()["shortcode"] == code  # the injection was consumed


async def test_quirks_off_keeps_the_idealised_answers():
    sim = Simulator(SimConfig(seed=7, latency_ms=0, quirks="off"), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://h", headers=HEADERS) as c:
        assert (await c.post("/ig_get_fb_profile.php", data={"username_or_url": "missing_zed"})).status_code == 404
        body = (await _reels(c, "nodates_alice", count="12")).json()
        assert body["data"]["reels"][0]["node"]["media"]["taken_at"]
