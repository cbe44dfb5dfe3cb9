"""The body of a simulated script: beats that keep the hook's promise, a title, a goal-led CTA.

A script reads as written *for its hook* only if the body delivers what the hook set up: a
list hook gets its items, a how-to its steps, a story its turn, a question its answer. So the
beats are chosen by hook type, and a list's length follows the number its hook announced. The
call to action is derived from the job's goals (followers, a product to sell, a newsletter,
bookings, comments), because the prompt asks for a CTA that serves them.
"""

from __future__ import annotations

import random
import re

from .hooks import NUMBER_WORDS, sentence_case, title_case

__all__ = ["call_to_action", "script_beats", "script_title", "tidy"]

# (label, words to say) per hook type; {w} {w2} {w3} are niche words, {audience} a noun phrase.
_BEATS: dict[str, tuple[tuple[str, str], ...]] = {
    "question": (
        ("The usual answer", "Most people blame the {w} itself and go looking for a new recipe or new gear."),
        ("The real reason", "Nine times out of ten the problem is timing: the {w2} needs longer than you give it."),
        (
            "The fix",
            "Slow down the {w2}, check it by feel instead of by the clock, and keep notes on what you changed.",
        ),
        ("Show it", "Side by side, same {w}, one rushed and one given time: the difference is obvious on camera."),
    ),
    "bold_claim": (
        ("The claim", "I've tried every {w} method going, and this is the one I still use every week."),
        ("Show it", "Here it is from start to finish: {w}, then {w2}, then a little {w3}, nothing fancy."),
        ("Why it works", "It removes the guesswork, so the {w} comes out the same every single time."),
        ("Try it", "Do it once exactly like this before you change anything."),
    ),
    "statistic": (
        ("The number", "Almost everyone I help makes the same {w} mistake, and the numbers in my comments prove it."),
        ("Why it happens", "Recipes and tutorials skip the {w2}, so nobody learns to look for it."),
        ("The fix", "Check the {w2} first, then adjust the {w}: two minutes that change the result."),
        ("Proof", "Here's my {w3} before and after making that one change."),
    ),
    "story": (
        ("Where it started", "A year ago every {w} I made went wrong, and I nearly gave up."),
        ("What went wrong", "I was copying every tutorial I saw and never paying attention to the {w2}."),
        ("The change", "Then I started doing one thing differently: I gave the {w2} my full attention."),
        ("The result", "Now my {w} works nearly every time, and I'll show you exactly what I do."),
    ),
    "contrarian": (
        (
            "The common advice",
            "Everyone says the {w} is what matters most, and it's the first thing they tell beginners.",
        ),
        ("Why it falls short", "Get the {w} perfect and skip the {w2}, and you still end up disappointed."),
        ("What to do instead", "Put your effort into the {w2} first; the {w} gets easier once that's right."),
        ("Proof", "Same {w}, different {w2}: look at the difference."),
    ),
    "how_to": (
        ("Step 1", "Start with the {w}: get it ready before anything else and don't rush this part."),
        ("Step 2", "Add the {w2} slowly and keep it simple the first few times."),
        ("Step 3", "Finish with the {w3}, then give it time: patience does half the work."),
        ("The result", "That's it: three steps and your {w} comes out right the first time."),
    ),
    "curiosity_gap": (
        ("The tease", "There's one detail about {w} that changed everything for me, and almost nobody mentions it."),
        ("The detail", "It's the {w2}: not how much, but when."),
        ("Why it works", "Get the timing of the {w2} right and the {w} takes care of itself."),
        ("Use it", "Next time, try it on your {w3} and watch the difference."),
    ),
    "pain_point": (
        (
            "Why it happens",
            "If this sounds like you, it's usually not you: it's the {w} step that nobody explains properly.",
        ),
        ("The fix", "Slow down at the {w2}, keep it simple, and change one thing at a time."),
        ("Do it today", "Try it on your next {w3} and you'll see the difference straight away."),
    ),
    "challenge": (
        ("The challenge", "For the next seven days, change one thing about your {w} and nothing else."),
        ("Day one", "Start small: the same {w2} routine, just done a little more carefully."),
        ("What to expect", "By day three you'll notice the {w} behaving differently."),
        ("Check-in", "Film your first and your last attempt and compare them."),
    ),
}
_LIST_ITEMS: tuple[str, ...] = (
    "Rushing the {w}: give it the full time it needs and check it by feel, not by the clock.",
    "Skipping the {w}: it feels optional, but it's what holds everything else together.",
    "Buying fancy {w} before you have the basics down.",
    "Copying someone else's {w} routine instead of watching what works for you.",
    "Giving up on the {w} after one bad try; the second attempt is where you learn.",
)
_LESSONS: tuple[str, ...] = (
    "Start with the {w} basics before anything fancy; the fancy part can wait.",
    "Keep the {w} simple until it works every time, then change one thing.",
    "Watch what works for you, not for everyone else's {w}.",
    "A bad first try at {w} is normal; the second one teaches you the most.",
    "Write down what you change with the {w}, so you can repeat what worked.",
)
_TITLES: dict[str, str] = {
    "question": "Why Your {W} Keeps Going Wrong",
    "bold_claim": "The Only {W} Routine You Need",
    "statistic": "The {W} Mistake Almost Everyone Makes",
    "story": "The {W} Change That Fixed Everything",
    "contrarian": "What Really Matters for {W}",
    "how_to": "How to Get Your {W} Right",
    "curiosity_gap": "The {W} Detail Nobody's Talking About",
    "pain_point": "When Your {W} Won't Work Out",
    "challenge": "The Seven-Day {W} Challenge",
}
_PRODUCT = re.compile(r"\bsell (?:a |an |my |the |our )?([a-z0-9' -]+?)(?:\s+(?:and|to|with|by|for)\b|[,.;]|$)")


def _list_count(hook: str) -> int:
    lower = hook.lower()
    for i, word in enumerate(NUMBER_WORDS):
        if re.search(rf"\b{word}\b", lower):
            return i + 3
    digits = re.search(r"\b([3-5])\b", lower)
    return int(digits.group(1)) if digits else 3


def script_beats(kind: str, hook: str, words: list[str], audience: str, rnd: random.Random) -> list[dict[str, str]]:
    """3–5 body sections that follow from a hook of ``kind``."""
    w, w2, w3 = words[0], words[1 % len(words)], words[2 % len(words)]
    if kind == "list":
        count = _list_count(hook)
        mistakes = "mistake" in hook.lower()
        items = rnd.sample(_LIST_ITEMS if mistakes else _LESSONS, count)
        pool = [w, w2, w3, *words[3:]]
        label = "Mistake" if mistakes else "Lesson"
        beats = [
            {"label": f"{label} {i + 1}", "text": tidy(item.format(w=pool[i % len(pool)]))}
            for i, item in enumerate(items)
        ]
        if count == 3:
            beats.append(
                {"label": "Recap", "text": f"Get those three right and your {w} will look completely different."}
            )
        return beats
    template = _BEATS.get(kind, _BEATS["bold_claim"])
    return [
        {"label": label, "text": tidy(text.format(w=w, w2=w2, w3=w3, audience=audience))} for label, text in template
    ]


def tidy(text: str) -> str:
    """Drop a word a template doubled ("your routine routine" when the niche word is "routine")."""
    return re.sub(r"\b(\w+) \1\b", r"\1", text)


def script_title(kind: str, hook: str, word: str) -> str:
    if kind == "list":
        number = NUMBER_WORDS[_list_count(hook) - 3].title()
        shape = "{n} {w} mistakes to stop making" if "mistake" in hook.lower() else "{n} things I wish I knew about {w}"
        return title_case(shape.format(n=number, w=word))
    return title_case(_TITLES.get(kind, _TITLES["bold_claim"]).format(W=sentence_case(word)))


def call_to_action(goals: str | None, niche: str, content_type: str | None) -> str:
    """A closing line that serves the stated goals (followers, sales, sign-ups, bookings)."""
    goal = (goals or "").lower()
    kind = "tutorial" if content_type and "tutorial" in content_type.lower() else "reel"
    parts: list[str] = []
    if any(k in goal for k in ("follow", "grow", "reach", "audience", "views")):
        often = "twice a week" if re.search(r"\btwo (reels|videos|posts)\b|twice", goal) else "every week"
        parts.append(f"follow for a new {niche} {kind} {often}")
    if product := _PRODUCT.search(goal):
        parts.append(f"if you want the whole method step by step, my {product.group(1).strip()} is linked in my bio")
    elif "newsletter" in goal or "email" in goal:
        parts.append("the full checklist is in my newsletter, linked in my bio")
    elif any(k in goal for k in ("client", "book", "coaching", "consult")):
        parts.append('send me a DM with the word "START" and we\'ll find a time to talk')
    elif any(k in goal for k in ("comment", "engage", "community")):
        parts.append(f"tell me in the comments which {niche} problem I should tackle next")
    if not parts:
        parts.append(f"save this for your next {niche} session and send it to someone who needs it")
    return sentence_case(", and ".join(parts)) + "."
