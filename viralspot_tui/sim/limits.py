"""RapidAPI's two limits, per API key and API plan: a per-second burst limit and a monthly quota.

They fail differently on purpose (docs/real-apis.md): a burst 429 says "wait a second", a quota 429 says
"parked until next month", and a client that confuses them either hammers a dead plan or
stalls on a blip. The simulator therefore enforces both exactly as stated — a trailing
one-second window of *accepted* requests, and a counter per key per calendar month of the
world clock — and reports them in RapidAPI's ``x-ratelimit-*`` headers on every answer.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import SimConfig

__all__ = ["LimitDecision", "RapidLimits", "plan_account", "seconds_until_month_end"]


def plan_account(api_key: str, endpoint: str) -> str:
    """Whose limits a request counts against: RapidAPI plans are per API, so one key subscribed to
    the scraper and the transcript API has a quota (and a burst limit) for each."""
    return f"{api_key}|{'transcripts' if endpoint == 'transcript' else 'scraper'}"


def seconds_until_month_end(now: datetime) -> int:
    """Seconds from ``now`` to 00:00 UTC on the first day of the next month (at least 1)."""
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return max(1, math.ceil((datetime(year, month, 1, tzinfo=UTC) - now).total_seconds()))


@dataclass(slots=True)
class LimitDecision:
    """``outcome`` is ``None`` when the request may proceed, else "rate_limited" or "quota"."""

    outcome: str | None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None


class RapidLimits:
    """Per-key accounting; ``admit`` is called once per authenticated RapidAPI request."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._used: dict[tuple[str, int, int], int] = {}
        self._accepted: dict[str, deque[float]] = {}
        rate = config.rate_limit
        if rate is None:
            self._window_s, self._per_window = 0.0, 0
        else:
            # Rates below one per second become "one per 1/rate seconds".
            self._window_s = max(1.0, 1.0 / rate)
            self._per_window = max(1, math.floor(rate * self._window_s + 1e-9))

    def admit(self, key: str, now: datetime, mono: float) -> LimitDecision:
        """Decide and account one request; accepted requests consume quota, refused ones don't."""
        with self._lock:
            accepted = self._accepted.setdefault(key, deque())
            while accepted and accepted[0] <= mono - 60.0:
                accepted.popleft()
            if self._per_window:
                in_window = [t for t in accepted if t > mono - self._window_s]
                if len(in_window) >= self._per_window:
                    wait = max(1, math.ceil(in_window[0] + self._window_s - mono))
                    return LimitDecision("rate_limited", self._headers(key, now, mono), wait)
            period = (key, now.year, now.month)
            if self._used.get(period, 0) >= self._config.monthly_quota:
                headers = self._headers(key, now, mono)
                return LimitDecision("quota", headers, seconds_until_month_end(now))
            self._used[period] = self._used.get(period, 0) + 1
            if self._per_window:
                accepted.append(mono)
            return LimitDecision(None, self._headers(key, now, mono))

    def remaining(self, key: str, now: datetime) -> int:
        with self._lock:
            return max(0, self._config.monthly_quota - self._used.get((key, now.year, now.month), 0))

    def headers(self, key: str, now: datetime, mono: float) -> dict[str, str]:
        with self._lock:
            return self._headers(key, now, mono)

    def _headers(self, key: str, now: datetime, mono: float) -> dict[str, str]:
        used = self._used.get((key, now.year, now.month), 0)
        headers = {
            "x-ratelimit-requests-limit": str(self._config.monthly_quota),
            "x-ratelimit-requests-remaining": str(max(0, self._config.monthly_quota - used)),
            "x-ratelimit-requests-reset": str(seconds_until_month_end(now)),
        }
        if self._config.rate_limit is not None:
            limit = max(1, math.floor(self._config.rate_limit * 60 + 1e-9))
            recent = [t for t in self._accepted.get(key, ()) if t > mono - 60.0]
            reset = math.ceil(recent[0] + 60.0 - mono) if recent else 60
            headers["x-ratelimit-limit"] = str(limit)
            headers["x-ratelimit-remaining"] = str(max(0, limit - len(recent)))
            headers["x-ratelimit-reset"] = str(max(0, reset))
        return headers
