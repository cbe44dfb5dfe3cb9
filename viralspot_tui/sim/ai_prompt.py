"""What the simulated model reads out of a Viral Ideas prompt: strategy, creator, reels, hooks.

A real model understands the prompt; the simulator has to find the same facts by their layout,
which the pipeline keeps stable on purpose (``core/viral/prompts.py``: reels are always
``shortcode=…``, captions and transcripts are fenced, the strategy opens the system prompt).
Anything missing is ``None``/empty, and the answer writers fall back to what they still know —
a prompt from another program yields a thin :class:`PromptFacts`, never an exception.

The *niche* is the world topic whose words the creator's own material uses most; a prompt about
something the world does not know gets a niche made from its most frequent content words.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .schema_fill import extract_vocabulary
from .words import TOPICS, Topic

__all__ = ["Niche", "PromptFacts", "ReelFacts", "SourceHook", "read_prompt"]

_STRATEGY = {
    "content_type": re.compile(r"^- content type: (.+)$", re.M),
    "audience": re.compile(r"^- target audience: (.+)$", re.M),
    "goals": re.compile(r"^- goals: (.+)$", re.M),
}
_CREATOR = re.compile(r"Creator @([a-z0-9._]+)")
_BIO = re.compile(r"^Bio: (.*)$", re.M)
_THEMES = re.compile(r"^Themes: (.*)$", re.M)
_REEL = re.compile(
    r"(?:Reel shortcode=([A-Za-z0-9_-]{11}) by|A reel by) @([a-z0-9._]+):[^\n]*?outlier (?:([\d.]+)x)?[^\n]*\n"
    r"<caption>(.*?)</caption>\s*<transcript>(.*?)</transcript>",
    re.S,
)
_SOURCE = re.compile(
    r'^Reel shortcode=([A-Za-z0-9_-]{11}) by @([a-z0-9._]+) \([\d,]+ views, outlier [\d.]+x\): hook "(.*)" '
    r"\((\w+), score (\d+)/10\)\.",
    re.M,
)
_BUILD_ON = re.compile(r'^Hook to build on \((\w+)\): "(.*)"$', re.M)
_GENERIC_WISHES = ("want better results", "feel stuck", "keep starting over")


@dataclass(frozen=True)
class Niche:
    """The creator's subject: a name, its nouns, and what its audience struggles with."""

    name: str
    words: tuple[str, ...]
    wishes: tuple[str, ...]


@dataclass(frozen=True)
class ReelFacts:
    shortcode: str | None
    username: str
    outlier: float
    caption: str
    transcript: str


@dataclass(frozen=True)
class SourceHook:
    shortcode: str
    username: str
    hook_text: str
    hook_type: str
    score: int


@dataclass
class PromptFacts:
    content_type: str | None = None
    audience: str | None = None
    goals: str | None = None
    username: str | None = None
    bio: str = ""
    themes: list[str] = field(default_factory=list)
    reels: list[ReelFacts] = field(default_factory=list)
    sources: list[SourceHook] = field(default_factory=list)
    build_on: tuple[str, str] | None = None  # (hook type, hook text) of a script prompt
    niche: Niche = field(default_factory=lambda: Niche("content", ("content", "ideas"), _GENERIC_WISHES))

    @property
    def audience_phrase(self) -> str:
        """A plural noun phrase for the audience that reads inside a sentence."""
        if self.audience:
            first = re.split(r"[;,(]| - ", self.audience)[0].strip().rstrip(".")
            if first:
                return first[:1].lower() + first[1:] if not first[:2].isupper() else first
        return f"{self.niche.name} beginners"


def _specified(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if not value or value.lower().startswith("not specified") else value


def _niche(text: str) -> Niche:
    lower = text.lower()
    counts = Counter(re.findall(r"[a-z]+", lower))
    best: Topic | None = None
    best_score = 0
    for topic in TOPICS:
        score = sum(counts[w] for w in topic.vocabulary) + 2 * counts[topic.name]
        if score > best_score:
            best, best_score = topic, score
    if best is not None:
        used = sorted(best.vocabulary, key=lambda w: (-counts[w], best.vocabulary.index(w)))
        return Niche(best.name, tuple(used), best.wishes)
    vocab = [w for w in extract_vocabulary(text) if w.isalpha()][:8] or ["content", "ideas"]
    return Niche(vocab[0], tuple(vocab), _GENERIC_WISHES)


def read_prompt(text: str) -> PromptFacts:
    """Facts from the joined messages of one chat request (system first, then user)."""
    facts = PromptFacts()
    for key, pattern in _STRATEGY.items():
        match = pattern.search(text)
        setattr(facts, key, _specified(match.group(1)) if match else None)
    if match := _CREATOR.search(text):
        facts.username = match.group(1)
    if match := _BIO.search(text):
        facts.bio = "" if match.group(1).strip() == "(empty)" else match.group(1).strip()
    if match := _THEMES.search(text):
        facts.themes = [t.strip() for t in match.group(1).split(",") if t.strip()]
    facts.reels = [
        ReelFacts(code or None, user, float(outlier or 0), caption.strip(), transcript.strip())
        for code, user, outlier, caption, transcript in _REEL.findall(text)
    ]
    facts.sources = [SourceHook(c, u, h, t, int(s)) for c, u, h, t, s in _SOURCE.findall(text)]
    if match := _BUILD_ON.search(text):
        facts.build_on = (match.group(1), match.group(2))
    # The niche is read from the creator's own material: competitor blocks may stray.
    own = re.split(r"Competitor hooks that performed well|It was adapted from this competitor reel", text)[0]
    facts.niche = _niche(own)
    return facts
