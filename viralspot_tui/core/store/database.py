"""The local SQLite database: one dedicated thread, one hop per operation, group commit.

Why not a chain of aiosqlite awaits: every await is a thread hop (~100 µs measured here), so a
claim written as BEGIN/SELECT/UPDATE/COMMIT costs five hops. Here each store operation is a
plain function ``fn(conn, *args)`` executed whole on the database thread (SPEC Q11). Writes are
queued and the thread drains *all* queued writes into one transaction, each inside its own
SAVEPOINT so one failing write cannot undo its neighbours: group commit for free, with no
added latency when the load is light.

The file and its folder are created owner-only (0700/0600). WAL with ``synchronous=NORMAL``:
durable against process crashes (kill -9), the setting the benchmarks use.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .schema import apply_schema

__all__ = ["Database", "DatabaseClosed", "DatabaseOpenError"]

T = TypeVar("T")
_PENDING_SENTINEL = object()


class DatabaseClosed(RuntimeError):
    pass


class DatabaseOpenError(RuntimeError):
    """The database cannot be opened: an unusable data folder (``configuration``) or a damaged file.

    The message names the path and the cause, so front ends print it instead of a traceback.
    """

    def __init__(self, message: str, *, configuration: bool) -> None:
        super().__init__(message)
        self.configuration = configuration


def _secure_path(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(path.parent, 0o700)
    except PermissionError:
        pass
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
    _secure_side_files(path)


def _secure_side_files(path: Path) -> None:
    """-wal/-shm (and a rollback -journal) hold database pages too: owner-only like the file."""
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(str(path) + suffix)
        try:
            if side.exists() and side.stat().st_mode & 0o077:
                os.chmod(side, 0o600)
        except OSError:
            pass


def connect(path: Path | str) -> sqlite3.Connection:
    """Open a connection with the project's pragmas (also used by benchmarks and tests)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")
    except BaseException:
        conn.close()
        raise
    return conn


class Database:
    """Async facade over one sqlite3 connection owned by one thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._writes: queue.SimpleQueue[
            tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], asyncio.AbstractEventLoop]
        ] = queue.SimpleQueue()
        self._drain_scheduled = threading.Event()
        self.commits = 0
        self.writes = 0

    async def open(self) -> "Database":
        try:
            _secure_path(self.path)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DatabaseOpenError(
                f"cannot use data folder {str(self.path.parent)!r}: {reason}", configuration=True
            ) from None
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viralspot-db")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(executor, self._open_sync)
        except sqlite3.DatabaseError as exc:
            executor.shutdown(wait=False)
            raise DatabaseOpenError(f"cannot open database {str(self.path)!r}: {exc}", configuration=False) from None
        self._executor = executor
        return self

    def _open_sync(self) -> sqlite3.Connection:
        conn = connect(self.path)
        try:
            apply_schema(conn)
        except BaseException:
            conn.close()
            raise
        _secure_side_files(self.path)
        return conn

    async def close(self) -> None:
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        loop = asyncio.get_running_loop()
        conn = self._conn
        if conn is not None:
            await loop.run_in_executor(executor, self._drain)
            await loop.run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)
        self._conn = None

    async def __aenter__(self) -> "Database":
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        return self._executor is not None

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the database thread (no transaction is opened)."""
        if self._executor is None or self._conn is None:
            raise DatabaseClosed("the database is closed")
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(conn, *args))

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` inside a transaction, group-committed with other writes."""
        return await self.submit(fn, *args)

    def submit(self, fn: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
        """Queue a write *now* and return its future: writes apply in the order submitted, so a
        caller may queue a write and go on, knowing any later write lands after it."""
        if self._executor is None:
            raise DatabaseClosed("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._writes.put((fn, args, future, loop))
        if not self._drain_scheduled.is_set():
            self._drain_scheduled.set()
            loop.run_in_executor(self._executor, self._drain)
        return future

    def _drain(self) -> None:
        """On the database thread: apply every queued write in one transaction.

        Optimistic: the batch runs without savepoints. Only if a write raises is the batch
        rolled back and replayed with a SAVEPOINT per write, so the failing one is undone
        alone (write functions are plain SQL over their arguments, so a replay is exact).
        The awaiting coroutines are woken with one loop callback per batch, not one each.
        """
        self._drain_scheduled.clear()
        batch = []
        while True:
            try:
                batch.append(self._writes.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        conn = self._conn
        assert conn is not None
        try:
            results = self._apply(conn, batch, isolate=False)
        except _WriteFailed:
            try:
                results = self._apply(conn, batch, isolate=True)
            except BaseException as exc:  # noqa: BLE001 - the whole transaction failed
                results = [(future, False, exc) for _, _, future, _ in batch]
        except BaseException as exc:  # noqa: BLE001 - the whole transaction failed
            results = [(future, False, exc) for _, _, future, _ in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, _, _, loop), result in zip(batch, results):
            by_loop.setdefault(loop, []).append(result)
        for loop, items in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, items)

    def _apply(
        self, conn: sqlite3.Connection, batch: list[Any], *, isolate: bool
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for fn, args, future, _ in batch:
                if not isolate:
                    try:
                        results.append((future, True, fn(conn, *args)))
                    except BaseException as exc:
                        raise _WriteFailed from exc
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    value = fn(conn, *args)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, False, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((future, True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1
        self.writes += len(batch)
        return results


class _WriteFailed(Exception):
    """A write raised in an optimistic batch: replay the batch with per-write savepoints."""


def _resolve_all(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        _resolve(future, ok, value)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
