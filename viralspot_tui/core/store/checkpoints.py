"""Step checkpoints of long-running work (docs/queue.md, V6): what finished, with its result.

A paused, crashed or retried item reloads its finished steps from here instead of calling the
API again, so resuming never repeats a finished call. Each step is keyed by
``(item_key, step)`` and saving is an upsert, so saving the same step twice (a retry after a
crash between "saved" and "moved on") is harmless. The payload is the step's parsed result as
JSON, not the raw response: a resumed run must not depend on re-parsing.

``clear_sync`` exists so the final store step can drop an item's checkpoints in the same
transaction that stores its results — never one without the other.

Saving is queued, not awaited (the pipeline goes on with its next call), and the saves of
concurrent items queued in the same event-loop iteration join into one ``executemany`` on the
database thread (``Database.submit_coalesced``): one job and one statement loop per flush
instead of one per step. Writes still apply in the order they were queued, so every checkpoint
lands before the item's final store transaction (docs/performance-client-cpu.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable
from typing import Any

from ..clock import Clock, SystemClock, to_iso
from .database import Database

__all__ = ["CheckpointStore", "save_sync", "clear_sync", "load_sync", "load_many_sync"]


def load_sync(conn: sqlite3.Connection, item_key: str) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT step, payload FROM pipeline_checkpoints WHERE item_key = ? ORDER BY created_at, step", (item_key,)
    ).fetchall()
    return {row[0]: json.loads(row[1]) for row in rows}


def load_many_sync(conn: sqlite3.Connection, item_keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {key: {} for key in item_keys}
    rows = conn.execute(
        "SELECT item_key, step, payload FROM pipeline_checkpoints WHERE item_key IN (SELECT value FROM json_each(?))"
        " ORDER BY created_at, step",
        (json.dumps(item_keys),),
    ).fetchall()
    for key, step, payload in rows:
        found[key][step] = json.loads(payload)
    return found


_SAVE = (
    "INSERT INTO pipeline_checkpoints (item_key, step, payload, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(item_key, step) DO UPDATE SET payload = excluded.payload"
)


def save_sync(conn: sqlite3.Connection, item_key: str, step: str, payload: Any, now: str) -> None:
    conn.execute(_SAVE, (item_key, step, json.dumps(payload, separators=(",", ":")), now))


def _save_many_sync(conn: sqlite3.Connection, rows: list[tuple[str, str, str, str]]) -> list[None]:
    """Every ``(item_key, step, payload text, created_at)`` queued in one flush, in one statement
    loop. A failure fails the whole group (each save of it raises), as one failed write would."""
    conn.executemany(_SAVE, rows)
    return [None] * len(rows)


def clear_sync(conn: sqlite3.Connection, item_key: str) -> int:
    return conn.execute("DELETE FROM pipeline_checkpoints WHERE item_key = ?", (item_key,)).rowcount


class CheckpointStore:
    """Async facade: each call is one round trip to the database thread."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()

    async def load(self, item_key: str) -> dict[str, Any]:
        """``{step: payload}`` of every finished step of ``item_key``."""
        return await self.db.read(load_sync, item_key)

    async def load_many(self, item_keys: list[str]) -> dict[str, dict[str, Any]]:
        """``load`` for several items in one round trip (the dispatcher's batch of claimed items)."""
        return await self.db.read(load_many_sync, list(item_keys)) if item_keys else {}

    async def save(self, item_key: str, step: str, payload: Any) -> None:
        """Record a finished step (idempotent: the same step saved twice keeps one row)."""
        await self.save_queued(item_key, step, payload)

    def save_queued(self, item_key: str, step: str, payload: Any) -> "Awaitable[None]":
        """``save`` queued at once, without waiting: writes queued later land after it."""
        text = json.dumps(payload, separators=(",", ":"))  # fail here, not on the DB thread
        return self.save_text_queued(item_key, step, text)

    def save_text_queued(self, item_key: str, step: str, text: str) -> "Awaitable[None]":
        """``save_queued`` of a payload already encoded as JSON text (a model's ``model_dump_json``),
        joined with the other saves queued meanwhile and deferred: nobody waits for it until the
        item is stored, so it rides along with the next write (Database.submit_coalesced)."""
        return self.db.submit_coalesced(_save_many_sync, (item_key, step, text, to_iso(self.clock.now())), defer=True)

    async def clear(self, item_key: str) -> int:
        return await self.db.write(clear_sync, item_key)

    async def steps(self, item_key: str) -> list[str]:
        return list((await self.load(item_key)).keys())
