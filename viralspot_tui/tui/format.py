"""Small, pure formatting helpers shared by the panes (ages, bars, counts, quota).

They take the snapshot's own "now" rather than reading the wall clock, so a frozen clock in
tests gives byte-identical screens and the console never disagrees with itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.clock import from_iso

__all__ = ["age", "duration", "until", "bar", "count", "as_datetime", "quota_left", "short"]


def as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return from_iso(str(value))
    except ValueError:
        return None


def _span(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}"
    return f"{seconds // 86400}d"


def duration(seconds: float | None) -> str:
    """A span of seconds the way ages are shown ("42s", "3m", "1h05"); "—" when unknown."""
    return "—" if seconds is None else _span(seconds)


def age(then: Any, now: datetime) -> str:
    when = as_datetime(then)
    return "" if when is None else _span((now - when).total_seconds())


def until(then: Any, now: datetime) -> str:
    when = as_datetime(then)
    if when is None:
        return "—"
    delta = (when - now).total_seconds()
    return "due" if delta <= 0 else "in " + _span(delta)


def bar(fraction: float, width: int = 10) -> str:
    """A text progress bar (a DataTable cell cannot hold a ProgressBar widget)."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def count(n: int) -> str:
    return f"{n:,}"


def short(text: str | None, width: int) -> str:
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _field(state: Any, name: str) -> Any:
    return state.get(name) if isinstance(state, dict) else getattr(state, name, None)


def quota_left(state: Any, now: datetime) -> str:
    """``9,876/10,000``, ``PARKED 42m`` or ``—`` for one provider's quota state."""
    parked = as_datetime(_field(state, "parked_until"))
    if parked is not None and parked > now:
        return f"PARKED {_span((parked - now).total_seconds())}"
    remaining = _field(state, "requests_remaining")
    limit = _field(state, "requests_limit")
    if remaining is None:
        remaining, limit = _field(state, "window_remaining"), _field(state, "window_limit")
        if remaining is None:
            return "—"
        return f"{count(remaining)}/{count(limit)}/min" if limit else f"{count(remaining)}/min"
    return f"{count(remaining)}/{count(limit)}" if limit else count(remaining)
