"""The Supabase queue backend: a shared remote queue mirrored into the local SQLite queue.

Several consoles work one ``public.queue`` in a Supabase project (docs/supabase.md). The
processors never talk to Supabase: as with the CSV backend they claim, run and finish rows of
the local queue. This backend keeps the two in step, one cheap step per ``sync()``:

1. **Push** the outcome of every mirrored row whose local lease ended (the trigger of SQLite
   migration 0004 marks them): COMPLETED → ``queue_complete``, FAILED → ``queue_fail``
   (permanent), a transient failure → ``queue_fail`` (the server schedules the retry). Each
   call is fenced by the remote lease token kept in ``supabase_mirror``; a push whose answer
   is lost is retried with the same token and answered "already".
2. **Renew** the remote leases of every row still mirrored (one ``queue_heartbeat`` for all,
   every third of the lease). A token the server reports lost belongs to someone else now:
   its local row is deleted, which stops a running worker at its next lease beat.
3. **Claim** a batch sized to the free local slots (``queue_claim`` with a request id that is
   kept until an answer arrives, so a retried claim returns the same rows) and insert the rows
   as local PENDING rows. When the server says HIGH work waits while LOW items run here, HIGH
   items are claimed for the LOW slots: their local arrival makes the LOW items pause at their
   next step boundary, as with a local HIGH add (docs/priority.md).

Paused or released rows keep their remote lease (the item is resumed here, from its
checkpoint); ``stop()`` gives every lease not finished back with ``queue_release``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
import uuid
from datetime import datetime
from typing import Any

from ..clock import to_iso
from .base import BackendState
from .supabase_client import RemoteRow, SupabaseError, SupabaseQueue

__all__ = ["SupabaseBackend"]

log = logging.getLogger("viralspot.supabase")
PARKED = "9999-12-31T00:00:00.000000+00:00"  # a local row whose remote item went back to the server
IDLE_CLAIM_SECONDS = 1.0  # an empty claim is repeated at most this often
BEAT_SECONDS = 5.0
BEAT_TTL_SECONDS = 15.0
START_ATTEMPTS = 3
START_RETRY_SECONDS = 1.0
RETRY_HORIZON = 60.0  # a remote retry due this soon keeps a batch run (--exit-when-idle) going


def _ended_sync(conn: sqlite3.Connection) -> list[tuple[int, str, str, str | None, int, int]]:
    return conn.execute(
        "SELECT m.local_id, m.token, q.status, q.last_error, q.attempts, m.claimed_attempts"
        " FROM supabase_mirror m JOIN queue q ON q.id = m.local_id"
        " WHERE m.ended IS NOT NULL AND m.pushed = 0 AND q.status <> 'PROCESSING'"
    ).fetchall()


def _held_sync(conn: sqlite3.Connection) -> list[tuple[int, str, str, str]]:
    """Mirrored rows whose remote lease is still ours: (local id, token, local status, priority)."""
    return conn.execute(
        "SELECT m.local_id, m.token, q.status, q.priority FROM supabase_mirror m JOIN queue q ON q.id = m.local_id"
        " WHERE m.pushed = 0 AND (m.ended IS NULL OR q.status IN ('PENDING','PAUSED','PROCESSING'))"
    ).fetchall()


def _mark_pushed_sync(conn: sqlite3.Connection, local_ids: list[int], park: list[int]) -> None:
    conn.executemany("DELETE FROM supabase_mirror WHERE local_id = ?", [(i,) for i in local_ids])
    conn.executemany(
        "UPDATE queue SET not_before = ? WHERE id = ? AND status IN ('PENDING','PAUSED')", [(PARKED, i) for i in park]
    )


def _drop_lost_sync(conn: sqlite3.Connection, tokens: list[str]) -> list[str]:
    names: list[str] = []
    for token in tokens:
        row = conn.execute("SELECT local_id, username FROM supabase_mirror WHERE token = ?", (token,)).fetchone()
        if row is None:
            continue
        conn.execute("DELETE FROM supabase_mirror WHERE local_id = ?", (row[0],))
        conn.execute("DELETE FROM queue WHERE id = ? AND status <> 'COMPLETED'", (row[0],))
        names.append(row[1])
    return names


def _insert_claimed_sync(conn: sqlite3.Connection, rows: list[RemoteRow], now: str) -> int:
    """Mirror claimed rows as local PENDING rows (reusing a parked local row of the same name)."""
    for r in rows:
        attempts = max(r.attempts - 1, 0)  # the local claim counts the attempt the server counted
        local = conn.execute(
            "SELECT id FROM queue WHERE username = ? AND status IN ('PENDING','PROCESSING','PAUSED')", (r.username,)
        ).fetchone()
        if local is None:
            local_id = conn.execute(
                "INSERT INTO queue (username, priority, status, source, attempts, max_attempts, created_at, updated_at)"
                " VALUES (?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                (r.username, r.priority, r.source or "manual", attempts, r.max_attempts, now, now),
            ).lastrowid
        else:
            local_id = local[0]
            conn.execute(
                "UPDATE queue SET priority = ?, attempts = ?, max_attempts = ?, not_before = NULL, updated_at = ?"
                " WHERE id = ? AND status IN ('PENDING','PAUSED')",
                (r.priority, attempts, r.max_attempts, now, local_id),
            )
        conn.execute(
            "INSERT INTO supabase_mirror (local_id, remote_id, token, username, claimed_attempts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (local_id) DO UPDATE SET remote_id = excluded.remote_id,"
            " token = excluded.token, claimed_attempts = excluded.claimed_attempts, ended = NULL, pushed = 0",
            (local_id, r.id, r.lease_token, r.username, r.attempts),
        )
    return len(rows)


class SupabaseBackend:
    def __init__(self, runtime: Any, client: SupabaseQueue | None = None) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.client = client or SupabaseQueue.from_settings(settings)
        self.lease_seconds = settings.supabase.lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.online = False
        self.busy = True  # work may wait remotely until a claim comes back empty
        self.messages: list[str] = []
        self.claimed_total = 0
        self.pushed_total = 0
        self._request_id: str | None = None  # a claim whose answer has not arrived yet
        self._last_claim_empty = 0.0
        self._last_heartbeat = 0.0
        self._last_beat = 0.0
        self._high_waiting = False
        self._error: str | None = None
        self._refused = False  # start() refused: the final stop() must not call the server

    # -------------------------------------------------------------- QueueBackend
    async def start(self) -> None:
        """Register the console and take the first batch.

        A refused key, missing functions, or a server still unreachable after a few tries stop
        the start with a :class:`ConfigError` (exit 2) naming the variable to check."""
        from ...config import ConfigError

        await self.client.connect()
        for attempt in range(START_ATTEMPTS):
            try:
                await self._beat(force=True)
                break
            except SupabaseError as exc:
                if exc.transient and attempt + 1 < START_ATTEMPTS:
                    await asyncio.sleep(START_RETRY_SECONDS)
                    continue
                self._refused = True
                await self.client.close()
                hint = f" (SUPABASE_URL is {self.client.url})" if exc.transient else ""
                raise ConfigError(f"{exc}{hint}") from None
        await self.sync()

    async def sync(self) -> None:
        try:
            await self._push()
            await self._heartbeat()
            await self._claim()
            await self._beat()
            self.online, self._error = True, None
        except SupabaseError as exc:
            self._offline(exc)

    async def stop(self) -> None:
        """Push what finished, give back every other lease, leave the console registry."""
        if self._refused:
            return
        try:
            await self._push()
            held = [h for h in await self.runtime.db.read(_held_sync) if h[2] != "PROCESSING"]
            if held:
                answer = await self.client.release([token for _, token, *_ in held], pause=False)
                ids = [local_id for local_id, *_ in held]
                await self.runtime.db.write(_mark_pushed_sync, ids, ids)  # theirs again: never run here unleased
                self._note(f"gave {len(answer.released)} unfinished item(s) back to the shared queue")
            await self.client.console_leave(self.owner)
        except SupabaseError as exc:
            self._offline(exc)
        finally:
            await self.client.close()

    def state(self) -> BackendState:
        return BackendState(
            description=f"supabase {self.client.host}",
            online=self.online,
            outbox_depth=0,
            messages=tuple(self.messages[-5:]),
            busy=self.busy,
        )

    # -------------------------------------------------------------- the steps
    async def _push(self) -> None:
        ended = await self.runtime.db.read(_ended_sync)
        if not ended:
            return
        done: list[int] = []
        park: list[int] = []
        completed = [(i, token) for i, token, status, *_ in ended if status == "COMPLETED"]
        if completed:
            answer = await self.client.complete([token for _, token in completed])
            self._high_waiting = self._high_waiting or answer.high_waiting
            if answer.stale:
                self._note(f"{len(answer.stale)} completion(s) came too late: another console took the item over")
            done += [i for i, _ in completed]
        for local_id, token, status, error, attempts, claimed in ended:
            if status == "COMPLETED":
                continue
            if status == "FAILED" or (status == "PENDING" and attempts >= claimed):
                qs = self.runtime.settings.queue
                await self.client.fail(
                    token,
                    error or "failed",
                    permanent=status == "FAILED",
                    backoff_base=qs.retry_base_seconds,
                    backoff_max=qs.retry_max_seconds,
                )
                done.append(local_id)
                if status == "PENDING":
                    park.append(local_id)  # the server schedules the retry; it may go to any console
                    self.busy, self._last_claim_empty = True, 0.0
        if done:
            await self.runtime.db.write(_mark_pushed_sync, done, park)
            self.pushed_total += len(done)

    async def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat < self.lease_seconds / 3:
            return
        held = await self.runtime.db.read(_held_sync)
        self._last_heartbeat = time.monotonic()
        if not held:
            return
        answer = await self.client.heartbeat([token for _, token, *_ in held], self.lease_seconds)
        self._high_waiting = answer.high_waiting
        if answer.lost:
            names = await self.runtime.db.write(_drop_lost_sync, answer.lost)
            self._note(f"lost the lease of {len(names)} item(s) to another console: {', '.join(names[:5])}")

    async def _claim(self) -> None:
        held = await self.runtime.db.read(_held_sync)
        free = self.runtime.settings.queue.max_concurrent - len(held)
        limit, low_limit = free, None
        low_running = sum(1 for _, _, status, prio in held if status == "PROCESSING" and prio == "LOW")
        high_local = any(prio == "HIGH" and status != "PROCESSING" for _, _, status, prio in held)
        if self._high_waiting and low_running and not high_local:
            limit, low_limit = max(free, 0) + low_running, max(free, 0)  # HIGH for the LOW slots
        if limit <= 0 and self._request_id is None:
            return
        if self._request_id is None and time.monotonic() - self._last_claim_empty < IDLE_CLAIM_SECONDS:
            return
        self._request_id = self._request_id or str(uuid.uuid4())
        rows = await self.client.claim(self.owner, self._request_id, max(limit, 1), self.lease_seconds, low_limit)
        self._request_id = None
        self._high_waiting = False
        if not rows:
            self._last_claim_empty = time.monotonic()
            self.busy = await self._retry_due_soon()
            return
        self.busy = True
        await self.runtime.db.write(_insert_claimed_sync, rows, to_iso(self.runtime.clock.now()))
        self.claimed_total += len(rows)
        self.runtime.events.emit("supabase.claimed", f"claimed {len(rows)} item(s) from {self.client.host}")

    async def _retry_due_soon(self) -> bool:
        """Nothing claimable now: does a retry fall due within a minute? (idle detection, as locally)"""
        summary = await self.client.summary()
        try:
            waiting = sum(int(c["count"]) for c in summary["counts"] if c["status"] in ("PENDING", "PAUSED"))
            due, now = summary.get("next_retry_at"), datetime.fromisoformat(str(summary["now"]))
            if due is None:  # every waiting row is due now: the claim just missed them (a retry falling due)
                return waiting > 0
            return (datetime.fromisoformat(str(due)) - now).total_seconds() <= RETRY_HORIZON
        except (KeyError, ValueError) as exc:
            raise SupabaseError(f"Supabase queue_summary: unexpected answer ({exc})", transient=False) from None

    async def _beat(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_beat < BEAT_SECONDS:
            return
        await self.client.console_beat(self.owner, socket.gethostname(), "", BEAT_TTL_SECONDS)
        self._last_beat = time.monotonic()

    # -------------------------------------------------------------- reporting
    def _offline(self, exc: SupabaseError) -> None:
        message = str(exc)
        self.online = False
        if message != self._error:
            self._error = message
            self._note(f"{self.client.host} unreachable, retrying: {message}", level="warning")
            log.warning("supabase: %s", message)

    def _note(self, message: str, level: str = "info") -> None:
        self.messages.append(message)
        del self.messages[:-50]
        self.runtime.events.emit("supabase.note", message, level=level)
