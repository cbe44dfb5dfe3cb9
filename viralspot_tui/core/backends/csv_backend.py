"""The CSV queue backend: ``queue.csv`` mirrored into SQLite both ways (SPEC Q9).

Import: when the file changed (by stat; our own writes are recognised) it is parsed and
*merged*: new usernames are enqueued, and edits the operator made since our last write are
applied — detected by comparing each row with ``csv_snapshot``, the values we last wrote.
A raised or lowered priority changes the active item; ``PENDING`` written over a COMPLETED or
FAILED row re-queues it; a row we wrote whose name was since removed (``queue remove``) is
dropped, not re-added. Export: the latest row per username is written back by atomic
replace (temp file, fsync, rename, fsync of the folder), at most every ``csv_sync_seconds``
and at shutdown; a kill at any moment leaves either the old or the new file, never a torn
one. Malformed rows are reported with line numbers and kept in the file, where they were, for the
operator.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..atomic_file import FileChanged, remove_stale_temp_files, write_atomic
from ..clock import to_iso
from ..models.queue import Status
from .base import BackendState
from .csv_format import CsvRow, ParsedCsv, RowError, parse_csv, render_csv

__all__ = ["CsvBackend", "write_atomic", "remove_stale_temp_files"]  # the file helpers are re-exported

log = logging.getLogger("viralspot.csv")
_ACTIVE = ("PENDING", "PROCESSING", "PAUSED")
_EXPORT_ATTEMPTS = 3  # an operator saving the file during our write-back: merge theirs, then write again


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:  # e.g. a path under a regular file: only the operator can fix it
        from ...config import ConfigError

        raise ConfigError(f"queue file {path} is not usable: {exc.strerror or exc}") from None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _merge_sync(conn: sqlite3.Connection, rows: list[tuple[int, CsvRow]], now: str, max_attempts: int) -> list[str]:
    """Apply the file's rows to the queue in one transaction; returns notes for the operator."""
    notes: list[str] = []
    seen: set[str] = set()
    for line, row in rows:
        name = row.username
        if name in seen:
            notes.append(f"line {line}: {name} appears more than once; the first row wins")
            continue
        seen.add(name)
        current = conn.execute(
            "SELECT id, priority, status FROM queue WHERE username = ? ORDER BY id DESC LIMIT 1", (name,)
        ).fetchone()
        snap = conn.execute("SELECT priority, status FROM csv_snapshot WHERE username = ?", (name,)).fetchone()
        if current is None and snap is not None:  # we wrote this row, then `queue remove` deleted the name
            notes.append(f"line {line}: {name} was removed from the queue; its row leaves the file")
            continue
        if current is None:
            status = row.status.value if row.status in (Status.COMPLETED, Status.FAILED) else "PENDING"
            conn.execute(
                "INSERT INTO queue (username, priority, status, source, attempts, max_attempts, last_error,"
                " created_at, updated_at, completed_at, request_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    row.priority.value,
                    status,
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
            continue
        item_id, cur_priority, cur_status = current
        file_priority, file_status = row.priority.value, row.status.value
        edited_priority = snap is None and file_priority == "HIGH" or snap is not None and file_priority != snap[0]
        if edited_priority and cur_status in _ACTIVE and file_priority != cur_priority:
            conn.execute("UPDATE queue SET priority = ?, updated_at = ? WHERE id = ?", (file_priority, now, item_id))
            notes.append(f"line {line}: {name} priority set to {file_priority} from the file")
        if snap is not None and file_status != snap[1]:
            if file_status == "PENDING" and cur_status in ("COMPLETED", "FAILED"):
                conn.execute(
                    "INSERT INTO queue (username, priority, status, source, max_attempts, created_at, updated_at,"
                    " request_id) VALUES (?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                    (name, file_priority, row.source, max_attempts, now, now, row.request_id),
                )
                notes.append(f"line {line}: {name} re-queued from the file")
            elif file_status != cur_status:
                notes.append(f"line {line}: {name} status {file_status} ignored (only PENDING can be set by hand)")
    return notes


def _export_rows_sync(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT username, source, priority, created_at, status, attempts, updated_at, last_error, request_id"
        " FROM queue WHERE id IN (SELECT MAX(id) FROM queue GROUP BY username) ORDER BY id"
    ).fetchall()
    return [
        {
            "username": r[0],
            "source": r[1],
            "priority": r[2],
            "timestamp": r[3],
            "status": r[4],
            "attempts": r[5],
            "last_attempt": r[6] if r[5] else "",
            "error_message": r[7] or "",
            "request_id": r[8] or "",
        }
        for r in rows
    ]


def _record_snapshot_sync(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute("DELETE FROM csv_snapshot")
    conn.executemany(
        "INSERT INTO csv_snapshot (username, priority, status) VALUES (?, ?, ?)",
        [(r["username"], r["priority"], r["status"]) for r in rows],
    )


def _change_counter_sync(conn: sqlite3.Connection) -> tuple[int, int]:
    return (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])


class CsvBackend:
    def __init__(self, runtime: Any, path: Path | str) -> None:
        self.runtime = runtime
        self.path = Path(path)
        self.interval = runtime.settings.queue.csv_sync_seconds
        self._file_stat: tuple[int, int, int] | None = None
        self._exported_version: tuple[int, int] | None = None
        self._last_export = 0.0
        self._parsed = ParsedCsv()
        self._reported: set[str] = set()
        self._lock = asyncio.Lock()
        self.messages: list[str] = []

    # -------------------------------------------------------------- QueueBackend
    async def start(self) -> None:
        async with self._lock:
            await asyncio.to_thread(remove_stale_temp_files, self.path)
            await self._import(force=True)
            await self._export(force=True)

    async def sync(self) -> None:
        async with self._lock:
            await self._import()
            if time.monotonic() - self._last_export >= self.interval:
                await self._export()

    async def stop(self) -> None:
        async with self._lock:
            await self._import()
            await self._export(force=True)

    def state(self) -> BackendState:
        return BackendState(
            description=f"csv: {self.path}", online=True, outbox_depth=0, messages=tuple(self.messages[-5:])
        )

    @property
    def row_errors(self) -> list[RowError]:
        return list(self._parsed.errors)

    # -------------------------------------------------------------- import
    async def _import(self, force: bool = False) -> None:
        stat = _stat_key(self.path)
        if stat is None or (stat == self._file_stat and not force):
            return
        data = await asyncio.to_thread(self.path.read_bytes)
        parsed = await asyncio.to_thread(parse_csv, data)
        self._file_stat = stat
        self._parsed = parsed
        for error in parsed.errors:
            if error.raw not in self._reported:  # once per bad line, wherever later edits move it
                self._reported.add(error.raw)
                self._note(f"{self.path.name} {error} — row skipped, kept in the file", level="warning")
        notes = await self.runtime.db.write(
            _merge_sync, parsed.rows, to_iso(self.runtime.clock.now()), self.runtime.settings.queue.max_attempts
        )
        for note in notes:
            self._note(f"{self.path.name} {note}")

    def _note(self, message: str, level: str = "info") -> None:
        self.messages.append(message)
        del self.messages[:-50]
        self.runtime.events.emit("csv.note", message, level=level)

    # -------------------------------------------------------------- export
    async def _export(self, force: bool = False) -> None:
        version = await self.runtime.db.read(_change_counter_sync)
        if not force and version == self._exported_version:
            return
        for _attempt in range(_EXPORT_ATTEMPTS):
            if _stat_key(self.path) != self._file_stat:
                await self._import()
            rows = await self.runtime.db.read(_export_rows_sync)
            if self._parsed.extras:  # operators' own columns travel with their rows
                rows = [{**self._parsed.extras.get(r["username"], {}), **r} for r in rows]
            text = render_csv(rows, self._parsed.extra_columns, self._parsed.anchored_errors())
            merged = self._file_stat
            try:  # replace only the version we merged: a save in between is read first, never overwritten
                await asyncio.to_thread(write_atomic, self.path, text, lambda: _stat_key(self.path) == merged)  # noqa: B023
                break
            except FileChanged:
                continue
        else:
            self._note(f"{self.path.name} keeps changing; statuses are written back at the next sync", level="warning")
            return
        self._file_stat = _stat_key(self.path)
        await self.runtime.db.write(_record_snapshot_sync, rows)
        self._exported_version = await self.runtime.db.read(_change_counter_sync)
        self._last_export = time.monotonic()
