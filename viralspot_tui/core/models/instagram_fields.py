"""Field types shared by the Instagram models: counts, flags, ids, captions, dates.

Upstream numbers arrive as ints, floats, numeric strings, null or negatives ("hidden"), and
follower counts of suggested accounts only as text; these validators turn all of that into
plain values (or a clear refusal) once, so the models themselves stay declarations.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, AliasPath, BeforeValidator

__all__ = [
    "Caption",
    "Count",
    "Flag",
    "Id",
    "Shortcode",
    "When",
    "alias",
    "parse_follower_text",
    "reel_url",
    "reject",
]

_MAX_COUNT = 2**62  # SQLite INTEGER is 64-bit; larger "counts" are garbage, not data
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FOLLOWERS = re.compile(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*([KMB])?\b", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_follower_text(text: object) -> int | None:
    """``"12.5K followers"`` → 12500, ``"8,431 followers"`` → 8431; anything else → None.

    Similar accounts carry their audience only inside ``social_context`` text, and the crawler
    filters on it (docs/crawler.md). Text that merely mentions people (``"Followed by x + 3 more"``)
    is not a follower count and yields None, so the crawler enriches instead of guessing.
    """
    if not isinstance(text, str):
        return None
    cleaned = text.strip()
    lowered = cleaned.lower()
    if not cleaned or "followed by" in lowered:
        return None
    if "follower" not in lowered and not re.fullmatch(r"[0-9][0-9,.]*\s*[KMBkmb]?", cleaned):
        return None
    match = _FOLLOWERS.search(cleaned)
    if match is None:
        return None
    number = float(match.group(1).replace(",", ""))
    value = int(round(number * _MULTIPLIER[(match.group(2) or "").upper()]))
    return value if 0 <= value < _MAX_COUNT else None


def reel_url(shortcode: str) -> str:
    return f"https://www.instagram.com/reel/{shortcode}/"


def _count(value: Any) -> Any:
    """Counts arrive as ints, floats, numeric strings or null; negatives mean "hidden"."""
    if value is None or isinstance(value, bool):
        return None if value is None else reject("expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        value = text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:  # NaN
            reject("expected a number, got NaN")
        if value < 0:
            return None
        if value >= _MAX_COUNT:
            reject("number out of range")
    return value


def reject(message: str) -> Any:
    raise ValueError(message)


def _flag(value: Any) -> Any:
    return False if value is None else value


def _id(value: Any) -> Any:
    if isinstance(value, bool):
        reject("expected an id, got a boolean")
    return str(value) if isinstance(value, int) else value


def _caption(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("text")
    return value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _shortcode(value: str) -> str:
    if not _SHORTCODE.match(value):
        raise ValueError("not a valid shortcode (letters, digits, '_' and '-' only)")
    return value


Count = Annotated[int | None, BeforeValidator(_count)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Id = Annotated[str | None, BeforeValidator(_id)]
Shortcode = Annotated[str, AfterValidator(_shortcode)]
Caption = Annotated[str | None, BeforeValidator(_caption)]
When = Annotated[datetime | None, AfterValidator(_utc)]


def alias(*names: str | AliasPath) -> AliasChoices:
    return AliasChoices(*names)
