"""Instagram username validation and normalisation (docs/queue.md, "Usernames").

Every name that enters a store or an HTTP request passes through :func:`normalize_username`,
so the rules live in exactly one place. Accepts ``name``, ``@name`` and profile URLs such as
``https://www.instagram.com/name/`` (also the app's deep link ``instagram.com/_u/name`` and
``@`` before a URL); case-folds; refuses anything Instagram would refuse with a
message that says why.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

__all__ = ["InvalidUsername", "normalize_username", "Username", "try_normalize"]

_ALLOWED = re.compile(r"^[a-z0-9._]+$")
_IG_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"}
_RESERVED_PATHS = {"p", "reel", "reels", "tv", "stories", "explore", "accounts"}
_DEEP_LINK = "_u"  # instagram.com/_u/NAME opens NAME's profile in the app
MAX_LENGTH = 30


class InvalidUsername(ValueError):
    """Raised with a human message when input cannot be an Instagram username."""

    def __init__(self, raw: object, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        shown = repr(raw) if len(str(raw)) <= 60 else repr(str(raw)[:57] + "...")
        super().__init__(f"invalid username {shown}: {reason}")


def _strip_url(text: str) -> str:
    if "://" not in text and not text.lower().startswith(tuple(f"{h}/" for h in _IG_HOSTS)):
        return text
    url = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise InvalidUsername(text, f"not a valid URL ({exc})") from None
    if not host:
        raise InvalidUsername(text, "not a valid URL: it names no host (expected https://www.instagram.com/NAME)")
    if host not in _IG_HOSTS:
        raise InvalidUsername(text, f"not an Instagram profile URL (host {host!r})")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > 1 and segments[0] == _DEEP_LINK:  # the app's deep-link form of the same profile
        segments = segments[1:]
    if not segments:
        raise InvalidUsername(text, "the URL has no profile name in its path")
    if segments[0].lower() in _RESERVED_PATHS:
        raise InvalidUsername(text, f"the URL points to /{segments[0]}/, not to a profile")
    return segments[0]


def normalize_username(raw: object) -> str:
    """Return the canonical (case-folded) username or raise :class:`InvalidUsername`."""
    if not isinstance(raw, str):
        raise InvalidUsername(raw, f"expected text, got {type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise InvalidUsername(raw, "it is empty")
    if text.startswith("@"):  # before the URL check: "@https://instagram.com/name" is pasted too
        text = text[1:].lstrip()
    text = _strip_url(text)
    if not text.isascii():
        raise InvalidUsername(raw, "only ASCII letters, digits, '.' and '_' are allowed")
    name = text.lower()
    if len(name) > MAX_LENGTH:
        raise InvalidUsername(raw, f"longer than {MAX_LENGTH} characters")
    if not name:
        raise InvalidUsername(raw, "it is empty")
    if not _ALLOWED.match(name):
        bad = sorted({c for c in name if not (c.isalnum() or c in "._")})
        raise InvalidUsername(raw, f"contains characters that are not allowed: {''.join(bad)!r}")
    if name.startswith(".") or name.endswith("."):
        raise InvalidUsername(raw, "cannot start or end with '.'")
    if ".." in name:
        raise InvalidUsername(raw, "cannot contain '..'")
    return name


def try_normalize(raw: object) -> str | None:
    """Normalise, or return None for input that is not a valid username."""
    try:
        return normalize_username(raw)
    except InvalidUsername:
        return None


def _validate(value: object) -> str:
    return normalize_username(value)


Username = Annotated[str, BeforeValidator(_validate), AfterValidator(str)]
"""A pydantic field type: any model with a ``Username`` field refuses invalid names."""
