"""The OpenAI-compatible endpoint through the official SDK, validated by pydantic models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Literal

import httpx
import openai
import pytest
from pydantic import BaseModel, Field, ValidationError

from viralspot_tui.sim import SimConfig, Simulator
from viralspot_tui.sim.schema_fill import SchemaFiller

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class HookType(str, Enum):
    QUESTION = "question"
    SHOCK = "shock"
    STORY = "story"
    LIST = "list"


class Section(BaseModel):
    heading: str
    lines: list[str] = Field(min_length=1, max_length=3)


class GeneratedHook(BaseModel):
    hook_text: str
    hook_type: HookType
    power_words: list[str] = Field(min_length=2, max_length=5)
    score: int = Field(ge=1, le=10)
    confidence: float = Field(ge=0, le=1)
    source_shortcode: str
    source_username: str | None


class Script(BaseModel):
    title: str
    sections: list[Section] = Field(min_length=2, max_length=4)
    call_to_action: str
    estimated_duration_seconds: int = Field(ge=15, le=90)


class Generation(BaseModel):
    tone: Literal["playful", "serious", "educational"]
    hooks: list[GeneratedHook] = Field(min_length=5, max_length=5)
    script: Script
    notes: str | None = None


CODES = ["Ab3_dE-fGh1", "ZZtop12345x", "q-w_e-r_t-y"]
PROMPT = "You write sourdough baking hooks for @primary.baker. Competitor reels: " + "; ".join(
    f"shortcode={c} by @rival{i} about crust and starter" for i, c in enumerate(CODES)
)


def sdk(sim: Simulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="sk-test",
        base_url="http://sim/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=sim.transport()),
    )


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimConfig(seed=7, latency_ms=0), clock=lambda: NOW)


async def test_parse_with_pydantic_model(sim: Simulator) -> None:
    client = sdk(sim)
    completion = await client.chat.completions.parse(
        model="gpt-4o-mini",
        temperature=0.7,
        response_format=Generation,
        messages=[{"role": "system", "content": "Return JSON."}, {"role": "user", "content": PROMPT}],
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Generation)
    assert [h.source_shortcode for h in parsed.hooks] == [CODES[i % 3] for i in range(5)]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion" and completion.model == "gpt-4o-mini"
    usage = completion.usage
    assert usage and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens == len(completion.choices[0].message.content or "") // 4
    hook_words = set(" ".join(h.hook_text.lower().rstrip(".") for h in parsed.hooks).split())
    assert hook_words and all(word in PROMPT.lower() for word in hook_words)  # on-topic text
    assert sim.stats.count("chat", "ok") == 1
    assert sim.stats.calls[0].key == "Generation"


async def test_create_with_raw_json_schema_is_deterministic(sim: Simulator) -> None:
    client = sdk(sim)
    schema = Generation.model_json_schema()
    kwargs = dict(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": PROMPT}],
        response_format={"type": "json_schema", "json_schema": {"name": "generation", "schema": schema}},
    )
    first = await client.chat.completions.create(**kwargs)
    second = await client.chat.completions.create(**kwargs)
    content = first.choices[0].message.content or ""
    assert content == second.choices[0].message.content
    Generation.model_validate_json(content)
    other = await client.chat.completions.create(**{**kwargs, "messages": [{"role": "user", "content": "fitness"}]})
    assert other.choices[0].message.content != content


async def test_json_object_and_plain_text(sim: Simulator) -> None:
    client = sdk(sim)
    obj = await client.chat.completions.create(
        model="m",
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "espresso crema tips"}],
    )
    assert isinstance(json.loads(obj.choices[0].message.content or ""), dict)
    text = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello there"}])
    assert text.choices[0].message.content


async def test_invalid_output_fault_breaks_the_schema_but_not_json(sim: Simulator) -> None:
    sim.inject("chat", "invalid_output", match="Generation")
    client = sdk(sim)
    with pytest.raises(ValidationError):
        await client.chat.completions.parse(
            model="gpt-4o-mini", response_format=Generation, messages=[{"role": "user", "content": PROMPT}]
        )
    ok = await client.chat.completions.parse(
        model="gpt-4o-mini", response_format=Generation, messages=[{"role": "user", "content": PROMPT}]
    )
    assert ok.choices[0].message.parsed is not None
    assert sim.stats.by_outcome("chat") == {"invalid_output": 1, "ok": 1}


async def test_openai_shaped_errors(sim: Simulator) -> None:
    client = sdk(sim)
    sim.inject("chat", "rate_limit_burst")
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert limited.value.code == "rate_limit_exceeded"
    sim.inject("chat", "http_500")
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    sim.inject("chat", "timeout")
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="m", messages=[])
    async with httpx.AsyncClient(transport=sim.transport()) as raw:
        unauthorized = await raw.post("http://sim/v1/chat/completions", json={"model": "m", "messages": []})
    assert unauthorized.status_code == 401
    error = unauthorized.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and "code" in error


def test_schema_filler_handles_refs_anyof_bounds() -> None:
    import random

    schema = {
        "type": "object",
        "$defs": {
            "Item": {
                "type": "object",
                "properties": {
                    "n": {"type": "integer", "exclusiveMinimum": 3, "maximum": 5},
                    "x": {"type": "number", "minimum": 0.5, "maximum": 0.75},
                    "flag": {"type": ["boolean", "null"]},
                    "kind": {"const": "fixed"},
                },
                "required": ["n", "x", "flag", "kind"],
            }
        },
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 4, "maxItems": 6},
            "maybe": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 1},
            "merged": {
                "allOf": [{"properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "integer"}}}]
            },
        },
        "required": ["items"],
    }
    value = SchemaFiller(schema, ["alpha", "beta"], [], [], random.Random(1)).fill()
    assert 4 <= len(value["items"]) <= 6
    for item in [*value["items"], value["maybe"]]:
        assert 4 <= item["n"] <= 5 and 0.5 <= item["x"] <= 0.75 and item["kind"] == "fixed"
        assert isinstance(item["flag"], bool)
    assert len(value["tags"]) == 1 and len(value["tags"][0]) <= 5
    assert set(value["merged"]) == {"a", "b"}
