"""Step checkpoints of long-running work (SPEC P4, Q4, V6): what finished, with its result.

A paused, crashed or retried item reloads its finished steps from here instead of calling the
API again, so resuming never repeats a finished call. Each step is keyed by
``(item_key, step)`` and saving is an upsert, so saving the same step twice (a retry after a
crash between "saved" and "moved on") is harmless. The payload is the step's parsed result as
JSON, not the raw response: a resumed run must not depend on re-parsing.

``clear_sync`` exists so the final store step can drop an item's checkpoints in the same
transaction that stores its results — never one without the other.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..clock import Clock, SystemClock, to_iso
from .database import Database

__all__ = ["CheckpointStore", "save_sync", "clear_sync", "load_sync"]


def load_sync(conn: sqlite3.Connection, item_key: str) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT step, payload FROM pipeline_checkpoints WHERE item_key = ? ORDER BY created_at, step", (item_key,)
    ).fetchall()
    return {row[0]: json.loads(row[1]) for row in rows}


def save_sync(conn: sqlite3.Connection, item_key: str, step: str, payload: Any, now: str) -> None:
    _save_text_sync(conn, item_key, step, json.dumps(payload, separators=(",", ":")), now)


def _save_text_sync(conn: sqlite3.Connection, item_key: str, step: str, text: str, now: str) -> None:
    conn.execute(
        "INSERT INTO pipeline_checkpoints (item_key, step, payload, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(item_key, step) DO UPDATE SET payload = excluded.payload",
        (item_key, step, text, now),
    )


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

    async def save(self, item_key: str, step: str, payload: Any) -> None:
        """Record a finished step (idempotent: the same step saved twice keeps one row)."""
        text = json.dumps(payload, separators=(",", ":"))  # fail here, not on the DB thread
        now = to_iso(self.clock.now())
        await self.db.write(_save_text_sync, item_key, step, text, now)

    async def clear(self, item_key: str) -> int:
        return await self.db.write(clear_sync, item_key)

    async def steps(self, item_key: str) -> list[str]:
        return list((await self.load(item_key)).keys())
