"""Request accounting: counts, overlap (max_concurrency) and burstiness (max_in_window)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from viralspot_tui.sim import CallRecord, SimConfig, SimStats, Simulator

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SCRAPER = "instagram-scraper-stable-api.p.rapidapi.com"
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": SCRAPER}


def record(start: float, end: float, endpoint: str = "profile", outcome: str = "ok") -> CallRecord:
    return CallRecord(endpoint, "k", "POST", 200, outcome, start, end, "h")


def test_window_and_overlap_on_synthetic_records() -> None:
    stats = SimStats()
    for call in (
        record(0.0, 1.0),
        record(0.5, 1.5),
        record(1.0, 2.0),
        record(0.9, 1.2, "reels"),
        record(3.0, 3.1, outcome="rate_limited"),
    ):
        stats.record(call)
    assert stats.max_concurrency() == 3  # 0.5..1.0 has three in flight; 1.0 end/start do not overlap
    assert stats.max_concurrency("profile") == 2
    assert stats.max_in_window(1.0) == 3  # starts 0.0, 0.5, 0.9 (1.0 is outside the half-open window)
    assert stats.max_in_window(1.01) == 4
    assert stats.max_in_window(1.0, outcome="rate_limited") == 1
    assert stats.by_endpoint() == {"profile": 4, "reels": 1}
    assert stats.count(outcome="ok") == 4
    stats.reset()
    assert stats.count() == 0 and stats.max_concurrency() == 0 and stats.max_in_window() == 0


async def test_concurrent_requests_overlap_and_sequential_do_not() -> None:
    sim = Simulator(SimConfig(latency_ms=60, jitter=0.2), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://sim", headers=HEADERS) as c:

        async def one(i: int) -> httpx.Response:
            return await c.post("/ig_get_fb_profile.php", data={"username_or_url": f"public_c{i}"})

        await asyncio.gather(*(one(i) for i in range(10)))
        assert sim.stats.max_concurrency("profile") >= 8  # all ten overlap unless the machine stalls
        sim.stats.reset()
        for i in range(3):
            await one(i)
    assert sim.stats.max_concurrency() == 1
    assert sim.stats.max_in_window(10.0) == 3
    durations = [c.finished_at - c.started_at for c in sim.stats.calls]
    assert all(0.045 <= d < 1.0 for d in durations)


async def test_records_carry_keys_and_hashed_api_key() -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://sim", headers=HEADERS) as c:
        await c.post("/ig_get_fb_profile.php", data={"username_or_url": "https://www.instagram.com/Public_K/"})
        reel = sim.world.reels("public_k")[0]
        await c.get("/get_media_data.php", params={"reel_post_code_or_url": reel.url, "type": "reel"})
    profile, detail = sim.stats.calls
    assert (profile.endpoint, profile.key, profile.method, profile.status) == ("profile", "public_k", "POST", 200)
    assert (detail.endpoint, detail.key, detail.detail) == ("reel_detail", reel.shortcode, reel.url)
    assert profile.api_key_hash == detail.api_key_hash != "k"
    assert sim.stats.keys("profile") == ["public_k"]
