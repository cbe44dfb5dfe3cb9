"""What really went over the wire: one record per request the simulator served.

Tests and benchmarks assert on behaviour that is invisible from inside the client — that a
resumed item did not repeat a finished call, that three processors together stayed under the
rate limit, that requests really ran in parallel. Recording start and finish times on the
monotonic clock makes overlap (``max_concurrency``) and burstiness (``max_in_window``)
measurable after the fact, without sampling.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from dataclasses import dataclass

__all__ = ["OUTCOMES", "CallRecord", "SimStats"]

OUTCOMES: tuple[str, ...] = (
    "ok",  # 2xx with a real answer (including "private" and "no transcript" answers)
    "not_found",  # 404 for a missing profile, reel or route
    "bad_request",  # 400: a required parameter missing or malformed
    "unauthorized",  # 401: no API key / bearer token
    "not_subscribed",  # 403
    "rate_limited",  # 429 per-second burst
    "quota",  # 429 monthly quota
    "http_500",
    "http_503",
    "timeout",  # status 0 in-process (no response), 504 from the loopback server
    "malformed_json",
    "truncated_json",
    "invalid_output",
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One served request.

    ``key`` is what the call was about (username, shortcode or chat schema name) and
    ``detail`` the secondary part (the ``max_id`` of a reels page, the raw reel URL, the
    model of a chat call). Times come from ``time.monotonic()``.
    """

    endpoint: str
    key: str
    method: str
    status: int
    outcome: str
    started_at: float
    finished_at: float
    api_key_hash: str
    detail: str = ""


class SimStats:
    """Thread-safe log of served requests with the queries tests need."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[CallRecord]:
        """A snapshot copy, in order of completion."""
        with self._lock:
            return list(self._calls)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def _select(self, endpoint: str | None, outcome: str | None, key: str | None = None) -> list[CallRecord]:
        return [
            c
            for c in self.calls
            if (endpoint is None or c.endpoint == endpoint)
            and (outcome is None or c.outcome == outcome)
            and (key is None or c.key == key)
        ]

    def count(self, endpoint: str | None = None, outcome: str | None = None, key: str | None = None) -> int:
        return len(self._select(endpoint, outcome, key))

    def by_endpoint(self) -> dict[str, int]:
        return dict(Counter(c.endpoint for c in self.calls))

    def by_outcome(self, endpoint: str | None = None) -> dict[str, int]:
        return dict(Counter(c.outcome for c in self._select(endpoint, None)))

    def keys(self, endpoint: str | None = None, outcome: str | None = None) -> list[str]:
        """Keys of the selected calls in completion order (duplicates kept: they are the point)."""
        return [c.key for c in self._select(endpoint, outcome)]

    def max_concurrency(self, endpoint: str | None = None) -> int:
        """Most requests in flight at the same moment (intervals that only touch do not overlap)."""
        events: list[tuple[float, int]] = []
        for c in self._select(endpoint, None):
            events.append((c.started_at, 1))
            events.append((c.finished_at, -1))
        events.sort()  # at equal times -1 sorts first, so back-to-back calls are not concurrent
        peak = current = 0
        for _, delta in events:
            current += delta
            peak = max(peak, current)
        return peak

    def max_in_window(self, seconds: float = 1.0, endpoint: str | None = None, outcome: str | None = None) -> int:
        """The most requests that *started* within any window of ``seconds`` (half-open)."""
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        starts = sorted(c.started_at for c in self._select(endpoint, outcome))
        best = 0
        for i, start in enumerate(starts):
            j = bisect.bisect_left(starts, start + seconds, lo=i)
            best = max(best, j - i)
        return best
