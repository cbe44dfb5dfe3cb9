"""Targeted fault injection and the seeded background fault rate."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from viralspot_tui.sim import (
    HTTP_500,
    HTTP_503,
    MALFORMED_JSON,
    NOT_SUBSCRIBED,
    QUOTA_EXHAUSTED,
    RANDOM_FAULT_KINDS,
    RATE_LIMIT_BURST,
    TIMEOUT,
    TRUNCATED_JSON,
    SimConfig,
    Simulator,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SCRAPER = "instagram-scraper-stable-api.p.rapidapi.com"


def client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=sim.transport(),
        base_url=f"https://{SCRAPER}",
        headers={"x-rapidapi-key": "k", "x-rapidapi-host": SCRAPER},
    )


async def reels(c: httpx.AsyncClient, name: str) -> httpx.Response:
    return await c.post("/get_ig_user_reels.php", data={"username_or_url": name, "count": "12"})


async def test_targeted_injection_is_matched_and_consumed() -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    sim.inject("reels", HTTP_503, count=2, match="public_target")
    async with client(sim) as c:
        other = await reels(c, "public_other")
        first = await reels(c, "public_target")
        second = await reels(c, "https://www.instagram.com/public_target/")
        third = await reels(c, "public_target")
        profile = await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_target"})
    assert other.status_code == 200
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["retry-after"] == "1"
    assert profile.status_code == 200
    assert sim.pending_faults() == 0
    assert sim.stats.count("reels", HTTP_503) == 2
    assert sim.stats.count("reels", "ok", key="public_target") == 1


async def test_injection_can_match_a_page_token() -> None:
    sim = Simulator(SimConfig(latency_ms=0, quirks="off"), clock=lambda: NOW)
    async with client(sim) as c:
        token = (await reels(c, "public_paged")).json()["data"]["pagination_token"]
        sim.inject("reels", HTTP_500, match=token)
        assert (await reels(c, "public_paged")).status_code == 200
        page2 = await c.post(
            "/get_ig_user_reels.php", data={"username_or_url": "public_paged", "count": "12", "max_id": token}
        )
    assert page2.status_code == 500
    assert sim.stats.calls[-1].detail == token


@pytest.mark.parametrize(
    ("kind", "status", "check"),
    [
        (HTTP_500, 500, lambda r: r.json()["message"]),
        (HTTP_503, 503, lambda r: r.json()["message"]),
        (RATE_LIMIT_BURST, 429, lambda r: "per second" in r.json()["message"] and r.headers["retry-after"] == "1"),
        (
            QUOTA_EXHAUSTED,
            429,
            lambda r: (
                "MONTHLY" in r.json()["message"]
                and r.headers["x-ratelimit-requests-remaining"] == "0"
                and int(r.headers["retry-after"]) > 3600
            ),
        ),
        (NOT_SUBSCRIBED, 403, lambda r: r.json() == {"message": "You are not subscribed to this API."}),
    ],
)
async def test_status_faults(kind: str, status: int, check) -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    sim.inject("profile", kind)
    async with client(sim) as c:
        response = await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_f"})
    assert response.status_code == status
    assert check(response)


async def test_body_faults_and_timeout() -> None:
    sim = Simulator(SimConfig(latency_ms=5), clock=lambda: NOW)
    async with client(sim) as c:
        sim.inject("similar", MALFORMED_JSON)
        bad = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "public_f"})
        assert bad.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            bad.json()
        sim.inject("similar", TRUNCATED_JSON)
        cut = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "public_f"})
        whole = await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "public_f"})
        assert cut.status_code == 200 and whole.content.startswith(cut.content)
        assert len(cut.content) < len(whole.content)
        with pytest.raises(json.JSONDecodeError):
            cut.json()
        sim.inject("transcript", TIMEOUT)
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/transcript", params={"url": "https://www.instagram.com/reel/AAAAAAAAAAA/"})
    outcomes = sim.stats.by_outcome()
    assert outcomes[MALFORMED_JSON] == 1 and outcomes[TRUNCATED_JSON] == 1 and outcomes[TIMEOUT] == 1
    timed_out = next(c for c in sim.stats.calls if c.outcome == TIMEOUT)
    assert timed_out.status == 0 and timed_out.finished_at - timed_out.started_at < 1.0


def test_inject_validates_arguments() -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    with pytest.raises(ValueError):
        sim.inject("nope", HTTP_500)
    with pytest.raises(ValueError):
        sim.inject("profile", "explode")
    with pytest.raises(ValueError):
        sim.inject("profile", "invalid_output")
    with pytest.raises(ValueError):
        sim.inject("profile", HTTP_500, count=0)


async def _run_with_fault_rate(seed: int, rate: float) -> list[tuple[str, str]]:
    sim = Simulator(SimConfig(seed=seed, latency_ms=0, fault_rate=rate), clock=lambda: NOW)
    async with client(sim) as c:
        for i in range(150):
            for _ in range(2):
                try:
                    await c.post("/ig_get_fb_profile.php", data={"username_or_url": f"public_fr{i}"})
                except httpx.ReadTimeout:
                    pass
    return [(call.key, call.outcome) for call in sim.stats.calls]


async def test_fault_rate_is_spread_and_repeatable() -> None:
    first = await _run_with_fault_rate(7, 0.3)
    again = await _run_with_fault_rate(7, 0.3)
    other = await _run_with_fault_rate(8, 0.3)
    assert first == again
    assert first != other
    outcomes = Counter(outcome for _, outcome in first)
    faults = len(first) - outcomes["ok"]
    assert 0.2 * len(first) < faults < 0.4 * len(first)
    expected = {"rate_limited" if k == RATE_LIMIT_BURST else k for k in RANDOM_FAULT_KINDS}
    assert expected <= set(outcomes)
    assert outcomes[QUOTA_EXHAUSTED] == 0 and outcomes["quota"] == 0


async def test_zero_fault_rate_means_no_faults() -> None:
    calls = await _run_with_fault_rate(7, 0.0)
    assert {outcome for _, outcome in calls} == {"ok"}
