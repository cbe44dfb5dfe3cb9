"""The outbound policy: retries (POST included), Retry-After, quota parking, error classes."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from provider_kit import SECRET, make_settings

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.providers.errors import (
    ConfigurationError,
    MalformedResponseError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from viralspot_tui.core.providers.policy import OutboundPolicy, parse_retry_after
from viralspot_tui.sim.quirks import transcript_prepares


async def test_post_endpoint_is_retried(providers, sim, clock):
    sim.inject("profile", "http_503")
    profile = await providers.instagram.profile("alice")
    assert profile.username == "alice"
    assert sim.stats.count(endpoint="profile") == 2
    assert sim.stats.count(endpoint="profile", outcome="http_503") == 1
    assert all(c.method == "POST" for c in sim.stats.calls)
    assert clock.sleeps == [1.0]  # the 503 carried Retry-After: 1
    assert providers.policies["instagram"].state.retries == 1


async def test_reels_post_retried_after_500_with_backoff(providers, sim, clock):
    sim.inject("reels", "http_500", count=2)
    page = await providers.instagram.reels_page("alice")
    assert page.reels
    assert sim.stats.count(endpoint="reels") == 3
    initial = make_settings().rapidapi.backoff_initial
    assert len(clock.sleeps) == 2
    assert initial / 2 <= clock.sleeps[0] <= initial  # equal jitter around the first step
    assert initial <= clock.sleeps[1] <= 2 * initial  # and it grows


async def test_retry_after_honoured_through_injected_sleep(providers, sim, clock):
    sim.inject("similar", "rate_limit_burst")
    before = time.monotonic()
    accounts = await providers.instagram.similar("alice")
    assert accounts
    assert clock.sleeps == [1.0]
    assert time.monotonic() - before < 0.5  # the wait was the fake clock's, not real time
    assert sim.stats.count(endpoint="similar", outcome="rate_limited") == 1
    assert sim.stats.count(endpoint="similar", outcome="ok") == 1


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json", "timeout"])
async def test_corrupt_or_lost_answers_are_transient(providers, sim, kind):
    sim.inject("reel_detail", kind)
    reel = (await providers.instagram.reels_page("alice")).reels[0]
    detail = await providers.instagram.reel_detail(reel.shortcode)
    assert detail.shortcode == reel.shortcode
    assert sim.stats.count(endpoint="reel_detail") == 2


async def test_transient_failures_stop_after_bounded_retries(providers, sim, clock):
    sim.inject("profile", "malformed_json", count=10)
    with pytest.raises(MalformedResponseError) as info:
        await providers.instagram.profile("alice")
    assert info.value.kind == "transient" and info.value.endpoint == "profile"
    assert sim.stats.count(endpoint="profile") == 4  # 1 + retries (3)
    assert len(clock.sleeps) == 3


async def test_quota_exhausted_parks_and_retries_nothing(providers, sim, clock):
    sim.inject("profile", "quota_exhausted")
    with pytest.raises(QuotaExhaustedError) as info:
        await providers.instagram.profile("alice")
    assert sim.stats.count() == 1 and clock.sleeps == []
    reset = info.value.reset_at
    assert reset == datetime(2026, 12, 1, tzinfo=UTC)  # the sim's monthly reset (clock starts 2026-11-01 12:00)
    # every later call on this provider raises at once without reaching the simulator
    for call in (
        providers.instagram.profile("bob"),
        providers.instagram.reels_page("bob"),
        providers.instagram.similar("bob"),
    ):
        with pytest.raises(QuotaExhaustedError):
            await call
    assert sim.stats.count() == 1
    state = providers.quota_snapshot()["instagram"]
    assert state.parked_until == reset and state.requests_remaining == 0
    assert state.as_dict()["parked_until"].startswith("2026-12-01")
    # other providers are not parked by it
    # (a reel whose transcript is not "being prepared": one ask, one call)
    code = next(r.shortcode for r in sim.world.reels("alice") if not transcript_prepares(7, r.shortcode))
    await providers.transcripts.fetch(code)
    assert sim.stats.count(endpoint="transcript") == 1
    assert providers.quota_snapshot()["transcripts"].parked_until is None
    # after the reset the provider works again
    clock.advance((reset - clock.now()).total_seconds() + 1)
    assert (await providers.instagram.profile("bob")).username == "bob"


async def test_remaining_zero_on_success_parks_after_the_call(make_sim, make_providers, clock):
    sim = make_sim(monthly_quota=2)
    providers = make_providers(sim)
    await providers.instagram.profile("alice")
    assert (await providers.instagram.profile("bob")).username == "bob"  # the last request of the plan
    with pytest.raises(QuotaExhaustedError):
        await providers.instagram.profile("carol")
    assert sim.stats.count() == 2
    assert providers.policies["instagram"].parked_until() is not None


async def test_not_subscribed_is_configuration_and_not_retried(make_sim, make_providers, clock):
    sim = make_sim(unsubscribed_keys=frozenset({SECRET}))
    providers = make_providers(sim, api_key_override=SECRET)
    with pytest.raises(ConfigurationError) as info:
        await providers.instagram.profile("alice")
    assert info.value.status == 403 and "not subscribed" in str(info.value)
    assert info.value.kind == "configuration"
    assert sim.stats.count() == 1 and clock.sleeps == []
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


async def test_injected_not_subscribed_on_transcripts(providers, sim):
    sim.inject("transcript", "not_subscribed")
    with pytest.raises(ConfigurationError):
        await providers.transcripts.fetch(sim.world.reels("alice")[0].shortcode)
    assert sim.stats.count(endpoint="transcript") == 1


async def test_rate_limit_holds_under_50_concurrent_callers(make_sim, make_providers):
    """Real time: 50 callers, limit 25/s; the sim (enforcing 25/s itself) never sees more."""
    limit = 25
    sim = make_sim(rate_limit=limit)
    providers = make_providers(sim, make_settings(requests_per_second=float(limit)))
    policy = providers.policies["instagram"]
    started = time.monotonic()
    names = [n for n in (f"user{i}" for i in range(200)) if sim.world.profile(n).kind != "missing"][:50]
    profiles = await asyncio.gather(*(providers.instagram.profile(n) for n in names))
    elapsed = time.monotonic() - started
    assert [p.username for p in profiles] == names
    assert sim.stats.max_in_window(1.0) <= limit
    assert sim.stats.count(outcome="rate_limited") == 0
    assert sim.stats.count() == 50
    assert elapsed >= 49 / limit * 0.95  # it really was spaced, not burst
    assert policy.state.window_limit == limit * 60


def test_retry_after_forms():
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after("0.5", now) == 0.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("Sun, 01 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("nan", now) is None


def _response(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def test_quota_headers_parsed_into_state():
    clock = FakeClock()
    policy = OutboundPolicy("instagram", requests_per_second=5, clock=clock)
    policy.check(
        "profile",
        _response(
            200,
            **{
                "x-ratelimit-requests-limit": "240000",
                "x-ratelimit-requests-remaining": "205676",
                "x-ratelimit-requests-reset": "2163603",
                "x-ratelimit-limit": "300",
                "x-ratelimit-remaining": "299",
                "x-ratelimit-reset": "60",
            },
        ),
    )
    state = policy.snapshot()
    assert (state.requests_limit, state.requests_remaining) == (240000, 205676)
    assert state.requests_reset_at == clock.now() + timedelta(seconds=2163603)
    assert (state.window_limit, state.window_remaining) == (300, 299)
    assert state.window_reset_at == clock.now() + timedelta(seconds=60)
    assert state.parked_until is None
    policy.check("profile", _response(200, **{"x-ratelimit-requests-remaining": "garbage"}))
    assert policy.snapshot().requests_remaining == 205676  # garbage is ignored, not fatal


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            429,
            {"message": "You have exceeded the rate limit per second for your plan, BASIC"},
            {"retry-after": "1"},
            RateLimitedError,
        ),
        (
            429,
            {"message": "You have exceeded the MONTHLY quota for Requests on your current plan, BASIC."},
            {},
            QuotaExhaustedError,
        ),
        (429, {"message": "Too many requests"}, {"retry-after": "7200"}, QuotaExhaustedError),
        (429, {"message": "Too many requests"}, {"x-ratelimit-requests-remaining": "0"}, QuotaExhaustedError),
        (
            429,
            {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}},
            {},
            QuotaExhaustedError,
        ),
        (401, {"message": "Invalid API key"}, {}, ConfigurationError),
        (403, {"message": "You are not subscribed to this API."}, {}, ConfigurationError),
        (408, {"message": "Request Timeout"}, {}, TransientError),
        (502, {"message": "Bad Gateway"}, {}, TransientError),
    ],
)
def test_classification(status, body, headers, expected):
    policy = OutboundPolicy("instagram", requests_per_second=5, clock=FakeClock())
    with pytest.raises(expected) as info:
        policy.check("profile", _response(status, body, **headers))
    assert type(info.value) is expected or expected is TransientError
    assert (policy.parked_until() is not None) == (expected is QuotaExhaustedError)


@pytest.mark.parametrize("status", [400, 404, 405, 410, 422])
def test_other_4xx_are_permanent(status):
    policy = OutboundPolicy("instagram", requests_per_second=5, clock=FakeClock())
    with pytest.raises(Exception) as info:
        policy.check("profile", _response(status, {"message": "nope"}))
    assert info.value.kind == "permanent" and info.value.status == status


async def test_long_retry_after_is_not_slept_on_but_handed_back(clock):
    """A burst 429 asking for more than max_retry_after is raised with its hint, not held."""
    policy = OutboundPolicy("instagram", requests_per_second=1000, clock=clock, max_retry_after=120)
    sent = 0

    async def attempt() -> None:
        nonlocal sent
        sent += 1
        policy.check("profile", _response(429, {"message": "slow down"}, **{"retry-after": "600"}))

    with pytest.raises(RateLimitedError) as info:
        await policy.run("profile", attempt)
    assert info.value.retry_after == 600 and sent == 1 and clock.sleeps == []
