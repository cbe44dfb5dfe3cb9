"""Which candidates are already known (docs/crawler.md).

A candidate is a duplicate when it is already in the queue in *any* status (pending, running,
paused, completed or failed — a failed name was tried and an operator can retry it; the crawler
re-queueing it would hide that decision), already scraped (``primary_profiles``), or already
seen earlier in this crawl (as a seed or as a candidate of an earlier round, whatever became of
it, so a candidate is judged — and perhaps enriched with a paid call — at most once per crawl).

It deliberately does **not** look at ``secondary_profiles``: an account known only because it
appeared in somebody's similar list has never been scraped, and those are exactly the accounts
discovery exists to find.

The lookup is a single query per round (names passed as one JSON parameter), not a query per
candidate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..store.database import Database
from ..store.queue_store import known_usernames_sync

__all__ = ["Deduplicator", "DedupResult", "known_usernames_sync", "stored_followers_sync"]


def stored_followers_sync(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, int]:
    """Follower counts already stored for similar-only accounts (saves an enrichment call)."""
    if not names:
        return {}
    rows = conn.execute(
        "SELECT username, followers FROM secondary_profiles WHERE followers IS NOT NULL"
        " AND username IN (SELECT value FROM json_each(?))",
        (json.dumps(list(names)),),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


@dataclass
class DedupResult:
    fresh: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


class Deduplicator:
    """Holds the crawl's seen set and splits each round's names into fresh and duplicate."""

    def __init__(self, db: Database, seen: Iterable[str] = ()) -> None:
        self.db = db
        self.seen: set[str] = set(seen)

    def mark_seen(self, names: Iterable[str]) -> None:
        self.seen.update(names)

    async def split(self, names: Sequence[str]) -> DedupResult:
        """Split valid, normalised names; a name repeated within ``names`` is a duplicate too.

        Every name passed in is marked seen, so later rounds count it as a duplicate.
        """
        known = await self.db.read(known_usernames_sync, list(dict.fromkeys(names)))
        result = DedupResult()
        for name in names:
            if name in self.seen or name in known:
                result.duplicates.append(name)
            else:
                result.fresh.append(name)
            self.seen.add(name)
        return result
