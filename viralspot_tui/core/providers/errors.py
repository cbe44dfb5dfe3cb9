"""Provider errors, classified once at the boundary so every processor reacts the same way.

docs/queue.md, "Errors and retries" and §6 distinguish four families, and the reaction to each is different:

* ``permanent``     — retrying cannot help (not found, private, 4xx other than 408/429):
  the item fails at once with a clear message.
* ``transient``     — timeouts, connection drops, 5xx, a per-second 429, malformed or truncated
  JSON: retried with back-off inside the outbound policy, then by the queue with ``not_before``.
* ``quota``         — the plan quota is spent: the provider is parked until the reset and
  nothing is retried (each retry would spend requests that do not exist).
* ``configuration`` — bad or unsubscribed key (401, 403 "not subscribed"): not retried, shown
  to the operator.

Callers branch on ``error.kind`` (or the class), never on message text. Messages name the
provider, the endpoint and, for malformed responses, the field — and never contain a secret:
nothing here is ever given a key or a request header.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from ..redaction import redact

__all__ = [
    "ProviderError",
    "PermanentError",
    "NotFoundError",
    "PrivateProfileError",
    "InvalidInputError",
    "TransientError",
    "RateLimitedError",
    "MalformedResponseError",
    "QuotaExhaustedError",
    "ConfigurationError",
    "AIOutputError",
    "error_class",
    "labelled",
]

_BODY_EXCERPT = 200
# C0/C1 controls, DEL and bidi overrides: upstream text must not drive the operator's terminal
# (ANSI escapes in `queue list`, the console, logs) or forge log lines.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Single-line, control-free, secrets masked: safe to log, store, export and print."""
    return redact(_UNSAFE.sub(" ", text))


def excerpt(text: str | None, limit: int = _BODY_EXCERPT) -> str:
    """A short, single-line excerpt of a response body for error text."""
    if not text:
        return ""
    flat = " ".join(clean_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class ProviderError(Exception):
    """Base of every error a provider raises; ``kind`` drives retry and queue decisions.

    ``label`` is the short error class an operator reads first ("private", "not found",
    "quota"): :func:`labelled` puts it before the message wherever the error is stored, so a
    narrow "Last error" column still shows the reason (the full text is in the details).
    """

    kind: ClassVar[str] = "permanent"
    label: ClassVar[str] = "refused"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.status = status
        message = clean_text(str(message))
        self.detail = message
        where = "/".join(p for p in (provider, endpoint) if p)
        prefix = f"{where}: " if where else ""
        suffix = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{prefix}{message}{suffix}")


class PermanentError(ProviderError):
    kind = "permanent"


class NotFoundError(PermanentError):
    """The profile, reel or resource does not exist."""

    label = "not found"


class PrivateProfileError(PermanentError):
    """The profile exists but is private, so its reels cannot be read."""

    label = "private"


class InvalidInputError(PermanentError):
    """A username or shortcode was refused before any request was sent."""

    label = "invalid input"


class TransientError(ProviderError):
    """Worth retrying; ``retry_after`` (seconds) is the server's own hint when it gave one."""

    kind = "transient"
    label = "upstream error"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """A per-second burst 429: wait ``retry_after`` (or back off) and try again."""

    label = "rate limited"


class MalformedResponseError(TransientError):
    """The body was not valid JSON, was cut short, or lacked a field the parser needs."""

    label = "bad response"

    def __init__(self, message: str, *, field: str | None = None, **kw: object) -> None:
        self.field = field
        if field:
            message = f"field {field!r}: {message}"
        super().__init__(message, **kw)  # type: ignore[arg-type]


class QuotaExhaustedError(ProviderError):
    """The plan quota is spent; the provider is parked until ``reset_at``."""

    kind = "quota"
    label = "quota"

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.reset_at = reset_at


class ConfigurationError(ProviderError):
    """Bad, missing or unsubscribed key: only the operator can fix it."""

    kind = "configuration"
    label = "bad key"


class AIOutputError(ProviderError):
    """The model kept answering with output that does not validate against the stage's model."""

    kind = "permanent"
    label = "bad AI output"

    def __init__(self, message: str, *, stage: str, attempts: int, **kw: object) -> None:
        self.stage = stage
        self.attempts = attempts
        self.usage: object = None  # the TokenUsage of every refused attempt, set by the provider
        self.cost_usd = 0.0
        super().__init__(f"stage {stage!r}: {message} (after {attempts} attempts)", **kw)  # type: ignore[arg-type]


def error_class(exc: ProviderError) -> str:
    """The short class of an error: its ``label``, or ``HTTP 503`` for an upstream 5xx/408."""
    if type(exc).label == TransientError.label and exc.status is not None:
        return f"HTTP {exc.status}"
    return exc.label


def labelled(exc: ProviderError) -> str:
    """The error as stored and shown: its class first, then the full message."""
    return f"{error_class(exc)}: {exc}"
