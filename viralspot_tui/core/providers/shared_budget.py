"""One rate budget per API key, however many processes send with it (see docs/priority.md).

The provider limits the *key*, not a process: two runners started on one data dir, each with
its own limiter, would together send twice the configured rate. So every process that is
currently sending with a key keeps a row in ``rate_shares`` (budget, instance, active_until),
renewed every ``beat`` seconds, and spaces its own requests by ``interval × live rows``. That
costs one small write per beat while sending and nothing while idle — never a database round
trip per request.

* **Joining** — a limiter that starts sending after being idle registers first (one write that
  also counts the live rows). If others are live, it waits one beat (plus a margin) before its
  first request: by then each of them has seen the new row at its own beat and slowed down, so
  the sum never exceeds the budget.
* **Leaving** — an idle process drops its rows at its next beat, a closed one at close, a killed
  one's rows expire ``ttl`` after their last renewal; the others speed up at their next beat.

* **Across machines** — consoles sharing a Supabase queue also count each other there
  (core/backends/supabase_presence.py): :meth:`RateShares.adopt_remote` sets the number of live
  consoles with the key, and each limiter divides by the larger of the two counts (the consoles
  on this data dir are among the remote ones, so the larger count is the right divisor).

Rows hold a budget id (provider name and a short one-way digest of the key), never the key.
The table is created by schema migration 0003 (core/store/migrations/0003_rate_shares.sql).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable

from ..store.database import Database
from .priority import PriorityLimiter

__all__ = ["RateShares", "budget_id", "live_shares_sync"]

log = logging.getLogger("viralspot.providers")


BEAT_SECONDS = 0.5
_JOIN_MARGIN = 2.0  # a joiner waits this many beats: every peer has renewed and recounted by then
_GARBAGE_AFTER = 60.0


def budget_id(provider: str, api_key: str) -> str:
    """The budget a provider's calls draw on: per provider host and per key (digest only)."""
    digest = hashlib.sha256(f"viralspot-rate-budget\0{api_key}".encode()).hexdigest()[:16]
    return f"{provider}:{digest}"


def live_shares_sync(conn: sqlite3.Connection, budgets: list[str], now: float) -> dict[str, int]:
    """How many processes are sending with each of ``budgets`` right now (the table is tiny:
    one row per live process and budget, so counting all of it is cheaper than building SQL)."""
    rows = conn.execute(
        "SELECT budget, COUNT(*) FROM rate_shares WHERE active_until > ? GROUP BY budget", (now,)
    ).fetchall()
    wanted = set(budgets)
    return {str(budget): int(n) for budget, n in rows if budget in wanted}


def _renew_sync(
    conn: sqlite3.Connection, instance: str, renew: list[str], drop: list[str], now: float, ttl: float
) -> dict[str, int]:
    """One transaction: renew our live rows, drop the idle ones, and count every renewed budget."""
    conn.executemany(
        "INSERT INTO rate_shares (budget, instance_id, active_until) VALUES (?, ?, ?)"
        " ON CONFLICT (budget, instance_id) DO UPDATE SET active_until = excluded.active_until",
        [(budget, instance, now + ttl) for budget in renew],
    )
    conn.executemany(
        "DELETE FROM rate_shares WHERE budget = ? AND instance_id = ?", [(budget, instance) for budget in drop]
    )
    conn.execute("DELETE FROM rate_shares WHERE active_until < ?", (now - _GARBAGE_AFTER,))
    return live_shares_sync(conn, renew, now)


class RateShares:
    """This process's share of every API-key budget its limiters draw on."""

    def __init__(
        self,
        db: Database,
        instance_id: str,
        limiters: dict[str, PriorityLimiter],
        *,
        beat: float = BEAT_SECONDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.instance_id = instance_id
        self.limiters = limiters  # budget id -> limiter
        self.beat_seconds = beat
        self.ttl = 3 * beat
        self._wall = wall  # shared by processes on one machine: the rows compare wall times
        self._registered: set[str] = set()
        self._local: dict[str, int] = {}  # budget -> live processes on this data dir (last count)
        self._remote: dict[str, int] = {}  # budget -> live consoles sharing it through Supabase
        self._task: asyncio.Task[None] | None = None

    def start(self) -> "RateShares":
        for limiter in self.limiters.values():
            limiter.on_activate = self._join
        self._task = asyncio.get_running_loop().create_task(self._beat_loop(), name="rate-shares")
        return self

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for limiter in self.limiters.values():
            limiter.on_activate = None
        if self._registered and self.db.is_open:
            drop, self._registered = sorted(self._registered), set()
            with contextlib.suppress(Exception):  # best effort: the rows expire anyway
                await self.db.write(_renew_sync, self.instance_id, [], drop, self._wall(), self.ttl)

    def _budget_of(self, limiter: PriorityLimiter) -> str | None:
        return next((b for b, lim in self.limiters.items() if lim is limiter), None)

    async def _join(self, limiter: PriorityLimiter) -> None:
        """Called by the limiter before its first grant after idle time (see the module docstring)."""
        budget = self._budget_of(limiter)
        if budget is None or not self.db.is_open:
            return
        try:
            counts = await self.db.write(_renew_sync, self.instance_id, [budget], [], self._wall(), self.ttl)
        except Exception:  # noqa: BLE001 - sending at the last known share beats not sending
            log.warning("could not register the rate share of %s", budget.split(":")[0], exc_info=True)
            return
        self._registered.add(budget)
        share = self._share(budget, counts)
        limiter.share = share
        if share > 1:
            limiter.delay(limiter.ticker.time() + self.beat_seconds * _JOIN_MARGIN)

    async def beat(self) -> None:
        """Renew the rows of the budgets in use, drop the rest, and adopt the live counts."""
        renew = sorted(b for b, limiter in self.limiters.items() if limiter.active())
        drop = sorted(self._registered - set(renew))
        if not renew and not drop:
            return
        counts = await self.db.write(_renew_sync, self.instance_id, renew, drop, self._wall(), self.ttl)
        self._registered = set(renew)
        for budget in renew:
            self.limiters[budget].share = self._share(budget, counts)

    def adopt_remote(self, budgets: list[str], live: int) -> bool:
        """``live`` consoles share ``budgets`` through a remote registry; True when the count grew
        (a console joined, or this one just registered: the caller then holds back one beat)."""
        grew = False
        for budget in budgets:
            grew = grew or live > self._remote.get(budget, 1)
            self._remote[budget] = max(1, live)
            if (limiter := self.limiters.get(budget)) is not None:
                limiter.share = self._share(budget)
        return grew

    def hold_back(self, budgets: list[str], seconds: float) -> None:
        """No grant on ``budgets`` for ``seconds``: peers learn of a new console at their next beat."""
        for budget in budgets:
            if (limiter := self.limiters.get(budget)) is not None:
                limiter.delay(limiter.ticker.time() + seconds)

    def _share(self, budget: str, counts: dict[str, int] | None = None) -> int:
        if counts is not None:
            self._local[budget] = max(1, counts.get(budget, 1))
        return max(1, self._local.get(budget, 1), self._remote.get(budget, 1))

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.beat_seconds)
            if not self.db.is_open:
                return
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep beating; a missed beat only delays a share change
                log.warning("rate share renewal failed", exc_info=True)
