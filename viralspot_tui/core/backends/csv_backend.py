"""The CSV queue backend: ``queue.csv`` mirrored into SQLite both ways (docs/queue.md, "CSV file").

Import: when the file changed (by stat; our own writes are recognised) it is parsed and
*merged* (see csv_merge.py and docs/queue-file.md): new usernames are enqueued, operator edits
are applied, and rows identical to a version the console wrote earlier are an old copy that
changes nothing. After a foreign save the file is written back at once, so it shows the queue.
Export: the latest row per username is written back by atomic replace (temp file, fsync,
rename, fsync of the folder), at most every ``csv_sync_seconds`` and at shutdown; a kill at any
moment leaves either the old or the new file, never a torn one. Malformed rows are reported
with line numbers and kept in the file, where they were, for the operator.

Before touching the file the backend checks that it is this data folder's queue file (the
folder remembers the file it works with; ``queue.adopt_queue_file`` switches) and takes the
file's owner lease (queue_owner.py), so two data folders never both work one file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from ...config import ConfigError
from ..atomic_file import FileChanged, remove_stale_temp_files, write_atomic
from ..clock import to_iso
from ..store.outbox_store import set_capture_sync
from .base import BackendState
from .csv_format import ParsedCsv, RowError, parse_csv, render_csv
from .csv_merge import (
    ensure_tables_sync,
    fingerprint,
    merge_rows_sync,
    prune_versions_sync,
    record_versions_sync,
    row_of,
    run_ddl_sync,
)
from .queue_owner import QueueFileBusy, QueueFileOwner

__all__ = ["CsvBackend", "write_atomic", "remove_stale_temp_files"]  # the file helpers are re-exported

log = logging.getLogger("viralspot.csv")
_EXPORT_ATTEMPTS = 3  # an operator saving the file during our write-back: merge theirs, then write again
_BINDING_DDL = """
CREATE TABLE IF NOT EXISTS csv_queue_file (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    path TEXT NOT NULL,
    bound_at TEXT NOT NULL
);
"""


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:  # e.g. a path under a regular file: only the operator can fix it
        raise ConfigError(f"queue file {path} is not usable: {exc.strerror or exc}") from None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _bind_sync(conn: sqlite3.Connection, path: str, adopt: bool, now: str) -> tuple[str | None, str | None]:
    """Remember the data folder's queue file; returns (other file refused, earlier file switched from).

    A different file is refused unless the operator adopts it, or the remembered file is gone
    (then nothing else can be reading it)."""
    run_ddl_sync(conn, _BINDING_DDL)
    ensure_tables_sync(conn)
    prune_versions_sync(conn)
    row = conn.execute("SELECT path FROM csv_queue_file WHERE id = 1").fetchone()
    if row is not None and row[0] == path:
        return None, None
    if row is not None and not adopt and Path(row[0]).exists():
        return row[0], None
    conn.execute(
        "INSERT INTO csv_queue_file (id, path, bound_at) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET path = excluded.path, bound_at = excluded.bound_at",
        (path, now),
    )
    return None, row[0] if row is not None else None


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
    def __init__(self, runtime: Any, path: Path | str | None = None) -> None:
        self.runtime = runtime
        qs = runtime.settings.queue
        self.path = Path(path if path is not None else qs.queue_file)
        self.interval = qs.csv_sync_seconds
        self.adopt = bool(qs.adopt_queue_file)
        self.owner = QueueFileOwner(self.path, runtime.settings.data_dir, runtime.clock, qs.owner_stale_seconds)
        self._file_stat: tuple[int, int, int] | None = None
        self._exported_version: tuple[int, int] | None = None
        self._last_export = 0.0
        self._parsed = ParsedCsv()
        self._reported: set[str] = set()
        self._recorded: dict[str, str] = {}  # username -> fingerprint of the version last recorded
        self._lock = asyncio.Lock()
        self._opened = False
        self._refused = False
        self._lost: str | None = None  # why this runner no longer touches the file
        self.messages: list[str] = []

    # -------------------------------------------------------------- QueueBackend
    async def start(self) -> None:
        """Check the file is this folder's and take its lease, then import and write back.

        Raises :class:`ConfigError` (exit 2) for a file that cannot be used: another folder's,
        owned by another live runner, in a missing folder, unreadable or not replaceable."""
        async with self._lock:
            try:
                await self._open()
                await asyncio.to_thread(remove_stale_temp_files, self.path)
                await self._import(force=True)
                await self._export(force=True, strict=True)
                await self.runtime.db.write(set_capture_sync, False)  # a folder back on CSV: the outbox stops growing
            except ConfigError:
                self._refused = True  # the engine stops; its final stop() must not try again
                if self._opened:
                    self._opened = False
                    await asyncio.to_thread(self.owner.release)
                raise

    async def sync(self) -> None:
        async with self._lock:
            if not self._opened or self._lost is not None:
                return
            if self.owner.renew_due() and not await self._renew():
                return
            if await self._import():
                await self._export(force=True)  # a save from outside: show the queue's truth at once
            elif time.monotonic() - self._last_export >= self.interval:
                await self._export()

    async def stop(self) -> None:
        """Final write-back (and the one-shot sync of a command run without an engine)."""
        async with self._lock:
            if self._refused:
                return
            if not self._opened:
                try:
                    await self._open()
                except ConfigError as exc:  # a command's courtesy sync: say why, change nothing
                    self._note(f"{self.path.name} not updated: {exc}", level="warning")
                    log.warning("%s not updated: %s", self.path, exc)
                    return
            if self._lost is None:
                try:
                    await self._import()
                    await self._export(force=True)
                finally:
                    await asyncio.to_thread(self.owner.release)
            self._opened = False

    def state(self) -> BackendState:
        return BackendState(
            description=f"csv: {self.path}", online=True, outbox_depth=0, messages=tuple(self.messages[-5:])
        )

    @property
    def row_errors(self) -> list[RowError]:
        return list(self._parsed.errors)

    # -------------------------------------------------------------- ownership
    async def _open(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            problem = f"{folder} is not a folder" if folder.exists() else f"the folder {folder} does not exist"
            raise ConfigError(
                f"queue file {self.path} is not usable: {problem}; create it, or choose another --queue-file"
                " (the console does not create folders for it)"
            )
        resolved = str(self.path.resolve())
        other, before = await self.runtime.db.write(_bind_sync, resolved, self.adopt, to_iso(self.runtime.clock.now()))
        if before is not None:
            gone = "" if Path(before).exists() else ", which no longer exists"
            self._note(f"{resolved} is now this data folder's queue file (it worked with {before}{gone})")
        if other is not None:
            raise ConfigError(
                f"the data folder {self.runtime.settings.data_dir} works with the queue file {other}, not {resolved}."
                f" Use --queue-file {other}, or --adopt-queue-file (VIRALSPOT_QUEUE__ADOPT_QUEUE_FILE=1) to make"
                f" {resolved} this folder's queue file"
            )
        taken = await asyncio.to_thread(self.owner.acquire)
        if taken is not None:
            self._note(
                f"{self.path.name}: took over from a runner that is gone (pid {taken.pid} on {taken.host},"
                f" data folder {taken.data_dir})",
                level="warning",
            )
        self._opened = True

    async def _renew(self) -> bool:
        try:
            await asyncio.to_thread(self.owner.renew)
        except QueueFileBusy as exc:
            self._lost = str(exc)
            self._note(f"{self.path.name}: no longer synchronised here: {exc}", level="error")
            return False
        except ConfigError as exc:
            self._note(f"{self.path.name}: could not renew its owner lease: {exc}", level="warning")
        return True

    # -------------------------------------------------------------- import
    async def _import(self, force: bool = False) -> bool:
        """Merge the file when it changed since we last read or wrote it; True when it did."""
        stat = _stat_key(self.path)
        if stat is None or (stat == self._file_stat and not force):
            return False
        try:
            data = await asyncio.to_thread(self.path.read_bytes)
        except OSError as exc:
            raise ConfigError(f"queue file {self.path} cannot be read: {exc.strerror or exc}") from None
        parsed = await asyncio.to_thread(parse_csv, data)
        self._file_stat = stat
        self._parsed = parsed
        for error in parsed.errors:
            if error.key not in self._reported:  # once per bad row, wherever later edits move it
                self._reported.add(error.key)
                self._note(f"{self.path.name} {error} — row skipped, kept in the file", level="warning")
        notes = await self.runtime.db.write(
            merge_rows_sync, parsed.rows, to_iso(self.runtime.clock.now()), self.runtime.settings.queue.max_attempts
        )
        for note in notes:
            self._note(f"{self.path.name} {note}")
        return True

    def _note(self, message: str, level: str = "info") -> None:
        self.messages.append(message)
        del self.messages[:-50]
        self.runtime.events.emit("csv.note", message, level=level)

    # -------------------------------------------------------------- export
    async def _export(self, force: bool = False, strict: bool = False) -> None:
        version = await self.runtime.db.read(_change_counter_sync)
        if not force and version == self._exported_version:
            return
        for _attempt in range(_EXPORT_ATTEMPTS):
            if _stat_key(self.path) != self._file_stat:
                await self._import()
            rows = await self.runtime.db.read(_export_rows_sync)
            await self._record_versions(rows)  # before the write: a kill after it still knows the rows
            if self._parsed.extras:  # operators' own columns travel with their rows
                rows = [{**self._parsed.extras.get(r["username"], {}), **r} for r in rows]
            text = render_csv(rows, self._parsed.extra_columns, self._parsed.anchored_errors())
            merged = self._file_stat
            try:  # replace only the version we merged: a save in between is read first, never overwritten
                written = await asyncio.to_thread(
                    write_atomic,
                    self.path,
                    text,
                    lambda: _stat_key(self.path) == merged,  # noqa: B023
                    make_parents=False,
                )
                break
            except FileChanged:
                continue
            except OSError as exc:
                message = f"queue file {self.path} cannot be replaced: {exc.strerror or exc} (it is rewritten by"
                message += " atomic replace, so its folder must be writable)"
                if strict:
                    raise ConfigError(message) from None
                self._note(message + "; statuses are written back at the next sync", level="warning")
                return
        else:
            self._note(f"{self.path.name} keeps changing; statuses are written back at the next sync", level="warning")
            return
        self._file_stat = (written.st_mtime_ns, written.st_size, written.st_ino)  # ours, not a save after it
        await self.runtime.db.write(_record_snapshot_sync, rows)
        self._exported_version = await self.runtime.db.read(_change_counter_sync)
        self._last_export = time.monotonic()

    async def _record_versions(self, rows: list[dict[str, Any]]) -> None:
        """Remember the versions about to be written that were not recorded yet (see csv_merge.py)."""
        changed = []
        for export_row in rows:
            row = row_of(export_row)
            if row is not None and self._recorded.get(row.username) != (fp := fingerprint(row)):
                changed.append((row, fp))
        if changed:
            await self.runtime.db.write(record_versions_sync, [row for row, _ in changed])
            self._recorded.update((row.username, fp) for row, fp in changed)
