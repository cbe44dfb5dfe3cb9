"""How a failed attempt is rescheduled (docs/queue.md, "Errors and retries"): exponential back-off with full jitter.

Kept separate from the processor so the bounds are easy to read and test: the n-th retry
waits a random time in ``[0, min(max, base * 2**(n-1))]``, but never less than a server's own
``Retry-After`` hint.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

__all__ = ["RetryPolicy"]


class RetryPolicy:
    def __init__(self, base_seconds: float, max_seconds: float, rng: random.Random | None = None) -> None:
        self.base = base_seconds
        self.max = max_seconds
        self.rng = rng or random.Random()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max, self.base * (2 ** max(0, attempt - 1)))
        wait = self.rng.uniform(0, ceiling) if ceiling > 0 else 0.0
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max))
        return wait

    def next_time(self, now: datetime, attempt: int, retry_after: float | None = None) -> datetime:
        return now + timedelta(seconds=self.delay(attempt, retry_after))
