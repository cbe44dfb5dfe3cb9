"""The local outbox: changes bound for Supabase, numbered, kept until the server has them.

SQLite migration 0005 creates the ``outbox`` table, the one-row ``outbox_client`` (this
database's client id, the capture switch, how far the server acknowledged) and the capture
triggers that write each changed row in the same transaction as the change. This module is the
rest of the bookkeeping, as plain ``fn(conn, …)`` functions for :class:`Database` plus a small
async facade. Why each rule holds is in docs/supabase-outbox.md:

- every seq is sent exactly once, in order: the pending batch is every row above
  ``acked_through``, whatever its state (a row already known to be rejected locally, or a
  superseded note, goes out as a ``skip`` so the server's sequence has no hole);
- an applied entry is deleted once acknowledged; a rejected or superseded one stays, with its
  reason, for ``viralspot outbox``; a rejected entry is never retried on its own: ``retry``
  copies it to the end of the sequence as a new entry;
- the highest seq ever allocated (``sqlite_sequence``) tells a restored old copy of the file
  from a lost answer.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import Clock, SystemClock, from_iso, to_iso
from .database import Database

__all__ = [
    "OutboxEntry",
    "OutboxClient",
    "OutboxStore",
    "STATES",
    "format_age",
    "client_sync",
    "set_capture_sync",
    "pending_sync",
    "ack_sync",
    "depth_sync",
    "max_seq_sync",
    "add_enqueue_sync",
    "add_note_sync",
    "list_sync",
    "retry_sync",
    "halt_sync",
]

STATES = ("pending", "rejected", "superseded")


def format_age(seconds: float | None) -> str:
    """The oldest waiting entry's age as the header and status lines show it: 42s, 7m, 3h, 2d."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    kind: str  # upsert | enqueue | note
    local_table: str | None
    payload: dict[str, Any]
    created_at: datetime | None
    state: str
    reason: str | None
    attempts: int
    sent: bool  # the server has this seq (applied, rejected or skipped)

    def json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "table": self.local_table,
            "state": self.state,
            "reason": self.reason,
            "attempts": self.attempts,
            "sent": self.sent,
            "created_at": to_iso(self.created_at),
            "key": self.key(),
        }

    def key(self) -> str:
        """A short human name for the entry's row (for lists and messages, never a secret)."""
        if self.kind == "enqueue":
            return ",".join(str(i.get("username")) for i in self.payload.get("items", []))[:80]
        for name in ("username", "shortcode", "content_id", "primary_username", "id"):
            if self.payload.get(name) not in (None, ""):
                return f"{name}={self.payload[name]}"
        return ""


@dataclass(frozen=True)
class OutboxClient:
    client_id: str
    capture: bool
    acked_through: int
    server_seq: int | None
    halted: str | None
    max_seq: int


def _entry(row: sqlite3.Row | tuple[Any, ...], acked: int) -> OutboxEntry:
    seq, kind, table, payload, created, state, reason, attempts = tuple(row)
    return OutboxEntry(
        int(seq), kind, table, json.loads(payload), from_iso(created), state, reason, int(attempts), seq <= acked
    )


_COLUMNS = "seq, kind, local_table, payload, created_at, state, reason, attempts"


def max_seq_sync(conn: sqlite3.Connection) -> int:
    """The highest seq this database ever allocated (deleted rows included)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return int(row[0]) if row else 0


def client_sync(conn: sqlite3.Connection) -> OutboxClient:
    row = conn.execute(
        "SELECT client_id, capture, acked_through, server_seq, halted FROM outbox_client WHERE id = 1"
    ).fetchone()
    return OutboxClient(row[0], bool(row[1]), int(row[2]), row[3], row[4], max_seq_sync(conn))


def set_capture_sync(conn: sqlite3.Connection, on: bool) -> None:
    conn.execute("UPDATE outbox_client SET capture = ? WHERE id = 1", (1 if on else 0,))


def _acked(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT acked_through FROM outbox_client WHERE id = 1").fetchone()[0])


def pending_sync(conn: sqlite3.Connection, limit: int) -> list[OutboxEntry]:
    """The next ``limit`` entries the server has not acknowledged, in seq order."""
    acked = _acked(conn)
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (acked, limit))
    return [_entry(r, acked) for r in rows.fetchall()]


def ack_sync(
    conn: sqlite3.Connection, through: int, rejected: dict[int, str], now: str, skipped: tuple[int, ...] = ()
) -> int:
    """The server holds every seq up to ``through``: forget the applied ones, keep the rejected.

    ``rejected`` maps seq → the server's reason; ``skipped`` are seqs sent as ``skip`` (already
    rejected or superseded locally: they keep their state). Returns how many were applied.
    """
    acked = _acked(conn)
    if through <= acked:
        return 0
    conn.executemany(
        "UPDATE outbox SET state = 'rejected', reason = ? WHERE seq = ?", [(r, s) for s, r in rejected.items()]
    )
    keep = set(rejected) | set(skipped)
    applied = conn.execute(
        "SELECT seq FROM outbox WHERE seq > ? AND seq <= ? AND state = 'pending'", (acked, through)
    ).fetchall()
    gone = [(s,) for (s,) in applied if s not in keep]
    conn.executemany("DELETE FROM outbox WHERE seq = ?", gone)
    conn.execute(
        "UPDATE outbox_client SET acked_through = ?, server_seq = max(coalesce(server_seq, 0), ?), updated_at = ?"
        " WHERE id = 1",
        (through, through, now),
    )
    return len(gone)


def count_attempt_sync(conn: sqlite3.Connection, first: int, last: int) -> None:
    """A batch was sent (its answer may be lost): count one attempt on each entry in it."""
    conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq BETWEEN ? AND ?", (first, last))


def reject_local_sync(conn: sqlite3.Connection, seq: int, reason: str) -> None:
    """An entry that cannot be sent as it is (it does not map): rejected here, sent as a skip."""
    conn.execute("UPDATE outbox SET state = 'rejected', reason = ? WHERE seq = ?", (reason, seq))


def add_enqueue_sync(conn: sqlite3.Connection, items: list[dict[str, Any]], now: str) -> int:
    """Usernames added while the server is unreachable: one ``enqueue`` entry, sent in order."""
    payload = json.dumps({"items": items}, separators=(",", ":"))
    return int(
        conn.execute(
            "INSERT INTO outbox (kind, payload, created_at) VALUES ('enqueue', ?, ?)", (payload, now)
        ).lastrowid
        or 0
    )


def add_note_sync(conn: sqlite3.Connection, payload: dict[str, Any], reason: str, now: str) -> int:
    """A superseded outcome, kept for the operator (sent as a skip so the sequence stays whole)."""
    return int(
        conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, state, reason) VALUES ('note', ?, ?, 'superseded', ?)",
            (json.dumps(payload, separators=(",", ":"), default=str), now, reason),
        ).lastrowid
        or 0
    )


def depth_sync(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """How many entries wait for the server, and when the oldest of them was written."""
    row = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE seq > (SELECT acked_through FROM outbox_client)"
    ).fetchone()
    return int(row[0]), row[1]


def list_sync(conn: sqlite3.Connection, limit: int) -> dict[str, Any]:
    """What waits (oldest first) and what the server rejected or was superseded (newest first)."""
    acked = _acked(conn)
    waiting = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (acked, limit))
    waiting_rows = [_entry(r, acked) for r in waiting.fetchall()]
    done = conn.execute(
        f"SELECT {_COLUMNS} FROM outbox WHERE seq <= ? AND state <> 'pending' ORDER BY seq DESC LIMIT ?",
        (acked, limit),
    )
    depth, oldest = depth_sync(conn)
    return {"waiting": waiting_rows, "settled": [_entry(r, acked) for r in done.fetchall()], "depth": depth}


def retry_sync(conn: sqlite3.Connection, seqs: list[int] | None, now: str) -> list[tuple[int, int]]:
    """Copy rejected entries (``None``: all of them) to the end of the sequence as new entries.

    The server already holds the old seq (rejected), so a replay must be a new number; the old
    row goes, the new one carries its attempts. Returns (old seq, new seq) pairs."""
    acked = _acked(conn)
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE state = 'rejected' AND kind <> 'note' AND seq <= ?"
    args: list[Any] = [acked]
    if seqs is not None:
        sql += f" AND seq IN ({','.join('?' * len(seqs))})"
        args += seqs
    moved: list[tuple[int, int]] = []
    for row in conn.execute(sql + " ORDER BY seq", args).fetchall():
        seq, kind, table, payload, _created, _state, _reason, attempts = tuple(row)
        new = conn.execute(
            "INSERT INTO outbox (kind, local_table, payload, created_at, attempts) VALUES (?, ?, ?, ?, ?)",
            (kind, table, payload, now, attempts),
        ).lastrowid
        conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
        moved.append((int(seq), int(new or 0)))
    return moved


def halt_sync(conn: sqlite3.Connection, reason: str | None, server_seq: int | None) -> None:
    """Stop (``reason``) or resume (``None``) pushing; record what the server said it holds."""
    conn.execute(
        "UPDATE outbox_client SET halted = ?, server_seq = coalesce(?, server_seq) WHERE id = 1", (reason, server_seq)
    )


class OutboxStore:
    """Async access to the outbox for the backend, the pusher and the CLI."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def _now(self) -> str:
        return str(to_iso(self.clock.now()))

    async def client(self) -> OutboxClient:
        return await self.db.read(client_sync)

    async def set_capture(self, on: bool) -> None:
        await self.db.write(set_capture_sync, on)

    async def pending(self, limit: int = 200) -> list[OutboxEntry]:
        return await self.db.read(pending_sync, limit)

    async def ack(self, through: int, rejected: dict[int, str], skipped: tuple[int, ...] = ()) -> int:
        return await self.db.write(ack_sync, through, rejected, self._now(), skipped)

    async def count_attempt(self, first: int, last: int) -> None:
        await self.db.write(count_attempt_sync, first, last)

    async def reject_local(self, seq: int, reason: str) -> None:
        await self.db.write(reject_local_sync, seq, reason)

    async def add_enqueue(self, items: list[dict[str, Any]]) -> int:
        return await self.db.write(add_enqueue_sync, items, self._now())

    async def add_note(self, payload: dict[str, Any], reason: str) -> int:
        return await self.db.write(add_note_sync, payload, reason, self._now())

    async def depth(self) -> tuple[int, float | None]:
        """Entries waiting, and the age in seconds of the oldest (``None`` when none waits)."""
        count, oldest = await self.db.read(depth_sync)
        when = from_iso(oldest)
        age = max((self.clock.now() - when).total_seconds(), 0.0) if when is not None else None
        return count, age

    async def listing(self, limit: int = 100) -> dict[str, Any]:
        return await self.db.read(list_sync, limit)

    async def retry(self, seqs: list[int] | None = None) -> list[tuple[int, int]]:
        return await self.db.write(retry_sync, seqs, self._now())

    async def halt(self, reason: str | None, server_seq: int | None = None) -> None:
        await self.db.write(halt_sync, reason, server_seq)
