"""The local mirror of remotely leased items: the SQL the Supabase backend runs on SQLite.

A claimed remote item becomes a local queue row plus a ``supabase_mirror`` row holding its
remote id and lease token (SQLite migration 0004). The processors see only the local row; these
functions move rows between the two worlds (docs/supabase.md, "The local mirror"). Each runs on
the database thread inside one transaction.
"""

from __future__ import annotations

import sqlite3

from .supabase_client import RemoteRow

__all__ = [
    "PARKED",
    "ended_sync",
    "held_sync",
    "mark_pushed_sync",
    "drop_lost_sync",
    "insert_claimed_sync",
    "FORWARD",
    "unforwarded_sync",
    "forwarded_sync",
]

PARKED = "9999-12-31T00:00:00.000000+00:00"  # a local row whose remote item went back to the server
FORWARD = "9999-12-30T00:00:00.000000+00:00"  # a row added here, not yet sent to the shared queue


def ended_sync(conn: sqlite3.Connection) -> list[tuple[int, str, str, str | None, int, int]]:
    return conn.execute(
        "SELECT m.local_id, m.token, q.status, q.last_error, q.attempts, m.claimed_attempts"
        " FROM supabase_mirror m JOIN queue q ON q.id = m.local_id"
        " WHERE m.ended IS NOT NULL AND m.pushed = 0 AND q.status <> 'PROCESSING'"
    ).fetchall()


def held_sync(conn: sqlite3.Connection) -> list[tuple[int, str, str, str]]:
    """Mirrored rows whose remote lease is still ours: (local id, token, local status, priority)."""
    return conn.execute(
        "SELECT m.local_id, m.token, q.status, q.priority FROM supabase_mirror m JOIN queue q ON q.id = m.local_id"
        " WHERE m.pushed = 0 AND (m.ended IS NULL OR q.status IN ('PENDING','PAUSED','PROCESSING'))"
    ).fetchall()


def mark_pushed_sync(conn: sqlite3.Connection, local_ids: list[int], park: list[int]) -> None:
    conn.executemany("DELETE FROM supabase_mirror WHERE local_id = ?", [(i,) for i in local_ids])
    conn.executemany(
        "UPDATE queue SET not_before = ? WHERE id = ? AND status IN ('PENDING','PAUSED')", [(PARKED, i) for i in park]
    )


def drop_lost_sync(conn: sqlite3.Connection, tokens: list[str]) -> list[str]:
    names: list[str] = []
    for token in tokens:
        row = conn.execute("SELECT local_id, username FROM supabase_mirror WHERE token = ?", (token,)).fetchone()
        if row is None:
            continue
        conn.execute("DELETE FROM supabase_mirror WHERE local_id = ?", (row[0],))
        conn.execute("DELETE FROM queue WHERE id = ? AND status <> 'COMPLETED'", (row[0],))
        names.append(row[1])
    return names


def insert_claimed_sync(conn: sqlite3.Connection, rows: list[RemoteRow], now: str) -> int:
    """Mirror claimed rows as local PENDING rows (reusing a parked local row of the same name)."""
    for r in rows:
        attempts = max(r.attempts - 1, 0)  # the local claim counts the attempt the server counted
        local = conn.execute(
            "SELECT id FROM queue WHERE username = ? AND status IN ('PENDING','PROCESSING','PAUSED')", (r.username,)
        ).fetchone()
        if local is None:
            local_id = conn.execute(
                "INSERT INTO queue (username, priority, status, active, source, attempts, max_attempts, created_at,"
                " updated_at) VALUES (?, ?, 'PENDING', 1, ?, ?, ?, ?, ?)",
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


def unforwarded_sync(conn: sqlite3.Connection) -> list[tuple[int, str, str, str, int]]:
    """Rows added here (the crawler) that wait to be forwarded to the shared queue."""
    return conn.execute(
        "SELECT id, username, priority, source, max_attempts FROM queue"
        " WHERE status = 'PENDING' AND not_before = ? ORDER BY id LIMIT 500",
        (FORWARD,),
    ).fetchall()


def forwarded_sync(conn: sqlite3.Connection, local_ids: list[int]) -> None:
    """Forwarded rows are parked: the shared queue is their home now, and they run here only
    when a claim brings them back (which may go to another console). Parked, they still count as
    known names for the crawler's dedup."""
    conn.executemany(
        "UPDATE queue SET not_before = ? WHERE id = ? AND status = 'PENDING' AND not_before = ?",
        [(PARKED, i, FORWARD) for i in local_ids],
    )
