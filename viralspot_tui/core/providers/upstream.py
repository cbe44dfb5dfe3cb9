"""The Instagram host's HTTP-200 error bodies, classified by their text.

The scraper answers most of its errors with HTTP 200 and a body ``{"error": "..."}``, so the
status code says nothing; only the text does (see docs/real-apis.md for the captured texts):

* ``Invalid or missing username or user does not exist on Instagram`` — the account does not
  exist: permanent, the item fails once with that reason.
* ``Please try again later. You wont be charged for this request.`` — the host is busy, and
  ``data not found. Please try again later.`` / ``Media data not found. Received 429 Too Many
  Requests.`` — upstream throttling, even though they say "not found": transient, retried,
  and never read as an empty answer ("0 reels").
* ``User similar accounts data not found or user profile is private or does not exist on
  Instagram`` — on the similar-accounts endpoint this is the answer "none": an empty list.

A text we have never seen is treated as transient (retrying a permanent error costs a few
calls; failing a live account for good on a misread text costs the account) and logged once
with the text, so an operator can tell us what the host says now.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .errors import NotFoundError, ProviderError, TransientError, clean_text

__all__ = ["UpstreamBusyError", "error_text", "classify_error_text", "is_similar_none", "EMPTY_SIMILAR"]

log = logging.getLogger("viralspot.providers")

EMPTY_SIMILAR = "User similar accounts data not found"
_SIMILAR_NONE = re.compile(r"similar accounts? data not found", re.I)
# Throttling and "busy" first: two of these texts also say "not found".
_BUSY = re.compile(r"try again later|too many requests|\b429\b|temporarily|rate limit", re.I)
_MISSING = re.compile(r"does not exist|user not found|no such user|invalid or missing username", re.I)
_MEDIA_MISSING = re.compile(r"media (?:does not exist|not found)$|no media found", re.I)
_MAX_REMEMBERED = 256
_logged: set[str] = set()


class UpstreamBusyError(TransientError):
    """An HTTP-200 "try again later" or throttling body: retried like a 5xx."""


def error_text(payload: Any) -> str | None:
    """The error text of an ``{"error": ...}`` body (or a bare ``{"message": ...}``), else None.

    A body that carries data beside an ``error`` key (``"error": null`` in a profile) is not
    an error body; neither is the private-account reels answer, whose ``message`` sits beside
    its (empty) ``data``.
    """
    if not isinstance(payload, dict):
        return None
    value = payload.get("error")
    if isinstance(value, dict):
        value = value.get("message")
    if value is None and set(payload) == {"message"}:
        value = payload["message"]
    if not isinstance(value, str) or not value.strip():
        return None
    return clean_text(value.strip())[:300]


def is_similar_none(text: str) -> bool:
    return bool(_SIMILAR_NONE.search(text))


def classify_error_text(endpoint: str, text: str, *, provider: str = "instagram") -> ProviderError:
    """The error an HTTP-200 error body stands for (the similar-none text is handled by the caller)."""
    where = {"provider": provider, "endpoint": endpoint}
    if _BUSY.search(text):
        return UpstreamBusyError(f"the host is busy or throttled, retry later ({text})", **where)  # type: ignore[arg-type]
    if _MISSING.search(text) or is_similar_none(text):
        subject = "media" if endpoint == "reel_detail" else "account"
        return NotFoundError(f"{subject} not found: {text}", **where)  # type: ignore[arg-type]
    if endpoint == "reel_detail" and _MEDIA_MISSING.search(text):
        return NotFoundError(f"media not found: {text}", **where)  # type: ignore[arg-type]
    _log_once(endpoint, text)
    return TransientError(f"unrecognised error answer, treated as transient ({text})", **where)  # type: ignore[arg-type]


def _log_once(endpoint: str, text: str) -> None:
    key = f"{endpoint}:{text}"
    if key in _logged:
        return
    if len(_logged) < _MAX_REMEMBERED:
        _logged.add(key)
    log.warning("instagram/%s answered an error text we do not know, treated as transient: %r", endpoint, text)
