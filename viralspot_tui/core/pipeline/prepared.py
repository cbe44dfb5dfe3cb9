"""What a profile fetch needs from the database before its first call, read for a whole batch.

The queue processor claims items in batches (one per freed-slot wake-up) and used to load the
batch's checkpoints in one round trip; the pipeline then read each item's already-dated reels
on its own, *between* its two network rounds (profile + reels + similar, then reel details),
so every item with a detail round waited for a database hop — behind whatever writes the
database thread was applying — while its slot held no call (docs/performance-client-cpu.md).

:func:`prepare_many` reads both for the batch in one hop at claim time: the checkpoints
(``{step: payload}``) and the shortcodes of each username's reels already stored with a date
(a re-scrape need not pay for their details again). Read before the first round instead of
after it, the dated set can only be missing a reel some other processor stored with a date
meanwhile; then that reel's detail is fetched once more, which costs a call, never data.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..store.checkpoints import CheckpointStore, load_many_sync

__all__ = ["Prepared", "prepare_many", "dated_many_sync"]


@dataclass(frozen=True)
class Prepared:
    """One claimed item's checkpoints and its username's dated shortcodes."""

    resume: dict[str, Any] = field(default_factory=dict)
    dated: frozenset[str] = frozenset()


def dated_many_sync(conn: sqlite3.Connection, usernames: list[str]) -> dict[str, set[str]]:
    """``{username: shortcodes of its stored reels that have a date}`` (through ``content_username``)."""
    found: dict[str, set[str]] = {name: set() for name in usernames}
    rows = conn.execute(
        "SELECT username, shortcode FROM content WHERE username IN (SELECT value FROM json_each(?))"
        " AND taken_at IS NOT NULL",
        (json.dumps(usernames),),
    ).fetchall()
    for username, shortcode in rows:
        found[username].add(shortcode)
    return found


def _prepare_sync(conn: sqlite3.Connection, keys: list[str], usernames: list[str]) -> list[Prepared]:
    resume = load_many_sync(conn, keys)
    dated = dated_many_sync(conn, sorted(set(usernames)))
    return [Prepared(resume[key], frozenset(dated[name])) for key, name in zip(keys, usernames, strict=True)]


async def prepare_many(checkpoints: CheckpointStore, items: list[tuple[str, str]]) -> dict[str, Prepared]:
    """``{item_key: Prepared}`` for ``(item_key, normalised username)`` pairs, in one database hop."""
    if not items:
        return {}
    keys = [key for key, _ in items]
    prepared = await checkpoints.db.read(_prepare_sync, keys, [name for _, name in items])
    return dict(zip(keys, prepared, strict=True))
