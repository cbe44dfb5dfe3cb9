"""Usernames and shortcodes as they arrive in requests, and usernames the world invents.

The real endpoints accept either a bare name or a full Instagram URL (``username_or_url``,
``reel_post_code_or_url``), so the simulator must too — otherwise a client bug that sends the
wrong form would pass against the simulator and fail in production. The community pools of the
similar-account graph need plausible, valid, unique handles ("sunny.bakes_42"), generated here
from the seed so the graph is the same in every process.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .hashing import SHORTCODE_LEN, h64, pick, rng
from .words import ADJECTIVES, FIRST_NAMES, LAST_NAMES, Topic

__all__ = [
    "community_pool_names",
    "display_name",
    "is_valid_username",
    "parse_shortcode",
    "parse_username",
]

_USERNAME_RE = re.compile(r"^[a-z0-9._]{1,30}$")
_SHORTCODE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_INSTAGRAM_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com"}


def is_valid_username(name: str) -> bool:
    """Instagram's rules: 1–30 of [a-z0-9._], no leading/trailing dot, no '..'."""
    return bool(_USERNAME_RE.match(name)) and not name.startswith(".") and not name.endswith(".") and ".." not in name


def _url_segments(text: str) -> list[str] | None:
    """Path segments of an Instagram URL; ``[]`` marks "not a URL", ``None`` a foreign or bad one."""
    if "://" not in text and not text.lower().startswith(("instagram.com/", "www.instagram.com/")):
        return []
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host = parts.hostname
    except ValueError:
        return None
    if host not in _INSTAGRAM_HOSTS:
        return None
    return [s for s in parts.path.split("/") if s] or None


def parse_username(raw: str | None) -> str | None:
    """A case-folded username from a name, '@name' or profile URL; ``None`` when it is not one."""
    if raw is None:
        return None
    text = raw.strip()
    segments = _url_segments(text)
    if segments is None:
        return None
    if segments:
        if len(segments) != 1:
            return None
        text = segments[0]
    text = text.removeprefix("@").lower()
    return text if is_valid_username(text) else None


def parse_shortcode(raw: str | None) -> str | None:
    """The shortcode from a bare code or a /reel/, /reels/, /p/ or /tv/ URL."""
    if raw is None:
        return None
    text = raw.strip()
    segments = _url_segments(text)
    if segments is None:
        return None
    if segments:
        if len(segments) < 2 or segments[-2] not in {"reel", "reels", "p", "tv"}:
            return None
        text = segments[-1]
    if len(text) != SHORTCODE_LEN or not _SHORTCODE_RE.match(text):
        return None
    return text


def _candidate(seed: int, topic: Topic, community: int, j: int, attempt: int) -> str:
    r = rng(seed, "poolname", community, j, attempt)
    adj = r.choice(ADJECTIVES)
    noun = r.choice(topic.handles)
    first = r.choice(FIRST_NAMES)
    last = r.choice(LAST_NAMES)
    number = r.randint(1, 99)
    pattern = r.randrange(8)
    name = (
        f"{adj}.{noun}_{number}",
        f"{adj}_{noun}",
        f"{first}.{noun}",
        f"{noun}.by.{first}",
        f"the{adj}{noun}",
        f"{first}_{last}{number}",
        f"{first}{last}.{topic.name}",
        f"{topic.name}with{first}",
    )[pattern]
    return name[:30].rstrip(".")


def community_pool_names(seed: int, topic: Topic, community: int, size: int, taken: set[str]) -> list[str]:
    """``size`` distinct valid handles for one community, none already in ``taken``.

    ``taken`` is updated so pools never share a member: a shared member would silently merge
    two communities in the graph.
    """
    names: list[str] = []
    for j in range(size):
        attempt = 0
        while True:
            name = _candidate(seed, topic, community, j, attempt)
            if attempt >= 4:
                name = f"{name[:24]}{h64(seed, 'suffix', community, j, attempt) % 10000}"
            if (
                is_valid_username(name)
                and name not in taken
                and not name.startswith(("missing_", "private_", "notranscript_", "public_"))
            ):
                break
            attempt += 1
        taken.add(name)
        names.append(name)
    return names


def display_name(seed: int, username: str, topic: Topic) -> str:
    """A human-looking full name: a person for most accounts, a brand for some."""
    if h64(seed, "brand", username) % 4 == 0:
        return f"{pick(seed, ADJECTIVES, 'bn', username).title()} {pick(seed, topic.handles, 'bn2', username).title()}"
    first = pick(seed, FIRST_NAMES, "fn", username).title()
    last = pick(seed, LAST_NAMES, "ln", username).title()
    return f"{first} {last}"
