"""The crawler's daily API-call budget (docs/crawler.md), counted per UTC day in the database.

Discovery is open-ended — there is always one more round to crawl — so it must not be allowed
to eat the RapidAPI plan the queue processor and the viral ideas jobs depend on. Calls are
*reserved before* they are made (a call that fails still went over the wire and still costs),
in one database transaction, so the CLI crawling beside a running engine cannot overspend the
day either. The day is taken from the injected :class:`Clock`, which is what lets a test run a
crawl into the budget, move a fake clock past midnight and watch it resume.

``daily_call_budget = 0`` means *no limit*: calls are still counted for the console. (To stop
the crawler, pause it; a budget of zero calls would only be a more obscure way of doing that.)

The count is of *logical* provider calls (one ``get_similar`` or one ``get_profile``); retries
the provider makes inside one call are not visible here and are not charged twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..clock import Clock
from .store import CrawlerStore

__all__ = ["DailyBudget", "utc_day", "next_utc_midnight"]


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def next_utc_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class DailyBudget:
    """Reserve calls from today's allowance; know when the next allowance starts."""

    def __init__(self, store: CrawlerStore, clock: Clock, limit: int) -> None:
        if limit < 0:
            raise ValueError("daily call budget cannot be negative")
        self.store = store
        self.clock = clock
        self.limit = limit
        self._spent_cache: tuple[str, int] = ("", 0)

    @property
    def unlimited(self) -> bool:
        return self.limit == 0

    def today(self) -> str:
        return utc_day(self.clock.now())

    def resets_at(self) -> datetime:
        return next_utc_midnight(self.clock.now())

    def seconds_until_reset(self) -> float:
        return max(0.0, (self.resets_at() - self.clock.now()).total_seconds())

    async def reserve(self, wanted: int) -> int:
        """Take up to ``wanted`` calls from today's budget; returns how many may be made."""
        day = self.today()
        granted = await self.store.reserve_calls(day, wanted, self.limit)
        await self._refresh(day)
        return granted

    async def refund(self, count: int) -> None:
        """Return reserved calls that were not made (e.g. a round stopped early)."""
        day = self.today()
        await self.store.refund_calls(day, count)
        await self._refresh(day)

    async def spent(self) -> int:
        day = self.today()
        await self._refresh(day)
        return self._spent_cache[1]

    async def remaining(self) -> int | None:
        """Calls left today, or None when unlimited."""
        spent = await self.spent()
        return None if self.unlimited else max(0, self.limit - spent)

    async def exhausted(self) -> bool:
        remaining = await self.remaining()
        return remaining is not None and remaining <= 0

    async def _refresh(self, day: str) -> None:
        self._spent_cache = (day, await self.store.spent(day))

    def cached(self) -> dict[str, object]:
        """A cheap, synchronous view for snapshots (as of the last reservation or check)."""
        day, spent = self._spent_cache
        if day != self.today():
            spent = 0  # a new UTC day has begun since the last look
        return {
            "spent": spent,
            "used": spent,  # the console's crawler pane reads this name
            "limit": self.limit,
            "unlimited": self.unlimited,
            "day": self.today(),
            "resets_at": self.resets_at().isoformat(),
        }
