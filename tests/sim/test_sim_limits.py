"""RapidAPI's gatekeeping: per-second rate limit, monthly quota, subscription, headers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from viralspot_tui.sim import SimConfig, Simulator
from viralspot_tui.sim.config import SimConfig as _Cfg

NOW = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)  # one hour before the monthly reset
SCRAPER = "instagram-scraper-stable-api.p.rapidapi.com"


def client(sim: Simulator, key: str = "key-a") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=sim.transport(),
        base_url=f"https://{SCRAPER}",
        headers={"x-rapidapi-key": key, "x-rapidapi-host": SCRAPER},
    )


async def profile(c: httpx.AsyncClient, name: str = "public_x") -> httpx.Response:
    return await c.post("/ig_get_fb_profile.php", data={"username_or_url": name})


async def test_quota_headers_decrement_per_key() -> None:
    sim = Simulator(SimConfig(latency_ms=0, monthly_quota=50), clock=lambda: NOW)
    async with client(sim, "key-a") as a, client(sim, "key-b") as b:
        seen = [int((await profile(a)).headers["x-ratelimit-requests-remaining"]) for _ in range(3)]
        other = await profile(b)
    assert seen == [49, 48, 47]
    assert other.headers["x-ratelimit-requests-remaining"] == "49"
    assert other.headers["x-ratelimit-requests-limit"] == "50"
    assert other.headers["x-ratelimit-requests-reset"] == "3600"
    assert "x-ratelimit-limit" not in other.headers  # no per-second plan configured
    assert sim.quota_remaining("key-a") == 47


async def test_monthly_quota_exhaustion() -> None:
    sim = Simulator(SimConfig(latency_ms=0, monthly_quota=3), clock=lambda: NOW)
    async with client(sim) as c:
        answers = [await profile(c) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert "MONTHLY quota" in refused.json()["message"]
    assert refused.headers["x-ratelimit-requests-remaining"] == "0"
    assert refused.headers["retry-after"] == "3600"
    assert sim.stats.count(outcome="quota") == 2
    assert sim.stats.count(outcome="ok") == 3


async def test_quota_resets_with_the_month() -> None:
    now = [NOW]
    sim = Simulator(SimConfig(latency_ms=0, monthly_quota=1), clock=lambda: now[0])
    async with client(sim) as c:
        assert (await profile(c)).status_code == 200
        assert (await profile(c)).status_code == 429
        now[0] = datetime(2025, 7, 1, 0, 0, 1, tzinfo=UTC)
        assert (await profile(c)).status_code == 200


async def test_per_second_rate_limit_answers_429_with_retry_after() -> None:
    sim = Simulator(SimConfig(latency_ms=0, rate_limit=5.0, monthly_quota=1000), clock=lambda: NOW)
    async with client(sim) as c:
        answers = await asyncio.gather(*(profile(c) for _ in range(8)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 5 + [429] * 3
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.headers["retry-after"] == "1"
    assert "rate limit per second" in limited.json()["message"]
    ok = next(r for r in answers if r.status_code == 200)
    assert ok.headers["x-ratelimit-limit"] == "300"
    assert int(ok.headers["x-ratelimit-remaining"]) < 300
    # refused requests consume no quota
    assert sim.quota_remaining("key-a") == 995
    assert sim.stats.count(outcome="rate_limited") == 3
    assert sim.stats.max_in_window(1.0, outcome="ok") == 5


async def test_rate_limit_is_per_key_and_recovers_after_a_second() -> None:
    sim = Simulator(SimConfig(latency_ms=0, rate_limit=2.0), clock=lambda: NOW)
    async with client(sim, "a") as a, client(sim, "b") as b:
        assert [(await profile(a)).status_code for _ in range(3)] == [200, 200, 429]
        assert (await profile(b)).status_code == 200
        await asyncio.sleep(1.05)
        assert (await profile(a)).status_code == 200


async def test_paced_client_is_never_limited() -> None:
    sim = Simulator(SimConfig(latency_ms=0, rate_limit=20.0), clock=lambda: NOW)
    async with client(sim) as c:
        for _ in range(30):
            assert (await profile(c)).status_code == 200
            await asyncio.sleep(0.052)
    assert sim.stats.max_in_window(1.0) <= 20


async def test_unsubscribed_key_gets_403() -> None:
    sim = Simulator(SimConfig(latency_ms=0, unsubscribed_keys=frozenset({"nope"})), clock=lambda: NOW)
    async with client(sim, "nope") as c:
        response = await profile(c)
    assert response.status_code == 403
    assert response.json() == {"message": "You are not subscribed to this API."}
    assert sim.stats.count(outcome="not_subscribed") == 1
    assert sim.stats.calls[0].api_key_hash and "nope" not in sim.stats.calls[0].api_key_hash


def test_config_from_env() -> None:
    cfg = _Cfg.from_env(
        {
            "VIRALSPOT_SIM_SEED": "11",
            "VIRALSPOT_SIM_LATENCY_MS": "5",
            "VIRALSPOT_SIM_RATE_LIMIT": "0",
            "VIRALSPOT_SIM_FAULT_RATE": "0.25",
            "VIRALSPOT_SIM_QUOTA": "500",
        }
    )
    assert (cfg.seed, cfg.latency_ms, cfg.rate_limit, cfg.fault_rate, cfg.monthly_quota) == (11, 5.0, None, 0.25, 500)
    assert _Cfg.from_env({"VIRALSPOT_SIM_RATE_LIMIT": "20"}).rate_limit == 20.0
    assert _Cfg.from_env({}) == SimConfig()
    for bad in ({"VIRALSPOT_SIM_SEED": "x"}, {"VIRALSPOT_SIM_FAULT_RATE": "3"}):
        try:
            _Cfg.from_env(bad)
        except ValueError as exc:
            assert "VIRALSPOT_SIM" in str(exc) or "fault_rate" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


async def test_each_api_has_its_own_plan_for_one_key() -> None:
    """One key subscribed to both APIs: transcript calls spend the transcript plan only, and each
    answer reports its own plan (so the console's two quota figures both stay current)."""
    sim = Simulator(SimConfig(latency_ms=0, monthly_quota=10), clock=lambda: NOW)
    async with client(sim, "key-a") as c:
        await profile(c)
        await profile(c)
        answer = await c.get("/transcript", params={"url": "https://www.instagram.com/reel/ABCDEFGHIJK/"})
    assert answer.headers["x-ratelimit-requests-remaining"] == "9"
    assert sim.quota_remaining("key-a") == 8
    assert sim.quota_remaining("key-a", "transcript") == 9
