"""Hook types as a writer and an analyst know them: how each opens, how to spot it, why it works.

One module serves both sides of the simulation so they agree by construction. The world's
transcripts and captions open with a line written from these templates, and the simulated hook
analyst classifies opening lines with the rules below — so the analysis of a simulated reel
names the type the reel was written with, and a real-world line gets a sensible reading too.
The generated-hook templates adapt a competitor's hook *type* to another creator's niche and
audience, which is what the pipeline's hook generation stage asks a model to do (see
docs/demo.md, "Simulated AI output").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "HOOK_TYPES",
    "NUMBER_WORDS",
    "OPENERS",
    "classify_hook",
    "first_person",
    "power_words",
    "why_it_works",
    "adapted_hook",
    "sentence_case",
    "title_case",
]

# The simulator stands in for the outside world and imports nothing from the core: like a real
# model, it knows the hook types only as the values the request's schema allows, listed here.
HOOK_TYPES: tuple[str, ...] = (
    "question",
    "bold_claim",
    "statistic",
    "story",
    "contrarian",
    "how_to",
    "curiosity_gap",
    "pain_point",
    "list",
    "challenge",
)
NUMBER_WORDS: tuple[str, ...] = ("three", "four", "five")

# Spoken openers of the world's reels, by type. Placeholders: {wish} (second person, e.g.
# "keep burning your cookies"), {wish_i} (first person), {w}/{w2} (niche words), {n} (number).
OPENERS: dict[str, tuple[str, ...]] = {
    "pain_point": ("Stop scrolling if you {wish}.", "If you {wish}, this one is for you."),
    "question": ("Do you {wish}?", "Why does your {w} never turn out the way it does online?"),
    "bold_claim": ("This is the only {w} routine you will ever need.", "This {w} method changed everything for me."),
    "statistic": (
        "Nine out of ten people get their {w} wrong, and it's not their fault.",
        "Eighty percent of {w} problems come down to one thing.",
    ),
    "story": (
        "A year ago I used to {wish_i}, and then one {w} trick changed it.",
        "I spent a whole month fixing my {w}.",
    ),
    "contrarian": (
        "Everyone tells you to focus on {w}, but they're wrong.",
        "Stop obsessing over {w}; it's not what makes the difference.",
    ),
    "how_to": ("Here's how to get your {w} right in ten minutes.", "How to fix your {w} without spending a fortune."),
    "curiosity_gap": ("Nobody tells you this if you {wish}.", "There's one {w} secret nobody talks about."),
    "list": ("{N} {w} mistakes I stopped making this year.", "{N} things I wish I knew before I started with {w}."),
    "challenge": (
        "Try this {w} trick for seven days and watch what happens.",
        "I dare you to change one thing about your {w}.",
    ),
}

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("statistic", r"\b\d+\s*(%|percent)|\bpercent\b|\bout of (ten|\d+)\b|\b(nine|eight|seven) in ten\b"),
        ("question", r"\?\s*$"),
        ("challenge", r"^(try|i dare you|give me|do this|for the next)\b|\bchallenge\b|\bfor (seven|\w+) days\b"),
        (
            "list",
            r"^(two|three|four|five|six|seven|\d+) \w+|\b(three|four|five|\d+) (things|mistakes|ways|tips|reasons|habits|rules|steps)\b",
        ),
        (
            "story",
            r"^((a|one|two|\w+) (years?|months?|weeks?) ago|last (year|month|week)|when i|i used to|i was|i spent|i tried|i almost)\b",
        ),
        (
            "contrarian",
            r"^(stop (buying|doing|using|believing|obsessing)|everyone (says|tells)|everything you('ve| have) been told|unpopular opinion|forget (everything|what)"
            r"|you don't need|you do not need)|\b(is a lie|they're wrong|are wrong|is wrong|overrated|myth)\b",
        ),
        (
            "curiosity_gap",
            r"\b(nobody|no one) (tells|talks|told)|\b(pros|experts) never (mention|tell)|\bsecret\b|\bwhat (happens|happened)\b|\bwish someone\b",
        ),
        ("how_to", r"^(how to|here's how|here is how|this is how)\b|\bhow i\b"),
        (
            "pain_point",
            r"^(stop scrolling if|if you|are you (still|tired)|tired of|struggling)|\bif you (keep|still|hate|never)\b",
        ),
    )
)

_POWER = frozenset(
    "stop nobody secret never only wrong mistakes mistake truth everything why best worst fix fixed "
    "changed dare try wish one tired struggling fortune instantly finally easy".split()
)

_WHY: dict[str, str] = {
    "question": "It asks the question {audience} are already asking themselves, so the answer feels personal and they stay to hear it.",
    "bold_claim": "A confident promise in the first second sets a high bar, and {audience} stay to see whether the video lives up to it.",
    "statistic": "A hard number makes the problem feel common and real, and quietly asks {audience} whether they are part of it.",
    "story": "It opens a personal story at the moment things went wrong, and viewers stay to find out how it turned around.",
    "contrarian": "It contradicts advice {audience} have heard many times, and that friction makes them stop to hear the argument.",
    "how_to": "It promises a concrete result and the method in one line, so the value is clear before anyone decides to scroll.",
    "curiosity_gap": "It hints at something most people miss without saying what it is, and that open gap keeps {audience} watching.",
    "pain_point": "It names a frustration {audience} recognise instantly, so the viewer feels seen and expects a fix.",
    "list": "A numbered list tells viewers exactly what they will get, and every item still to come is a reason to stay.",
    "challenge": "It asks the viewer to act instead of watch, and the short time frame makes trying it feel easy.",
}

# Generated hooks: the competitor's hook type kept, its wording rebuilt for the primary's niche
# ({w}, {w2}, {wish}) and audience ({audience}, a plural noun phrase).
_ADAPTED: dict[str, tuple[str, ...]] = {
    "question": (
        "Why does your {w} still go wrong when you follow every step?",
        "Is this the reason your {w} never looks like the ones you save?",
    ),
    "bold_claim": (
        "This is the only {w} routine {audience} will ever need.",
        "One small change to your {w} will do more than any new gear.",
    ),
    "statistic": (
        "Nine out of ten {audience} get the {w} wrong, and it's not their fault.",
        "Eighty percent of {w} problems come from one habit, and it's easy to fix.",
    ),
    "story": (
        "A year ago my {w} was a mess, and this is the one change that fixed it.",
        "I almost gave up on {w}, until I tried this.",
    ),
    "contrarian": (
        "Stop obsessing over {w}; the {w2} matters far more than you think.",
        "Everything you've been told about {w} is holding you back.",
    ),
    "how_to": (
        "Here's how to get your {w} right the first time, step by step.",
        "How to fix your {w} in ten minutes, even if you're just starting out.",
    ),
    "curiosity_gap": (
        "Nobody tells {audience} this about {w}, and it changes everything.",
        "There's one {w} detail the pros never mention.",
    ),
    "pain_point": (
        "If you {wish}, this {w} fix is for you.",
        "If your {w} keeps letting you down, watch this before your next try.",
    ),
    "list": (
        "{N} {w} mistakes that hold back {audience}.",
        "{N} things I wish I knew about {w} when I started.",
    ),
    "challenge": (
        "Try this {w} trick for seven days and watch what happens to your {w2}.",
        "Give me seven days and I'll change the way you think about {w}.",
    ),
}

_FIRST_PERSON = ((r"\byour\b", "my"), (r"\byou're\b", "I'm"), (r"\byou\b", "I"), (r"\byourself\b", "myself"))
_SMALL = frozenset("a an and as at but by for in nor of on or the to vs with".split())


def _normal(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split()).lower()


def classify_hook(line: str) -> str:
    """The hook type of an opening line; a plain assertion with nothing else to go on is a bold claim."""
    text = _normal(line)
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    return "bold_claim"


def first_person(phrase: str) -> str:
    """``keep burning your cookies`` → ``keep burning my cookies`` (for story openers)."""
    for pattern, replacement in _FIRST_PERSON:
        phrase = re.sub(pattern, replacement, phrase)
    return phrase


def power_words(line: str, niche: Sequence[str], limit: int = 5) -> list[str]:
    """Words of the line that carry the hook: trigger words, numbers, and the niche's nouns."""
    words = re.findall(r"[A-Za-z][A-Za-z']*|\d+%?", line.replace("\u2019", "'"))
    niche_set = {w.lower() for w in niche}
    chosen = [
        w.lower()
        for w in words
        if w.lower() in _POWER or w.lower() in niche_set or w.lower() in NUMBER_WORDS or w[0].isdigit()
    ]
    unique = list(dict.fromkeys(chosen))[:limit]
    return unique or [max(words, key=len).lower()] if words else ["hook"]


def why_it_works(kind: str, audience: str) -> str:
    return _WHY.get(kind, _WHY["bold_claim"]).format(audience=audience)


def adapted_hook(kind: str, variant: int, **words: str) -> str:
    """A hook of ``kind`` written for a niche; ``words`` fill the template's placeholders."""
    templates = _ADAPTED.get(kind, _ADAPTED["bold_claim"])
    return sentence_case(templates[variant % len(templates)].format(**words))


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def title_case(text: str) -> str:
    """Title Case that leaves apostrophes alone (``str.title`` writes "Don'T") and small words small."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if 0 < i < len(words) - 1 and lower in _SMALL:
            out.append(lower)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)
