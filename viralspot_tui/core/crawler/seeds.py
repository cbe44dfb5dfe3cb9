"""Choosing the seed of each round (docs/crawler.md).

Seeds are given explicitly or drawn at random from stored primary profiles (accounts the queue
processor has scraped). Random, because always starting from the same few accounts would walk
the same corner of the similar-account graph every time; *without reuse within a session* until
every stored profile has served once, because a reused seed mostly yields duplicates and wastes
its API call. The session is the life of one :class:`SeedPool` (one engine process), shared by
every crawl that engine runs.

Every round uses a different seed. When a crawl's own seeds run out before its rounds do, it
snowballs: the accounts it queued in earlier rounds become seeds (they are real accounts with
their own similar lists, one step further into the graph). Order per round:

* explicit crawl — the given seeds in order, then the snowball frontier;
* automatic crawl — an unused stored primary profile, then the snowball frontier.

``None`` from :meth:`CrawlSeeds.next` means no seed is left and the crawl ends as
``seeds_exhausted``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable, Sequence

from ..models.usernames import normalize_username
from ..store.database import Database

__all__ = ["SeedPool", "CrawlSeeds"]


def _stored_primaries(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT username FROM primary_profiles WHERE is_private = 0 ORDER BY username").fetchall()
    return [r[0] for r in rows]


class SeedPool:
    """Session-wide memory of which stored profiles already served as seeds."""

    def __init__(self, db: Database, rng: random.Random | None = None) -> None:
        self.db = db
        self.rng = rng or random.Random()
        self.used: set[str] = set()
        self.cycles = 0

    def mark_used(self, names: Iterable[str]) -> None:
        self.used.update(names)

    async def draw(self, exclude: Iterable[str] = ()) -> str | None:
        """A random stored primary profile not yet used this session (nor in ``exclude``).

        When every stored profile has been used, a new cycle begins (reuse is allowed again),
        still skipping ``exclude`` — the seeds the current crawl has already had.
        """
        stored = await self.db.read(_stored_primaries)
        if not stored:
            return None
        excluded = set(exclude)
        fresh = [n for n in stored if n not in self.used and n not in excluded]
        if not fresh and all(n in self.used for n in stored):
            self.cycles += 1
            self.used.difference_update(stored)
            fresh = [n for n in stored if n not in excluded]
        if not fresh:
            return None
        choice = self.rng.choice(fresh)
        self.used.add(choice)
        return choice


class CrawlSeeds:
    """The seed sequence of one crawl: explicit or automatic, then the snowball frontier."""

    def __init__(
        self,
        pool: SeedPool,
        explicit: Sequence[str] = (),
        already_used: Iterable[str] = (),
        frontier: Iterable[str] = (),
    ) -> None:
        self.pool = pool
        self.explicit = list(dict.fromkeys(normalize_username(s) for s in explicit))
        self.used: list[str] = list(dict.fromkeys(already_used))
        self._frontier: list[str] = [n for n in dict.fromkeys(frontier)]

    @property
    def automatic(self) -> bool:
        return not self.explicit

    def add_frontier(self, names: Iterable[str]) -> None:
        """Accounts queued by this crawl: candidates for later rounds' seeds."""
        for name in names:
            if name not in self._frontier:
                self._frontier.append(name)

    async def next(self) -> str | None:
        seed = self._next_explicit()
        if seed is None and self.automatic:
            seed = await self.pool.draw(exclude=self.used)
        if seed is None:
            seed = self._next_frontier()
        if seed is not None:
            self.used.append(seed)
            self.pool.mark_used([seed])
        return seed

    def give_back(self, seed: str) -> None:
        """Un-use a seed whose round never ran (no budget for its call)."""
        if seed in self.used:
            self.used.remove(seed)
        self.pool.used.discard(seed)

    def _next_explicit(self) -> str | None:
        for name in self.explicit:
            if name not in self.used:
                return name
        return None

    def _next_frontier(self) -> str | None:
        for name in self._frontier:
            if name not in self.used:
                return name
        return None
