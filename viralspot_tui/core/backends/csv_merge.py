"""Merging the operator's queue file into the queue: what is an edit, and what is an old copy.

The console rewrites ``queue.csv`` as items progress, while a script or an editor may hold a
copy it read minutes ago. Saving that copy back must not undo the console's progress, and above
all must not re-queue work that finished meanwhile. So every row version the console wrote (or
already merged) is remembered in ``csv_row_versions``, keyed by a fingerprint of its standard
columns (see docs/queue-file.md):

* a row identical to a remembered version is **stale** — an old copy — and changes nothing;
* any other row is the operator's: its edits are the cells that differ from the version it was
  based on — the most recent remembered version with the same progress cells (``status``,
  ``attempts``, ``last_attempt``, ``error_message``), or else with the same ``attempts`` and
  ``last_attempt`` (the operator changed the status and maybe cleared the error);
* a raised or lowered ``priority`` changes an active item; ``PENDING`` over a COMPLETED or FAILED
  version re-queues the name; other statuses cannot be set by hand;
* a name the console wrote and then removed (``queue remove``) leaves the file; a row deleted
  from the file while its item exists is written back, and the note says so.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..clock import to_iso
from ..models.queue import Status
from .csv_format import COLUMNS, CsvRow, neutralize

__all__ = [
    "DDL",
    "ensure_tables_sync",
    "run_ddl_sync",
    "merge_rows_sync",
    "record_versions_sync",
    "fingerprint",
    "row_of",
]

_ACTIVE = ("PENDING", "PROCESSING", "PAUSED")
_FINISHED = ("COMPLETED", "FAILED")
_KEEP_VERSIONS = 32  # per name; a lifetime of claims, retries and pauses fits many times over
_LISTED = 8  # names shown in an aggregated note

DDL = """
CREATE TABLE IF NOT EXISTS csv_row_versions (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    progress TEXT NOT NULL,
    clock TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    UNIQUE (username, fingerprint)
);
CREATE INDEX IF NOT EXISTS csv_row_versions_name ON csv_row_versions(username, id);
"""


@dataclass(frozen=True)
class _Version:
    fingerprint: str
    progress: str
    clock: str
    priority: str
    status: str


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _cells(row: CsvRow) -> tuple[str, ...]:
    return (
        row.username,
        row.source,
        row.priority.value,
        to_iso(row.timestamp) or "",
        row.status.value,
        str(row.attempts),
        to_iso(row.last_attempt) or "",
        row.error_message or "",
        row.request_id or "",
    )


def _version(row: CsvRow) -> _Version:
    c = _cells(row)
    return _Version(_digest(*c), _digest(c[4], c[5], c[6], c[7]), _digest(c[5], c[6]), c[2], c[4])


def fingerprint(row: CsvRow) -> str:
    """The identity of a row version: all standard columns, as the parser reads them."""
    return _version(row).fingerprint


def row_of(export_row: dict[str, Any]) -> CsvRow | None:
    """An exported row as the parser will read it back from the file (``None``: it would not parse)."""
    try:
        return CsvRow.model_validate(
            {c: neutralize("" if export_row.get(c) is None else str(export_row[c])) for c in COLUMNS}
        )
    except ValueError:
        return None


def run_ddl_sync(conn: sqlite3.Connection, ddl: str) -> None:
    """Statement by statement: ``executescript`` would commit the caller's transaction."""
    for statement in ddl.split(";"):
        if statement.strip():
            conn.execute(statement)


def ensure_tables_sync(conn: sqlite3.Connection) -> None:
    run_ddl_sync(conn, DDL)


def record_versions_sync(conn: sqlite3.Connection, rows: list[CsvRow]) -> None:
    """Remember row versions (newest last); a version seen again becomes the newest."""
    conn.executemany(
        "INSERT OR REPLACE INTO csv_row_versions (username, fingerprint, progress, clock, priority, status)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(r.username, v.fingerprint, v.progress, v.clock, v.priority, v.status) for r in rows for v in [_version(r)]],
    )


def prune_versions_sync(conn: sqlite3.Connection) -> None:
    conn.execute(
        "DELETE FROM csv_row_versions WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER"
        " (PARTITION BY username ORDER BY id DESC) AS n FROM csv_row_versions) WHERE n > ?)",
        (_KEEP_VERSIONS,),
    )


def _versions(conn: sqlite3.Connection, name: str) -> list[_Version]:
    rows = conn.execute(
        "SELECT fingerprint, progress, clock, priority, status FROM csv_row_versions WHERE username = ?"
        " ORDER BY id DESC",
        (name,),
    ).fetchall()
    return [_Version(*r) for r in rows]


def _base(versions: list[_Version], mine: _Version) -> _Version | None:
    for same in (lambda v: v.progress == mine.progress, lambda v: v.clock == mine.clock):
        for version in versions:
            if same(version):
                return version
    return None


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


def merge_rows_sync(conn: sqlite3.Connection, rows: list[tuple[int, CsvRow]], now: str, max_attempts: int) -> list[str]:
    """Apply the file's rows to the queue in one transaction; returns notes for the operator."""
    ensure_tables_sync(conn)
    notes: list[str] = []
    seen: set[str] = set()
    operator_rows: list[CsvRow] = []
    not_applied: list[str] = []
    in_last_file = {r[0] for r in conn.execute("SELECT username FROM csv_snapshot")}
    for line, row in rows:
        name = row.username
        if name in seen:
            notes.append(f"line {line}: {name} appears more than once; the first row wins")
            continue
        seen.add(name)
        current = conn.execute(
            "SELECT id, priority, status FROM queue WHERE username = ? ORDER BY id DESC LIMIT 1", (name,)
        ).fetchone()
        versions = _versions(conn, name)
        mine = _version(row)
        known = any(v.fingerprint == mine.fingerprint for v in versions)
        if current is None:
            if known or name in in_last_file:  # we wrote this row, then `queue remove` deleted the name
                notes.append(f"line {line}: {name} was removed from the queue; its row leaves the file")
                continue
            _insert_new(conn, row, now, max_attempts)
            operator_rows.append(row)
            continue
        _, cur_priority, cur_status = current
        if known:  # an old copy of a row we wrote: not an edit
            if (
                versions[0].fingerprint != mine.fingerprint
                and cur_status in _ACTIVE
                and row.priority.value != cur_priority
            ):
                notes.append(
                    f"line {line}: {name} matches an earlier version of its row (an old copy?), so priority"
                    f" {row.priority.value} was not applied; use `viralspot queue bump {name}"
                    f" --priority {row.priority.value.lower()}`"
                )
            continue
        operator_rows.append(row)
        if not _apply_edit(conn, line, row, tuple(current), _base(versions, mine), now, max_attempts, notes):
            not_applied.append(name)
    if not_applied:
        notes.append(
            f"{len(not_applied)} row(s) show a status other than the queue's, from an older or a foreign"
            f" copy of their row, so the queue's status stays: {_listed(not_applied)}. To re-queue a finished"
            " item, change only its status to PENDING, or run `viralspot queue add NAME`"
        )
    notes += _deleted_rows(conn, in_last_file - seen)
    record_versions_sync(conn, operator_rows)
    return notes


def _apply_edit(
    conn: sqlite3.Connection,
    line: int,
    row: CsvRow,
    current: tuple[int, str, str],
    base: _Version | None,
    now: str,
    max_attempts: int,
    notes: list[str],
) -> bool:
    """Apply the cells the operator changed from ``base``; False: its status differs from the
    queue's but is not an edit of a version we wrote (an old or foreign copy)."""
    item_id, cur_priority, cur_status = current
    name, file_priority, file_status = row.username, row.priority.value, row.status.value
    edited_priority = file_priority != base.priority if base is not None else file_priority == "HIGH"
    if edited_priority and file_priority != cur_priority:
        if cur_status in _ACTIVE:
            conn.execute("UPDATE queue SET priority = ?, updated_at = ? WHERE id = ?", (file_priority, now, item_id))
            notes.append(f"line {line}: {name} priority set to {file_priority} from the file")
        else:
            notes.append(f"line {line}: {name} is {cur_status}; priority {file_priority} applies to queued work only")
    if base is None or file_status == base.status:
        return file_status == cur_status or (file_status == "PENDING" and cur_status in _ACTIVE)
    if file_status == "PENDING" and cur_status in _FINISHED:
        conn.execute(
            "INSERT INTO queue (username, priority, status, active, source, max_attempts, created_at, updated_at,"
            " request_id) VALUES (?, ?, 'PENDING', 1, ?, ?, ?, ?, ?)",
            (name, file_priority, row.source, max_attempts, now, now, row.request_id),
        )
        notes.append(f"line {line}: {name} re-queued from the file")
    elif file_status != "PENDING" and file_status != cur_status:
        notes.append(
            f"line {line}: {name} status {file_status} ignored: by hand only PENDING can be set,"
            " to re-queue a COMPLETED or FAILED item"
        )
    return True


def _insert_new(conn: sqlite3.Connection, row: CsvRow, now: str, max_attempts: int) -> None:
    status = row.status.value if row.status in (Status.COMPLETED, Status.FAILED) else "PENDING"
    conn.execute(
        "INSERT INTO queue (username, priority, status, active, source, attempts, max_attempts, last_error,"
        " created_at, updated_at, completed_at, request_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            row.username,
            row.priority.value,
            status,
            1 if status == "PENDING" else None,  # migration 8: the one-active-row-per-name flag
            row.source,
            min(row.attempts, max_attempts) if status != "PENDING" else 0,
            max_attempts,
            row.error_message,
            to_iso(row.timestamp) or now,
            now,
            now if status == "COMPLETED" else None,
            row.request_id,
        ),
    )


def _deleted_rows(conn: sqlite3.Connection, missing: set[str]) -> list[str]:
    """Rows of existing items that are gone from the file: the file mirrors the queue, so they come back."""
    if not missing:
        return []
    queued: list[str] = []
    finished: list[str] = []
    for name in sorted(missing):
        item = conn.execute("SELECT status FROM queue WHERE username = ? ORDER BY id DESC LIMIT 1", (name,)).fetchone()
        if item is not None:
            (queued if item[0] in _ACTIVE else finished).append(name)
    notes = []
    if queued:
        notes.append(
            f"{len(queued)} queued item(s) are missing from the file and are written back (deleting a row does"
            f" not remove an item; run `viralspot queue remove NAME`): {_listed(queued)}"
        )
    if finished:
        notes.append(
            f"{len(finished)} finished item(s) are missing from the file and are written back (the file lists"
            f" every item): {_listed(finished)}"
        )
    return notes
