"""Working on while Supabase is unreachable, and catching up when it is back (docs/supabase-outbox.md).

The Supabase backend calls :class:`OfflineSync` at fixed points of its ``sync()``; everything
about the outbox and about being offline lives here, so the backend keeps one shape:

- **order**: the outbox drains first, then outcomes are pushed, leases renewed, new items
  claimed; a drain that fails stops the step there, so nothing new is claimed before the
  outbox is empty again;
- **noticing**: a transient failure (connection refused, timeout, 5xx) marks the backend offline
  at once; while offline only a cheap probe (``control_get``, one small table) runs, every
  ``PROBE_SECONDS``, until it answers;
- **leases while offline**: mirrored items keep running until the remote lease deadline this
  console last heard (claim or heartbeat); a local item not yet started whose deadline passed
  is parked (another console may take it over), and given back its place when a heartbeat
  renews it;
- **superseded**: a completion the server answers ``stale`` (the lease ran out and another
  console took the item) is kept as a superseded outbox entry and logged; the content it
  produced went through the outbox and applies anyway (idempotent upserts).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from datetime import datetime
from typing import Any

from ..store.outbox_store import OutboxStore
from .supabase_client import RemoteRow, Renewed, SupabaseError, SupabaseQueue
from .supabase_mirror import PARKED
from .supabase_outbox import OutboxPusher, PushReport

__all__ = ["OfflineSync", "PROBE_SECONDS"]

log = logging.getLogger("viralspot.supabase")
PROBE_SECONDS = 2.0


def _park_sync(conn: sqlite3.Connection, tokens: list[str]) -> list[str]:
    names: list[str] = []
    for token in tokens:
        row = conn.execute(
            "SELECT q.id, q.username FROM supabase_mirror m JOIN queue q ON q.id = m.local_id"
            " WHERE m.token = ? AND m.pushed = 0 AND q.status IN ('PENDING','PAUSED')"
            " AND (q.not_before IS NULL OR q.not_before <> ?)",
            (token, PARKED),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE queue SET not_before = ? WHERE id = ?", (PARKED, row[0]))
            names.append(row[1])
    return names


def _unpark_sync(conn: sqlite3.Connection, tokens: list[str]) -> int:
    changed = 0
    for token in tokens:
        changed += conn.execute(
            "UPDATE queue SET not_before = NULL WHERE not_before = ? AND status IN ('PENDING','PAUSED')"
            " AND id = (SELECT local_id FROM supabase_mirror WHERE token = ? AND pushed = 0)",
            (PARKED, token),
        ).rowcount
    return changed


def _usernames_sync(conn: sqlite3.Connection, tokens: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for token in tokens:
        row = conn.execute("SELECT username FROM supabase_mirror WHERE token = ?", (token,)).fetchone()
        out[token] = row[0] if row else "?"
    return out


class OfflineSync:
    """The backend's outbox, reachability and offline-lease bookkeeping."""

    def __init__(self, runtime: Any, client: SupabaseQueue, note: Any) -> None:
        self.runtime = runtime
        self.store = OutboxStore(runtime.db, runtime.clock)
        self.pusher = OutboxPusher(self.store, client)
        self.note = note  # the backend's _note(message, level)
        self.online = True
        self.enabled = False  # the project has the outbox functions (start() finds out)
        self.depth = 0
        self.oldest_age: float | None = None
        self.halted: str | None = None
        self._told: str | None = None  # the halt already reported
        self._last_probe = 0.0
        self._deadlines: dict[str, datetime] = {}  # lease token -> remote lease deadline as last heard

    async def start(self) -> None:
        """Capture on, once the project is known to have the outbox functions.

        A project migrated before them (``PGRST202``) still serves the shared queue: results
        then stay local (capture off, nothing grows) and the operator is told to migrate."""
        try:
            await self.pusher.server_seq((await self.store.client()).client_id)
        except SupabaseError as exc:
            if exc.code != "PGRST202":
                raise
            self.enabled = False
            self._told = (
                f"{self.pusher.client.host} lacks the outbox functions: results stay in this database"
                " until `viralspot supabase migrate` adds them"
            )
            self.note(self._told, level="warning")
            return
        self.enabled = True
        await self.store.set_capture(True)
        await self.refresh()

    async def refresh(self) -> None:
        self.depth, self.oldest_age = await self.store.depth()
        self.halted = (await self.store.client()).halted

    # ------------------------------------------------------------ reachability
    def may_call(self) -> bool:
        """Online, or offline with a probe due (the probe is then the first call of the step)."""
        return self.online or time.monotonic() - self._last_probe >= PROBE_SECONDS

    async def step(self) -> None:
        """The first part of every backend step: the probe while offline, then the drain.
        A SupabaseError propagates: the step ends there and nothing new is claimed."""
        if not self.online:
            self._last_probe = time.monotonic()
            await self.pusher.client.control_get()  # the cheap probe: one small table
            self.online = True
            self.note(f"{self.pusher.client.host} reachable again: the outbox drains before new claims")
        await self.drain()

    async def went_offline(self) -> None:
        self.online = False
        self._last_probe = time.monotonic()
        await self.while_offline()

    async def while_offline(self) -> None:
        await self.expire_offline()
        await self.refresh()

    # ------------------------------------------------------------ the outbox
    async def drain(self) -> PushReport:
        """Send everything waiting; SupabaseError propagates (the step stops, nothing is claimed)."""
        if not self.enabled:
            return PushReport(halted=self._told)
        report = await self.pusher.push()
        await self.refresh()
        if report.halted and report.halted != self._told:
            self._told = report.halted
            self.note(report.halted, level="error")
        for seq, reason in report.rejected:
            self.note(f"outbox seq {seq} rejected by Supabase: {reason}", level="warning")
        return report

    async def superseded(self, tokens: list[str]) -> None:
        """Completions answered stale: kept as superseded entries, and said in the log."""
        if not tokens:
            return
        names = await self.runtime.db.read(_usernames_sync, tokens)
        for token, name in names.items():
            reason = (
                f"{name}: completed here after its lease ran out; another console took the item over"
                " (its results still apply: the upserts are idempotent)"
            )
            if self.enabled:  # kept for `viralspot outbox` (sent as a skip, so the sequence stays whole)
                await self.store.add_note({"username": name, "lease_token": token}, reason)
            self.note(f"superseded: {reason}", level="warning")
        await self.refresh()

    # ------------------------------------------------------------ leases while offline
    def claimed(self, rows: list[RemoteRow]) -> None:
        for r in rows:
            if r.lease_token and r.lease_expires_at is not None:
                self._deadlines[r.lease_token] = r.lease_expires_at

    async def renewed(self, renewed: list[Renewed]) -> None:
        """A heartbeat renewed these leases: new deadlines, and parked ones may start again."""
        self._deadlines = {r.token: r.lease_expires_at for r in renewed}  # every lease held was in the call
        if renewed:
            await self.runtime.db.write(_unpark_sync, [r.token for r in renewed])

    async def expire_offline(self) -> None:
        """Offline: park the not-yet-started items whose remote lease ran out meanwhile."""
        now = self.runtime.clock.now()
        due = [t for t, d in self._deadlines.items() if d <= now]
        if not due:
            return
        names = await self.runtime.db.write(_park_sync, due)
        for token in due:
            self._deadlines.pop(token, None)
        if names:
            self.note(
                f"offline past the lease of {len(names)} item(s), not starting them here: {', '.join(names[:5])}",
                level="warning",
            )
