"""Word banks, and the captions, bios and transcripts generated from them.

The AI pipeline and the console show captions, transcripts, names and hooks to people; a
world of random letters would hide bugs that only show with realistic text (length limits,
unicode-free but punctuated sentences, recurring topic words). Each community of accounts
has a *topic*, so a creator's handle, bio, captions and transcripts agree with each other and
with their similar accounts — which is also what makes AI output built from those words look
on-topic. Generated texts are deterministic (the same reel always says the same thing, in
every process). A reel's caption and its transcript open with the same recognisable hook, of a
type from :mod:`.hooks`, because hooks are what the Viral Ideas pipeline studies; a list hook
is followed by its list and a how-to by its steps, as in real reels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .hashing import decode_shortcode, rng
from .hooks import NUMBER_WORDS, OPENERS, first_person

__all__ = [
    "ADJECTIVES",
    "CTA_LINES",
    "FIRST_NAMES",
    "HOOK_OPENERS",
    "LAST_NAMES",
    "STOPWORDS",
    "TOPICS",
    "TOPIC_INDEX",
    "Topic",
    "biography",
    "caption",
    "reel_hook",
    "transcript_segments",
]


@dataclass(frozen=True, slots=True)
class Topic:
    """One content niche: handle nouns, vocabulary, and audience wishes for hooks."""

    name: str
    handles: tuple[str, ...]
    vocabulary: tuple[str, ...]
    wishes: tuple[str, ...]
    category: str


def _t(name: str, handles: str, vocabulary: str, wishes: tuple[str, ...], category: str) -> Topic:
    return Topic(name, tuple(handles.split()), tuple(vocabulary.split()), wishes, category)


TOPICS: tuple[Topic, ...] = (
    _t(
        "baking",
        "bakes oven crumbs dough",
        "sourdough crust butter flour proofing starter croissant glaze",
        ("want bakery bread at home", "keep burning your cookies", "think sourdough is hard"),
        "Chef",
    ),
    _t(
        "fitness",
        "lifts gains fit strong",
        "squat deadlift protein mobility reps cardio recovery glutes",
        ("skip leg day", "want visible abs by summer", "train hard but never progress"),
        "Fitness Trainer",
    ),
    _t(
        "travel",
        "travels wander roams trips",
        "itinerary passport hostel beaches flights backpack sunrise islands",
        ("overpay for flights", "dream of living abroad", "hate tourist traps"),
        "Travel Company",
    ),
    _t(
        "finance",
        "money wealth invests cents",
        "budget savings index compound dividends debt salary portfolio",
        ("live paycheck to paycheck", "want to retire early", "never know where your money goes"),
        "Financial Service",
    ),
    _t(
        "skincare",
        "glow skin beauty dew",
        "serum retinol sunscreen cleanser moisture acne routine collagen",
        ("keep breaking out", "waste money on serums", "want glass skin"),
        "Health/Beauty",
    ),
    _t(
        "coffee",
        "brews coffee beans espresso",
        "espresso latte grinder crema roast pourover milk barista",
        ("drink bitter coffee every morning", "pay six dollars for a latte", "own an espresso machine"),
        "Coffee Shop",
    ),
    _t(
        "gardening",
        "garden grows plants sprouts",
        "seedlings compost tomatoes soil pruning balcony harvest herbs",
        ("kill every plant you buy", "have a tiny balcony", "want tomatoes all summer"),
        "Gardener",
    ),
    _t(
        "tech",
        "codes dev tech bytes",
        "python laptop shortcuts keyboard automation startup cloud apps",
        ("still copy paste everything", "want to learn to code", "have a messy desktop"),
        "Software Company",
    ),
    _t(
        "parenting",
        "mama dad family kids",
        "toddler bedtime snacks tantrums routine nursery lunchbox playtime",
        ("dread bedtime every night", "have a picky eater", "need five minutes of quiet"),
        "Blogger",
    ),
    _t(
        "fashion",
        "style outfits closet looks",
        "capsule wardrobe denim thrift layering sneakers tailoring colors",
        ("have nothing to wear", "shop fast fashion", "want to look put together"),
        "Fashion Model",
    ),
    _t(
        "pets",
        "paws pups kitty pets",
        "puppy leash treats training grooming catnip zoomies vet",
        ("have a dog that pulls", "think cats cannot be trained", "spend too much on toys"),
        "Pet Service",
    ),
    _t(
        "music",
        "beats tunes sound vinyl",
        "guitar chords producer melody studio vocals playlist drums",
        ("want to learn guitar", "make beats in your bedroom", "get stuck on the same chords"),
        "Musician/Band",
    ),
    _t(
        "cooking",
        "cooks kitchen eats plates",
        "mealprep pasta garlic skillet spices dinner leftovers sauce",
        ("order takeout every night", "hate doing dishes", "cook the same five meals"),
        "Chef",
    ),
    _t(
        "photography",
        "shots lens frames photos",
        "camera lighting portraits editing presets golden composition tripod",
        ("take blurry photos", "think you need an expensive camera", "edit for hours"),
        "Photographer",
    ),
    _t(
        "productivity",
        "focus habits daily notes",
        "planner morning habits journaling deepwork calendar goals routine",
        ("procrastinate until midnight", "start every monday over", "drown in notifications"),
        "Coach",
    ),
    _t(
        "hiking",
        "trails peaks outdoors summit",
        "boots summit trailhead campfire backpacking waterfalls gear maps",
        ("get winded on every hill", "want your first overnight hike", "pack way too much"),
        "Outdoor & Sporting Goods",
    ),
    _t(
        "interiors",
        "home nest decor spaces",
        "rental makeover lighting shelves plants rugs paint declutter",
        ("live in a beige rental", "have a cluttered entryway", "want a cosy living room"),
        "Interior Design Studio",
    ),
    _t(
        "gaming",
        "plays gamer pixels quest",
        "controller speedrun loadout streams boss settings headset ranked",
        ("keep losing ranked matches", "play on default settings", "want to start streaming"),
        "Gamer",
    ),
    _t(
        "yoga",
        "yoga flow breathe zen",
        "stretching breathwork balance flexibility meditation posture mat calm",
        ("sit at a desk all day", "cannot touch your toes", "feel stressed every evening"),
        "Sports & Recreation",
    ),
    _t(
        "cars",
        "drives garage motors revs",
        "detailing engine tires restoration wax interior mileage roadtrip",
        ("wash your car with dish soap", "ignore the check engine light", "love old cars"),
        "Automotive",
    ),
)
TOPIC_INDEX: dict[str, int] = {t.name: i for i, t in enumerate(TOPICS)}  # TOPICS.index compared whole dataclasses
assert len(TOPIC_INDEX) == len(TOPICS), "topic names must be unique"

ADJECTIVES: tuple[str, ...] = tuple(
    "sunny wild daily happy little urban cozy bold simple honest golden lazy quiet brave fresh "
    "real slow tiny mighty salty sweet modern rustic clever".split()
)

FIRST_NAMES: tuple[str, ...] = tuple(
    "alex sam maya jordan lena omar priya noah zoe mateo aisha lucas nina ethan sofia leo "
    "hana diego chloe ravi emma felix iris jonas".split()
)

LAST_NAMES: tuple[str, ...] = tuple(
    "rivera chen patel novak kim garcia silva berg okafor rossi tanaka martin costa larsen "
    "haddad moreau fischer ito walsh mendes".split()
)

STOPWORDS: frozenset[str] = frozenset(
    "the and for you your with that this are was were have has had not but from they them "
    "their what when where which who will would should could into onto over under about "
    "than then there here just also only very more most some such each other been being "
    "does did doing done its it's our ours out use using json schema return respond field "
    "fields object string array number integer boolean null must only following given based "
    "please write create make provide include item items list value values shortcode".split()
)


CTA_LINES: tuple[str, ...] = (
    "Follow for part two.",
    "Save this so you don't forget it.",
    "Send this to a friend who needs it.",
    "Comment your questions and I'll answer them.",
)
HOOK_OPENERS: tuple[str, ...] = tuple(line for lines in OPENERS.values() for line in lines)

# How often each hook type opens a reel; pain points and curiosity gaps dominate real feeds.
_TYPE_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("pain_point", 6),
    ("curiosity_gap", 3),
    ("list", 3),
    ("question", 2),
    ("how_to", 2),
    ("contrarian", 2),
    ("story", 2),
    ("statistic", 1),
    ("bold_claim", 1),
    ("challenge", 1),
)

_BODY_TEMPLATES: tuple[str, ...] = (
    "The secret is getting the {w1} right before you even think about {w2}.",
    "Most people skip the {w1}, and that's exactly why their {w2} never works.",
    "Start with {w1}, then add {w2}, and finish with a little {w3}.",
    "I tried this for thirty days and my {w1} changed completely.",
    "Here's the {adj} way to handle {w1} without spending a fortune.",
    "Forget everything you heard about {w1}; {w2} matters far more.",
    "This one {adj} trick with {w1} saves me an hour every week.",
    "If your {w1} looks like this, you're probably rushing the {w2}.",
)
_LIST_ITEMS: tuple[str, ...] = (
    "rushing the {w}",
    "skipping the {w} because it feels optional",
    "buying fancy {w} before the basics",
    "copying someone else's {w} routine",
    "giving up on the {w} after one bad try",
)
_ORDINALS: tuple[str, ...] = ("Number one", "Number two", "Number three", "Number four", "Number five")
_STEPS: tuple[str, ...] = (
    "Step one, sort out your {w1} before anything else.",
    "Step two, keep the {w2} simple for the first week.",
    "Step three is patience, because the {w3} takes time.",
)
_CAPTION_LINES: tuple[str, ...] = (
    "Save this for later.",
    "Which one surprised you?",
    "Part two is coming this week.",
    "Tell me how yours turns out.",
    "Took me way too long to learn this.",
)


def _words(r: random.Random, topic: Topic) -> dict[str, str]:
    w1, w2, w3 = r.sample(list(topic.vocabulary), 3)
    adj = r.choice(ADJECTIVES)
    return {"w1": w1, "w2": w2, "w3": w3, "adj": adj}


def reel_hook(seed: int, account: str, index: int, topic: Topic) -> tuple[str, str]:
    """(hook type, opening line) of one reel; its caption and its transcript both open with it.

    ``account`` is how the world keys the owner (``#<account tag>``), so the line can be rebuilt
    from a shortcode alone.
    """
    r = rng(seed, "hook", account, index)
    kinds, weights = zip(*_TYPE_WEIGHTS, strict=True)
    kind = r.choices(kinds, weights)[0]
    wish = r.choice(topic.wishes)
    words = {
        "wish": wish,
        "wish_i": first_person(wish),
        "w": r.choice(topic.vocabulary),
        "N": r.choice(NUMBER_WORDS).title(),
    }
    return kind, r.choice(OPENERS[kind]).format(**words)


def biography(seed: int, username: str, topic: Topic) -> str:
    """A short bio: niche, a promise to the audience, a contact line."""
    r = rng(seed, "bio", username)
    words = _words(r, topic)
    wish = r.choice(topic.wishes)
    return (
        f"{topic.name.title()} | {words['w1']} & {words['w2']}\n"
        f"Helping you if you {wish}\n"
        f"{r.choice(('DM for collabs', 'New reels every week', 'Link below'))}"
    )


def caption(seed: int, account: str, index: int, topic: Topic) -> str:
    """An Instagram caption: the reel's hook, one more line, a hashtag or two."""
    r = rng(seed, "caption", account, index)
    _, hook = reel_hook(seed, account, index, topic)
    tag = r.choice(topic.vocabulary)
    return f"{hook} {r.choice(_CAPTION_LINES)} #{topic.name} #{tag}"


def _body(r: random.Random, kind: str, hook: str, topic: Topic) -> list[str]:
    """What is said after the hook; lists and how-tos deliver what their hook promised."""
    if kind == "list":
        count = next((i + 3 for i, n in enumerate(NUMBER_WORDS) if hook.lower().startswith(n)), 3)
        items = r.sample(_LIST_ITEMS, count)
        words = r.sample(list(topic.vocabulary), count)
        return [f"{_ORDINALS[i]}: {item.format(w=w)}." for i, (item, w) in enumerate(zip(items, words, strict=True))]
    if kind == "how_to":
        slots = _words(r, topic)
        return [step.format(**slots) for step in _STEPS]
    return [t.format(**_words(r, topic)) for t in r.sample(_BODY_TEMPLATES, r.randint(3, 5))]


def transcript_segments(seed: int, shortcode: str, topic: Topic) -> list[dict[str, object]]:
    """Spoken segments ``{text, offset, duration}`` (seconds); the first one is the hook."""
    r = rng(seed, "transcript", shortcode)
    decoded = decode_shortcode(seed, shortcode)
    if decoded is not None:
        kind, hook = reel_hook(seed, f"#{decoded.tag}", decoded.index_mod, topic)
    else:
        kind, hook = "pain_point", OPENERS["pain_point"][0].format(wish=r.choice(topic.wishes))
    sentences = [hook, *_body(r, kind, hook, topic), r.choice(CTA_LINES)]
    segments: list[dict[str, object]] = []
    offset = 0.0
    for sentence in sentences:
        duration = round(0.36 * len(sentence.split()) + r.uniform(0.2, 0.8), 2)
        segments.append({"text": sentence, "offset": round(offset, 2), "duration": duration})
        offset += duration + round(r.uniform(0.05, 0.4), 2)
    return segments
