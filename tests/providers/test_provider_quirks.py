"""The providers against the simulator's real-host quirks (its default), call by call."""

from __future__ import annotations

import httpx
import pytest

from viralspot_tui.core.providers.errors import ConfigurationError, NotFoundError, TransientError
from viralspot_tui.core.providers.upstream import UpstreamBusyError
from viralspot_tui.sim.quirks import transcript_prepares


async def test_no_similar_accounts_is_an_empty_list_for_one_call(providers, sim):
    assert await providers.instagram.similar("nosimilar_frank") == []  # the crawler counts 0 found
    assert await providers.instagram.similar("private_jane") == []
    assert sim.stats.count(endpoint="similar") == 2


async def test_missing_account_is_not_found_although_http_200(providers, sim, clock):
    with pytest.raises(NotFoundError) as info:
        await providers.instagram.profile("missing_frank")
    assert "does not exist on Instagram" in str(info.value) and clock.sleeps == []
    assert [c.status for c in sim.stats.calls] == [200]


@pytest.mark.parametrize(("endpoint", "kind"), [("profile", "busy_body"), ("reels", "throttled_body")])
async def test_busy_and_throttled_bodies_are_retried(providers, sim, clock, endpoint, kind):
    sim.inject(endpoint, kind, count=2)
    call = providers.instagram.profile("alice") if endpoint == "profile" else providers.instagram.reels_page("alice")
    result = await call
    assert result is not None and sim.stats.count(endpoint=endpoint) == 3 and len(clock.sleeps) == 2
    sim.inject(endpoint, kind, count=10)
    with pytest.raises(UpstreamBusyError) as info:
        await (providers.instagram.profile("bob") if endpoint == "profile" else providers.instagram.reels_page("bob"))
    assert info.value.kind == "transient" and "retry later" in str(info.value)


async def test_unknown_error_text_is_transient(providers, sim):
    sim.inject("reel_detail", "unknown_error_body", count=10)
    code = sim.world.reels("alice")[0].shortcode
    with pytest.raises(TransientError) as info:
        await providers.instagram.reel_detail(code)
    assert "unrecognised error answer" in str(info.value) and not isinstance(info.value, UpstreamBusyError)


async def test_transcripts_206_is_none_without_retry_and_202_is_asked_again(providers, sim, clock):
    reels = sim.world.reels("alice")
    none = next(r for r in reels if not sim.world.has_transcript(r.shortcode))
    assert await providers.transcripts.fetch(none.shortcode) is None
    assert sim.stats.count("transcript") == 1 and clock.sleeps == []
    preparing = next(r for r in reels if sim.world.has_transcript(r.shortcode) and transcript_prepares(7, r.shortcode))
    transcript = await providers.transcripts.fetch(preparing.shortcode)
    assert transcript is not None and transcript.has_content
    assert sim.stats.count("transcript", key=preparing.shortcode) == 2 and clock.sleeps == [1.0]


async def test_unknown_endpoint_is_a_configuration_error(providers, sim):
    """RapidAPI's gateway 404 "Endpoint '/x' does not exist" is about our base URL, not the account."""
    client = httpx.AsyncClient(transport=sim.transport(), headers={"x-rapidapi-key": "k", "x-rapidapi-host": "h"})
    async with client:
        resp = await client.post("https://h/nope.php")
    assert resp.status_code == 404 and "does not exist" in resp.json()["message"]
    with pytest.raises(ConfigurationError) as info:
        providers.instagram.policy.check("profile", resp)
    assert "check the configured host" in str(info.value)
