"""Control commands between processes, through the shared SQLite database (WAL).

A command-line invocation (``viralspot pause crawler``) cannot reach into a running
console's memory, so it appends a row to ``control_commands``; the running supervisor polls
twice a second, applies pending rows and writes the result back, which the CLI may wait
for. ``runtime_state`` holds small facts the engine publishes (its snapshot, paused
processors) for commands like ``viralspot status``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .clock import Clock, from_iso, to_iso
from .store.database import Database
from .store.leases import owner_is_dead_here

__all__ = [
    "ControlChannel",
    "ControlCommand",
    "PublishedEngine",
    "engine_is_running",
    "read_engine",
    "read_state_sync",
    "post_command_sync",
]


@dataclass(frozen=True)
class ControlCommand:
    id: int
    command: str
    args: dict[str, Any]
    created_at: datetime | None
    applied_at: datetime | None
    result: str | None


def _row(r: sqlite3.Row | tuple[Any, ...]) -> ControlCommand:
    return ControlCommand(r[0], r[1], json.loads(r[2]), from_iso(r[3]), from_iso(r[4]), r[5])


def post_command_sync(conn: sqlite3.Connection, command: str, args: dict[str, Any], now: str) -> int:
    return int(
        conn.execute(
            "INSERT INTO control_commands (command, args, created_at) VALUES (?, ?, ?)",
            (command, json.dumps(args), now),
        ).lastrowid
        or 0
    )


def read_state_sync(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM runtime_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class PublishedEngine:
    """What a running engine publishes about itself in ``runtime_state`` (see docs/architecture.md)."""

    alive: bool
    state: dict[str, Any]

    @property
    def processors(self) -> dict[str, str]:
        """Hosted processors and their state (``running``, ``paused`` …)."""
        procs = self.state.get("processors") or {}
        return {str(n): str((p or {}).get("state", "?")) for n, p in procs.items()} if isinstance(procs, dict) else {}

    @property
    def heartbeat(self) -> datetime | None:
        return from_iso(self.state.get("heartbeat"))


def engine_is_running(state_json: str | None, now: datetime, stale_after: float = 5.0) -> bool:
    """Is a runner alive? Its heartbeat must be recent, it must not have said goodbye, and, when it
    ran on this machine, its process must still exist (a ``kill -9`` leaves a fresh heartbeat)."""
    if not state_json:
        return False
    try:
        state = json.loads(state_json)
    except ValueError:
        return False
    if not isinstance(state, dict):
        return False
    beat = from_iso(state.get("heartbeat"))
    if not state.get("running") or beat is None or now - beat >= timedelta(seconds=stale_after):
        return False
    return not owner_is_dead_here(str(state.get("instance") or ""), socket.gethostname())


def read_engine(conn: sqlite3.Connection, now: datetime) -> PublishedEngine:
    """The published engine state and whether that engine is alive, in one read."""
    raw = read_state_sync(conn, "engine")
    try:
        state = json.loads(raw) if raw else {}
    except ValueError:
        state = {}
    return PublishedEngine(engine_is_running(raw, now), state if isinstance(state, dict) else {})


class ControlChannel:
    def __init__(self, db: Database, clock: Clock, owner: str = "cli") -> None:
        self.db = db
        self.clock = clock
        self.owner = owner

    async def post(self, command: str, **args: Any) -> int:
        return await self.db.write(post_command_sync, command, args, to_iso(self.clock.now()))

    async def fetch_pending(self) -> list[ControlCommand]:
        rows = await self.db.read(
            lambda c: c.execute(
                "SELECT id, command, args, created_at, applied_at, result FROM control_commands"
                " WHERE applied_at IS NULL ORDER BY id LIMIT 100"
            ).fetchall()
        )
        return [_row(r) for r in rows]

    async def pending_count(self) -> int:
        return await self.db.read(
            lambda c: c.execute("SELECT COUNT(*) FROM control_commands WHERE applied_at IS NULL").fetchone()[0]
        )

    async def mark_applied(self, command_id: int, result: str) -> None:
        now = to_iso(self.clock.now())
        await self.db.write(
            lambda c: c.execute(
                "UPDATE control_commands SET applied_at = ?, applied_by = ?, result = ? WHERE id = ?",
                (now, self.owner, result, command_id),
            )
        )

    async def wait_result(self, command_id: int, timeout: float = 5.0) -> ControlCommand | None:
        """Poll until the running engine applied the command (or the timeout passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = await self.db.read(
                lambda c: c.execute(
                    "SELECT id, command, args, created_at, applied_at, result FROM control_commands WHERE id = ?",
                    (command_id,),
                ).fetchone()
            )
            if row is not None and row[4] is not None:
                return _row(row)
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.1)

    async def set_state(self, key: str, value: str) -> None:
        now = to_iso(self.clock.now())
        await self.db.write(
            lambda c: c.execute(
                "INSERT INTO runtime_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, now),
            )
        )

    async def get_state(self, key: str) -> str | None:
        return await self.db.read(read_state_sync, key)
