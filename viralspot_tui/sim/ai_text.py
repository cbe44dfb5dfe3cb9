"""Answers of the simulated model to the four Viral Ideas stages, written to read like a model's.

The generic :class:`~.schema_fill.SchemaFiller` proves the pipeline handles *any* schema-valid
answer, but its text is shuffled prompt words — useless to a person judging the product from
the demo's job screen. When a request's schema is one of the pipeline's stage shapes (profile
analysis, hook analysis, generated hooks, script: recognised by their properties, so a renamed
model still matches) the answer is composed from what the prompt says (see :mod:`.ai_prompt`)
and the hook knowledge in :mod:`.hooks`: the hook analysis names the type of the reel's actual
opening line, generated hooks adapt the cited competitor hook to the creator's niche and
audience, and each script opens with exactly its hook, delivers what the hook promised in 3–5
beats, ends on a call to action built from the goals, and is timed from its own words.

Choices come from the request-seeded ``rnd``, so equal requests get equal answers. Values the
schema pins (cited shortcodes, the number of hooks, duration bounds) are read from the schema
itself, so the answer stays valid whatever the prompt contained. Any other schema gets ``None``
and the caller falls back to the generic filler.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from .ai_prompt import PromptFacts, read_prompt
from .hooks import HOOK_TYPES, NUMBER_WORDS, adapted_hook, classify_hook, power_words, sentence_case, why_it_works
from .schema_fill import SchemaFiller
from .script_text import call_to_action, script_beats, script_title, tidy

__all__ = ["pipeline_answer"]

_PROFILE = {"themes", "audience", "voice", "content_opportunities"}
_HOOK_ANALYSIS = {"shortcode", "hook_text", "hook_type", "power_words", "why_it_works", "score"}
_GENERATED = {"hook_text", "hook_type", "source_shortcode", "adaptation"}
_SCRIPT = {"source_shortcode", "title", "hook", "sections", "call_to_action", "estimated_duration_seconds"}
_LABELS = {k: k.replace("_", "-") for k in HOOK_TYPES}  # "curiosity_gap" reads "curiosity-gap"
_HELP_RE = re.compile(r"Helping you if you ((?:[a-z][\w']*\s?)+)")


def pipeline_answer(schema: dict[str, Any], text: str, rnd: random.Random, filler: SchemaFiller) -> Any | None:
    """The stage answer for a pipeline schema, or ``None`` when the schema is not one of them."""
    root = filler.resolve(schema)
    props = {k: filler.resolve(v) if isinstance(v, dict) else {} for k, v in (root.get("properties") or {}).items()}
    keys = set(props)
    facts = read_prompt(text)
    if _SCRIPT <= keys:
        return _script(facts, props, rnd)
    if _HOOK_ANALYSIS <= keys:
        return _hook_analysis(facts, props)
    if _PROFILE <= keys:
        return _profile(facts, rnd)
    hooks = props.get("hooks")
    if set(props) == {"hooks"} and hooks and hooks.get("type") == "array":
        item = filler.resolve(hooks.get("items") or {})
        item_props = {k: filler.resolve(v) for k, v in (item.get("properties") or {}).items()}
        if _GENERATED <= set(item_props):
            count = int(hooks.get("minItems", hooks.get("maxItems", 5)))
            return {"hooks": _generated(facts, item_props, count, rnd)}
    return None


def _enum(prop: dict[str, Any], fallback: list[str]) -> list[str]:
    values = [v for v in prop.get("enum") or [] if isinstance(v, str)]
    return values or fallback


def _first_sentence(text: str) -> str:
    text = re.sub(r"\s#\w+", "", " " + text).strip()  # hashtags are not part of a spoken hook
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text).strip()


def _they(phrase: str) -> str:
    for pattern, word in ((r"\byour\b", "their"), (r"\byou\b", "they")):
        phrase = re.sub(pattern, word, phrase)
    return phrase


# ------------------------------------------------------------------------------- stage 1
def _profile(facts: PromptFacts, rnd: random.Random) -> dict[str, Any]:
    niche = facts.niche
    w = list(niche.words) + ["content"] * 4
    themes = [
        f"{sentence_case(w[0])} for beginners",
        f"Fixing common {w[1]} mistakes",
        f"Everyday {w[2]} routines",
        f"{sentence_case(w[3])} and {w[4] if len(niche.words) > 4 else niche.name} basics",
    ][: rnd.randint(3, 4)]
    audience = facts.audience_phrase
    wish = _HELP_RE.search(facts.bio)  # the world's bios promise "Helping you if you ..."
    wish_text = wish.group(1).strip() if wish else (niche.wishes[0] if niche.wishes else "want quick wins")
    described = sentence_case(audience)
    bio_note = f' The bio speaks to them directly ("Helping you if you {wish_text}"), and' if wish else " The"
    audience_text = (
        f"{described}: people who {_they(wish_text)} and want results without a lot of theory.{bio_note} "
        f"captions assume little prior {niche.name} knowledge."
    )
    transcripts = [r.transcript for r in facts.reels if r.transcript]
    sentences = [s for t in transcripts for s in re.split(r"(?<=[.!?])\s+", t) if s.strip()]
    avg = round(sum(len(s.split()) for s in sentences) / len(sentences)) if sentences else 11
    openers = Counter(classify_hook(_first_sentence(t)) for t in transcripts)
    common = [_LABELS[k] for k, _ in openers.most_common(2)] or ["pain-point"]
    pace = "Direct and practical" if avg <= 13 else "Calm and explanatory"
    voice = (
        f'{pace}: spoken sentences of about {avg} words, addressed to the viewer as "you", with '
        f"{' and '.join(common)} openers, everyday {niche.name} vocabulary ({', '.join(niche.words[:3])}) "
        "and a clear ask at the end of each reel."
    )
    kind = facts.content_type or "short-form video"
    goal = (facts.goals or "grow reach and engagement").rstrip(".")
    opportunities = [
        f"A {kind} series answering one {w[0]} question per reel for {audience}",
        f"A numbered-list reel on the {w[1]} mistakes viewers ask about in the comments",
        f"A before-and-after {w[2]} reel built to serve the goal: {goal}",
        f"Adapting the best-performing competitor hooks to {niche.name} in the creator's own voice",
    ][: rnd.randint(3, 4)]
    return {"themes": themes, "audience": audience_text, "voice": voice, "content_opportunities": opportunities}


# ------------------------------------------------------------------------------- stage 2
def _hook_analysis(facts: PromptFacts, props: dict[str, dict[str, Any]]) -> dict[str, Any]:
    reel = facts.reels[0] if facts.reels else None
    codes = _enum(props["shortcode"], [reel.shortcode] if reel and reel.shortcode else ["unknown"])
    source = (reel.transcript or reel.caption) if reel else ""
    line = _first_sentence(source) or "This changed how I work."
    line = line[:300]
    kind = classify_hook(line)
    words = line.split()
    lower = line.lower()
    score = 5
    score += 1 if len(words) <= 12 else -1 if len(words) > 18 else 0
    score += 1 if any(n in lower for n in NUMBER_WORDS) or re.search(r"\d", line) else 0
    score += 1 if any(w in lower for w in facts.niche.words) else 0
    score += 1 if re.search(r"\byou\b", lower) else 0
    outlier = reel.outlier if reel else 0.0
    score += 2 if outlier >= 3 else 1 if outlier >= 1.5 else 0
    why = why_it_works(kind, facts.audience_phrase)
    if outlier >= 1.5:
        why += f" It drew {outlier:.1f}x the creator's usual views, so the format clearly lands."
    return {
        "shortcode": codes[0],
        "hook_text": line,
        "hook_type": kind,
        "power_words": power_words(line, facts.niche.words),
        "why_it_works": why,
        "score": max(1, min(10, score)),
    }


# ------------------------------------------------------------------------------- stage 3
def _generated(
    facts: PromptFacts, item_props: dict[str, dict[str, Any]], count: int, rnd: random.Random
) -> list[dict[str, Any]]:
    codes = _enum(item_props["source_shortcode"], [s.shortcode for s in facts.sources] or ["unknown"])
    by_code = {s.shortcode: s for s in facts.sources}
    sources = [by_code[c] for c in codes if c in by_code] or []
    niche = facts.niche
    words = list(niche.words) or ["content"]
    primary = f"@{facts.username}" if facts.username else "the creator"
    kind_of = facts.content_type or "short-form video"
    goal = (facts.goals or "grow reach and engagement").rstrip(".")
    hooks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(count):
        src = sources[i % len(sources)] if sources else None
        code = src.shortcode if src else codes[i % len(codes)]
        kind = src.hook_type if src and src.hook_type in HOOK_TYPES else classify_hook(src.hook_text if src else "")
        variant = i + rnd.randrange(2)
        for attempt in range(6):
            w = words[(i + attempt) % len(words)]
            w2 = words[(i + attempt + 1) % len(words)]
            text = tidy(
                adapted_hook(
                    kind,
                    variant + attempt,
                    w=w,
                    w2=w2,
                    audience=facts.audience_phrase,
                    wish=niche.wishes[(i + attempt) % len(niche.wishes)],
                    N=NUMBER_WORDS[(i + attempt) % len(NUMBER_WORDS)].title(),
                )
            )
            if text not in seen:
                break
        seen.add(text)
        origin = f'@{src.username}\'s hook "{src.hook_text}"' if src else "the competitor hook"
        adaptation = (
            f"Keeps the {_LABELS.get(kind, kind)} structure of {origin} but points it at {facts.audience_phrase} "
            f"and at {w}, a subject {primary} keeps coming back to. It suits {kind_of} and serves the goal: {goal}."
        )
        hooks.append({"hook_text": text, "hook_type": kind, "source_shortcode": code, "adaptation": adaptation})
    return hooks


# ------------------------------------------------------------------------------- stage 4
def _script(facts: PromptFacts, props: dict[str, dict[str, Any]], rnd: random.Random) -> dict[str, Any]:
    codes = _enum(props["source_shortcode"], [facts.reels[-1].shortcode or "unknown"] if facts.reels else ["unknown"])
    if facts.build_on is not None:
        kind, hook = facts.build_on
    else:
        hook = _first_sentence(facts.reels[-1].transcript) if facts.reels else "Here's what nobody tells you."
        kind = classify_hook(hook)
    if kind not in HOOK_TYPES:
        kind = classify_hook(hook)
    niche = facts.niche
    in_hook = [w for w in niche.words if w in hook.lower()]
    words = list(dict.fromkeys([*in_hook, *niche.words])) or ["content", "ideas", "basics"]
    while len(words) < 3:
        words.append(words[-1])
    sections = script_beats(kind, hook, words, facts.audience_phrase, rnd)
    cta = call_to_action(facts.goals, niche.name, facts.content_type)
    spoken = len(hook.split()) + sum(len(s["text"].split()) for s in sections) + len(cta.split())
    seconds = round(spoken / 2.6 + len(sections))
    duration = props.get("estimated_duration_seconds", {})
    low = max(15, int(duration.get("minimum", 15)))
    high = min(90, int(duration.get("maximum", 90)))
    return {
        "source_shortcode": codes[0],
        "title": script_title(kind, hook, words[0]),
        "hook": hook,
        "sections": sections,
        "call_to_action": cta,
        "estimated_duration_seconds": max(low, min(high, seconds)),
    }
