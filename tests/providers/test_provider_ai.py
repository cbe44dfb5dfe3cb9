"""The AI provider through the official openai SDK, against the simulator (in-process and loopback)."""

from __future__ import annotations

import asyncio

import pytest
from provider_kit import make_settings
from pydantic import BaseModel, Field

from viralspot_tui.core.providers.errors import AIOutputError, QuotaExhaustedError
from viralspot_tui.core.providers.factory import Providers
from viralspot_tui.sim import running_server


class Hook(BaseModel):
    source_shortcode: str
    text: str
    hook_type: str
    score: int = Field(ge=0, le=100)


class HookAnalysis(BaseModel):
    hooks: list[Hook] = Field(min_length=1)
    summary: str


def _messages(codes: list[str]) -> list[dict[str, str]]:
    listing = "\n".join(f"- shortcode={c}: a reel about cosy living rooms and rugs" for c in codes)
    return [
        {"role": "system", "content": "You analyse Instagram hooks. Answer in JSON."},
        {"role": "user", "content": f"Analyse the hooks of these reels:\n{listing}"},
    ]


async def test_structured_output_in_process(providers, sim):
    codes = [r.shortcode for r in sim.world.reels("alice")[:3]]
    result = await providers.ai.structured("hook_analysis", _messages(codes), HookAnalysis)
    assert isinstance(result.value, HookAnalysis)
    assert {h.source_shortcode for h in result.value.hooks} <= set(codes)
    assert result.attempts == 1 and result.stage == "hook_analysis"
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    ai = providers.ai
    expected = (
        result.usage.prompt_tokens * ai.input_cost_per_mtok + result.usage.completion_tokens * ai.output_cost_per_mtok
    ) / 1e6
    assert result.cost_usd == pytest.approx(expected) and result.cost_usd > 0
    call = sim.stats.calls[-1]
    assert call.endpoint == "chat" and call.key == "HookAnalysis" and call.detail == "gpt-4o-mini"


async def test_structured_output_over_loopback(sim, clock):
    codes = [r.shortcode for r in sim.world.reels("alice")[:2]]
    async with running_server(sim) as base_url:
        settings = make_settings()
        settings.openai.base_url = f"{base_url}/v1"
        settings.openai.model = "sim-model"
        settings.openai.temperature = 0.2
        providers = Providers.create(settings, clock=clock)
        try:
            result = await providers.ai.structured("hook_analysis", _messages(codes), HookAnalysis)
        finally:
            await providers.aclose()
    assert {h.source_shortcode for h in result.value.hooks} <= set(codes)
    assert result.model == "sim-model"
    assert sim.stats.count(endpoint="chat", outcome="ok") == 1


async def test_invalid_output_once_is_retried(providers, sim):
    sim.inject("chat", "invalid_output")
    codes = [r.shortcode for r in sim.world.reels("alice")[:2]]
    result = await providers.ai.structured("hook_analysis", _messages(codes), HookAnalysis)
    assert result.attempts == 2
    assert sim.stats.count(endpoint="chat") == 2
    assert sim.stats.count(endpoint="chat", outcome="invalid_output") == 1
    single = await providers.ai.structured("hook_analysis", _messages(codes), HookAnalysis)
    assert result.usage.total_tokens > single.usage.total_tokens  # the failed attempt is paid for too


async def test_invalid_output_beyond_bound_names_the_stage(providers, sim):
    retries = providers.ai.output_retries
    sim.inject("chat", "invalid_output", count=retries + 5)
    with pytest.raises(AIOutputError) as info:
        await providers.ai.structured("script_writing", _messages(["abcdefghijk"]), HookAnalysis)
    assert info.value.stage == "script_writing" and "script_writing" in str(info.value)
    assert info.value.attempts == retries + 1
    assert sim.stats.count(endpoint="chat") == retries + 1


async def test_chat_server_errors_go_through_the_policy(providers, sim, clock):
    sim.inject("chat", "http_503")
    sim.inject("chat", "truncated_json")
    result = await providers.ai.structured("profile_analysis", _messages(["abcdefghijk"]), HookAnalysis)
    assert result.attempts == 1  # transport-level retries are not output retries
    assert sim.stats.count(endpoint="chat") == 3
    assert 1.0 in clock.sleeps  # the 503's Retry-After


async def test_openai_quota_parks_the_ai_provider_only(providers, sim):
    sim.inject("chat", "quota_exhausted")
    with pytest.raises(QuotaExhaustedError):
        await providers.ai.structured("hook_analysis", _messages(["abcdefghijk"]), HookAnalysis)
    with pytest.raises(QuotaExhaustedError):
        await providers.ai.structured("hook_analysis", _messages(["abcdefghijk"]), HookAnalysis)
    assert sim.stats.count(endpoint="chat") == 1
    assert (await providers.instagram.profile("alice")).username == "alice"


async def test_prepared_client_serves_concurrent_first_calls(providers, sim):
    """``prepare`` loads the SDK's chat client in a thread (a job calls it while it fetches);
    calls made before the load finished wait for it, and asking twice loads once."""
    codes = [r.shortcode for r in sim.world.reels("alice")[:2]]
    providers.ai.prepare()
    providers.ai.prepare()
    results = await asyncio.gather(
        *(providers.ai.structured("hook_analysis", _messages(codes), HookAnalysis) for _ in range(3))
    )
    assert all(isinstance(r.value, HookAnalysis) and r.attempts == 1 for r in results)
    assert sim.stats.count("chat") == 3
