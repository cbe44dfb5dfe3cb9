"""The simulated model's Viral Ideas answers read like a model's and fit the pipeline (issue 16).

A whole job runs through the real pipeline (prompts, openai SDK, pydantic validation, storage)
against the simulator; the stored output is then checked again against the pipeline's models,
against the world's ground truth (which reels exist, how each reel's hook was written) and
against simple fluency rules a reader would apply.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from testkit import make_settings

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.demo import DEMO_COMPETITORS, DEMO_PRIMARY, DEMO_STRATEGY
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.export import export_bundle
from viralspot_tui.core.viral.models import (
    ContentStrategy,
    GeneratedHook,
    JobStatus,
    ProfileAnalysis,
    generated_hooks_model,
    hook_analysis_model,
    script_model,
)
from viralspot_tui.sim import SimConfig, Simulator
from viralspot_tui.sim.hashing import decode_shortcode
from viralspot_tui.sim.hooks import HOOK_TYPES, OPENERS, adapted_hook, classify_hook, first_person, title_case
from viralspot_tui.sim.schema_fill import SchemaFiller
from viralspot_tui.sim.words import TOPICS, caption, reel_hook

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SEED = 7
FIELD_NAMES = (
    "hook_text",
    "hook_type",
    "source_shortcode",
    "adaptation",
    "why_it_works",
    "power_words",
    "call_to_action",
    "estimated_duration_seconds",
    "content_opportunities",
    "shortcode=",
)


def fluency_problems(text: str, niche_words: set[str] | None = None) -> list[str]:
    """What a reader would flag in one line of generated text (empty when it reads fine)."""
    problems = []
    if not text[:1].isupper():
        problems.append("does not start with a capital")
    if not text.rstrip().endswith((".", "!", "?")):
        problems.append("does not end with punctuation")
    words = re.findall(r"[a-z']+", text.lower())
    if any(words[i] == words[i + 1] == words[i + 2] for i in range(len(words) - 2)):
        problems.append("a word three times in a row")
    if niche_words is not None and not niche_words & set(words):
        problems.append("no niche word")
    problems += [f"raw field name {f}" for f in FIELD_NAMES if f in text]
    return problems


def spoken_hook(sim: Simulator, code: str) -> tuple[str, str]:
    """(type, first line) the world wrote the reel's transcript with — the ground truth."""
    decoded = decode_shortcode(SEED, code)
    assert decoded is not None
    kind, line = reel_hook(SEED, f"#{decoded.tag}", decoded.index_mod, TOPICS[decoded.topic])
    segments = sim.world.transcript(code)
    assert segments and segments[0]["text"] == line
    return kind, line


@asynccontextmanager
async def engine_free_runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Simulator]]:
    clock = FakeClock(START)
    sim = Simulator(SimConfig(seed=SEED, latency_ms=0.0, jitter=0.0), clock=clock.now)
    settings = make_settings(tmp_path, queue={"reels_count": 36}, sim={"latency_ms": 0.0})
    runtime = await Runtime.open(settings, transport=sim.transport(), simulator=sim, clock=clock)
    try:
        yield runtime, sim
    finally:
        await runtime.close()


async def finished_bundle(tmp_path: Path, primary: str, competitors: list[str], strategy: ContentStrategy) -> Any:
    async with engine_free_runtime(tmp_path) as (runtime, sim):
        job = await api.create_job(runtime, primary, competitors, strategy)
        outcome = await api.run_job_now(runtime, job.id)
        assert outcome.status == JobStatus.COMPLETED, outcome.error
        return await export_bundle(runtime, job.id), sim


def niche_of(sim: Simulator, username: str) -> set[str]:
    topic = sim.world.profile(username).topic
    return {*topic.vocabulary, topic.name}


JOBS = [
    pytest.param(DEMO_PRIMARY, list(DEMO_COMPETITORS), DEMO_STRATEGY, "bread course", id="demo-baking"),
    pytest.param(
        "fitness.with.maya",
        ["public_lifter1", "public_lifter2", "public_lifter3"],
        ContentStrategy(content_type="gym tips", goals="get more comments and build a community"),
        "comments",
        id="fitness-no-audience",
    ),
]


@pytest.mark.parametrize(("primary", "competitors", "strategy", "goal_words"), JOBS)
async def test_a_jobs_output_validates_names_real_reels_and_reads_fluently(
    tmp_path: Path, primary: str, competitors: list[str], strategy: ContentStrategy, goal_words: str
) -> None:
    bundle, sim = await finished_bundle(tmp_path, primary, competitors, strategy)
    niche = niche_of(sim, primary)
    ProfileAnalysis.model_validate(bundle["profile_analysis"])
    for line in [bundle["profile_analysis"]["audience"], bundle["profile_analysis"]["voice"]]:
        assert not fluency_problems(line), line

    # Hook analysis: the reel's real opening line, quoted, with the type it was written as.
    for reel in bundle["source_reels"]:
        analysis = hook_analysis_model(reel["shortcode"]).model_validate(reel["hook"])
        kind, line = spoken_hook(sim, reel["shortcode"])
        assert (analysis.hook_text, analysis.hook_type) == (line, kind)
        assert not fluency_problems(analysis.why_it_works), analysis.why_it_works

    # Generated hooks: valid for the stage's own schema, each citing a real competitor reel.
    competitor_codes = [r["shortcode"] for r in bundle["source_reels"] if r["role"] == "competitor"]
    hooks = bundle["hooks"]
    generated_hooks_model(competitor_codes, len(hooks)).model_validate(
        {"hooks": [GeneratedHook.model_validate(h).model_dump() for h in hooks]}
    )
    assert len(hooks) == 5 and len({h["hook_text"] for h in hooks}) == 5
    for hook in hooks:
        reel = sim.world.reel(hook["source_shortcode"], START)
        assert reel is not None and reel.owner in competitors and hook["source_username"] == reel.owner
        assert hook["hook_type"] == classify_hook(hook["hook_text"])
        assert not fluency_problems(hook["hook_text"], niche), hook["hook_text"]
        assert not fluency_problems(hook["adaptation"]), hook["adaptation"]
        source_hook = next(r["hook"]["hook_text"] for r in bundle["source_reels"] if r["shortcode"] == reel.shortcode)
        assert source_hook in hook["adaptation"]  # the adaptation says what it adapted

    # Scripts: bound to their hook, 3-5 beats, a CTA that serves the goal, a fitting duration.
    for hook, script in zip(hooks, bundle["scripts"], strict=True):
        script_model(hook["source_shortcode"], hook["hook_text"]).model_validate(script)
        assert script["hook"] == hook["hook_text"]
        assert 3 <= len(script["sections"]) <= 5
        assert 15 <= script["estimated_duration_seconds"] <= 90
        words = len(script["hook"].split()) + sum(len(s["text"].split()) for s in script["sections"])
        assert abs(script["estimated_duration_seconds"] - words / 2.6) < 20  # timed from its own words
        assert goal_words in script["call_to_action"]
        assert script["title"][:1].isupper() and not re.search(r"'[A-Z]", script["title"]), script["title"]
        for text in [script["call_to_action"], *(s["text"] for s in script["sections"])]:
            assert not fluency_problems(text), text
        assert niche & set(re.findall(r"[a-z]+", " ".join(s["text"] for s in script["sections"]).lower()))


async def test_the_same_job_gets_the_same_ideas(tmp_path: Path) -> None:
    first, _ = await finished_bundle(tmp_path / "a", DEMO_PRIMARY, list(DEMO_COMPETITORS), DEMO_STRATEGY)
    second, _ = await finished_bundle(tmp_path / "b", DEMO_PRIMARY, list(DEMO_COMPETITORS), DEMO_STRATEGY)
    assert first["hooks"] == second["hooks"] and first["scripts"] == second["scripts"]


def test_the_classifier_names_the_type_of_every_opener_and_adapted_hook() -> None:
    for topic in TOPICS:
        for wish in topic.wishes:
            for w in topic.vocabulary[:3]:
                fill = {"wish": wish, "wish_i": first_person(wish), "w": w, "w2": topic.vocabulary[-1], "N": "Four"}
                for kind, lines in OPENERS.items():
                    for line in lines:
                        assert classify_hook(line.format(**fill)) == kind, line.format(**fill)
                for kind in HOOK_TYPES:
                    for variant in range(2):
                        text = adapted_hook(kind, variant, audience="home bakers", **fill)
                        assert classify_hook(text) == kind, text
                        assert not fluency_problems(text, set(topic.vocabulary)), text


def test_captions_read_like_instagram_and_open_with_the_spoken_hook() -> None:
    sim = Simulator(SimConfig(seed=SEED, latency_ms=0.0), clock=lambda: START)
    reels = [r for name in (DEMO_PRIMARY, *DEMO_COMPETITORS) for r in sim.world.reels(name)[:8]]
    assert len(reels) >= 30
    for reel in reels:
        tags = re.findall(r"#\w+", reel.caption)
        assert 1 <= len(tags) <= 2, reel.caption
        prose = reel.caption.split(" #")[0]
        assert not fluency_problems(prose), prose
        if reel.has_transcript:
            _, line = spoken_hook(sim, reel.shortcode)
            assert reel.caption.startswith(line)
            spoken = " ".join(str(s["text"]) for s in sim.world.transcript(reel.shortcode) or [])
            assert all(not fluency_problems(s) for s in re.split(r"(?<=[.!?])\s+", spoken)), spoken
    assert caption(SEED, "#1", 3, TOPICS[0]) == caption(SEED, "#1", 3, TOPICS[0])


def test_title_case_keeps_apostrophes_and_small_words() -> None:
    assert title_case("the sourdough detail nobody's talking about") == "The Sourdough Detail Nobody's Talking About"
    assert title_case("what you don't know about the crust") == "What You Don't Know About the Crust"


def test_the_generic_filler_title_cases_without_mangling_apostrophes() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    vocab = ["don't", "you're", "sourdough", "it's"]
    for seed in range(20):
        title = SchemaFiller(schema, vocab, [], [], random.Random(seed)).fill()["title"]
        assert not re.search(r"'[A-Z]", title) and title[:1].isupper(), title
