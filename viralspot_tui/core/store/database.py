"""The local SQLite database: one dedicated thread, one hop per operation, group commit.

Why not a chain of aiosqlite awaits: every await is a thread hop (~100 µs measured here), so a
claim written as BEGIN/SELECT/UPDATE/COMMIT costs five hops (``bench_queue_store`` measures an
aiosqlite contender beside this design). Here each store operation is a plain function
``fn(conn, *args)`` executed whole on the database thread.

Writes are batched twice. In the event loop, every write submitted during one loop iteration
(completions and status changes of concurrent items finishing together) joins one batch with
one future, handed to the thread in one step when the iteration ends. On the thread, every
batch waiting is applied in one transaction (group commit), optimistically without
savepoints; only a failing write makes the thread replay the batch with a SAVEPOINT per write
so it is undone alone. A lone write is flushed at the end of the loop iteration that
submitted it, so light load adds no latency. The one exception is a write nobody waits for
yet (a pipeline's checkpoint saves, ``submit_coalesced(..., defer=True)``): it waits up to
``DEFER_SECONDS`` for the next write or read to ride along with, and is flushed at once when
someone awaits it. Items whose answers arrive at different moments otherwise cost one commit
per answer (docs/performance.md, "Deferred checkpoint saves").

The file and its folder are created owner-only (0700/0600). WAL with ``synchronous=NORMAL``:
durable against process crashes (kill -9), the setting the benchmarks use.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .schema import SchemaTooNew, migrate

__all__ = ["Database", "DatabaseClosed", "DatabaseOpenError"]

T = TypeVar("T")
_PENDING_SENTINEL = object()
DEFER_SECONDS = 0.010  # how long a deferred write waits for company (lost on kill -9 like any unflushed write)


class DatabaseClosed(RuntimeError):
    pass


class DatabaseOpenError(RuntimeError):
    """The database cannot be opened: an unusable data folder or a file written by a newer
    viralspot (``configuration``: exit 2), or a damaged file.

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
        self._writes: queue.SimpleQueue[_Batch] = queue.SimpleQueue()
        self._drain_scheduled = threading.Event()
        self._pending: _Batch | None = None  # the loop-side batch still collecting writes
        self.commits = 0
        self.writes = 0
        self.flushes = 0
        self.defer_seconds = DEFER_SECONDS

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
        except SchemaTooNew as exc:
            executor.shutdown(wait=False)
            raise DatabaseOpenError(f"cannot open database {str(self.path)!r}: {exc}", configuration=True) from None
        except sqlite3.DatabaseError as exc:
            executor.shutdown(wait=False)
            raise DatabaseOpenError(f"cannot open database {str(self.path)!r}: {exc}", configuration=False) from None
        self._executor = executor
        return self

    def _open_sync(self) -> sqlite3.Connection:
        conn = connect(self.path)
        try:
            migrate(conn)  # numbered migrations, see core/store/schema.py
        except BaseException:
            conn.close()
            raise
        _secure_side_files(self.path)
        return conn

    async def close(self) -> None:
        if self._executor is None:
            return
        self._flush()
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
        """Run ``fn(conn, *args)`` on the database thread (no transaction is opened).

        Writes this loop submitted before are flushed first, so a read sees them."""
        if self._executor is None or self._conn is None:
            raise DatabaseClosed("the database is closed")
        self._flush()
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(conn, *args))

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` inside a transaction, group-committed with other writes."""
        return await self.submit(fn, *args)

    def submit(self, fn: Callable[..., T], *args: Any) -> "Awaitable[T]":
        """Queue a write *now* and return an awaitable of its result: writes apply in the order
        submitted, so a caller may queue a write and go on, knowing any later write lands after it."""
        batch = self._batch()
        batch.ops.append((fn, args))
        batch.merge = None
        return _Ticket(batch, len(batch.ops) - 1)

    def submit_coalesced(
        self, fn: Callable[[sqlite3.Connection, list[Any]], list[Any]], item: Any, *, defer: bool = False
    ) -> "Awaitable[Any]":
        """Queue ``item`` for ``fn(conn, items)``, joining the previous write of this batch when
        that write is the same ``fn`` (completions of concurrent items finishing together):
        one call, one statement loop and one clock read per flush instead of one per item.

        ``fn`` returns one result per item, in order; a result that is an exception is raised
        to that item's caller alone. Only consecutive writes are joined, so writes still apply
        in the order submitted. ``defer``: nobody waits for this write yet, so it may wait up
        to ``DEFER_SECONDS`` for other writes (module docstring); awaiting it flushes it.
        """
        batch = self._batch(defer=defer)
        if batch.merge is not None and batch.merge[0] is fn and batch.merge[1] == len(batch.ops) - 1:
            items = batch.merge[2]
        else:
            items = []
            batch.ops.append((fn, (items,)))
            batch.merge = (fn, len(batch.ops) - 1, items)
        items.append(item)
        return _Ticket(batch, len(batch.ops) - 1, len(items) - 1)

    def _batch(self, defer: bool = False) -> "_Batch":
        """The loop-side batch collecting this loop iteration's writes (created on first use).

        A batch holding only deferred writes is flushed by a timer; the first write that is not
        deferred makes it flush at the end of this loop iteration instead."""
        if self._executor is None:
            raise DatabaseClosed("the database is closed")
        loop = asyncio.get_running_loop()
        batch = self._pending
        if batch is None or batch.loop is not loop:
            self._flush()
            batch = self._pending = _Batch(loop, self._flush)
            if defer:
                batch.timer = loop.call_later(self.defer_seconds, self._flush_batch, batch)
            else:
                loop.call_soon(self._flush_batch, batch)
        elif not defer and batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
            loop.call_soon(self._flush_batch, batch)
        return batch

    def _flush_batch(self, batch: "_Batch") -> None:
        """Flush ``batch`` if it is still the one collecting (a timer or call_soon may be late)."""
        if self._pending is batch:
            self._flush()

    def _flush(self) -> None:
        """Hand the loop-side batch to the database thread (end of a loop iteration, a read, close)."""
        batch, self._pending = self._pending, None
        if batch is None:
            return
        batch.handed = True
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        if not batch.ops:
            return
        self.flushes += 1
        self._writes.put(batch)
        if not self._drain_scheduled.is_set() and self._executor is not None:
            self._drain_scheduled.set()
            self._executor.submit(self._drain)

    def _drain(self) -> None:
        """On the database thread: apply every queued batch in one transaction.

        Optimistic: the writes run without savepoints. Only if one raises is the transaction
        rolled back and replayed with a SAVEPOINT per write, so the failing one is undone
        alone (write functions are plain SQL over their arguments, so a replay is exact).
        Each batch's one future is resolved with one loop callback per loop.
        """
        self._drain_scheduled.clear()
        batches: list[_Batch] = []
        while True:
            try:
                batches.append(self._writes.get_nowait())
            except queue.Empty:
                break
        if not batches:
            return
        conn = self._conn
        assert conn is not None
        ops = [op for batch in batches for op in batch.ops]
        try:
            results = self._apply(conn, ops, isolate=False)
        except _WriteFailed:
            try:
                results = self._apply(conn, ops, isolate=True)
            except BaseException as exc:  # noqa: BLE001 - the whole transaction failed
                results = [(False, exc)] * len(ops)
        except BaseException as exc:  # noqa: BLE001 - the whole transaction failed
            results = [(False, exc)] * len(ops)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Batch, list[tuple[bool, Any]]]]] = {}
        start = 0
        for batch in batches:
            by_loop.setdefault(batch.loop, []).append((batch, results[start : start + len(batch.ops)]))
            start += len(batch.ops)
        for loop, done in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve_all, done)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass

    def _apply(
        self, conn: sqlite3.Connection, ops: list[tuple[Callable[..., Any], tuple[Any, ...]]], *, isolate: bool
    ) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for fn, args in ops:
                if not isolate:
                    try:
                        results.append((True, fn(conn, *args)))
                    except BaseException as exc:
                        raise _WriteFailed from exc
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    value = fn(conn, *args)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((False, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1
        self.writes += len(ops)
        return results


class _WriteFailed(Exception):
    """A write raised in an optimistic batch: replay the batch with per-write savepoints."""


class _BatchFuture(asyncio.Future):  # type: ignore[type-arg]
    """The one future of a flush, awaited by every write in it.

    Cancelling one awaiter must not cancel its neighbours' writes, so ``cancel`` refuses: a
    cancelled task then receives ``CancelledError`` as soon as the flush is done (the write
    itself was already on its way to the database, exactly as before batching).
    """

    def cancel(self, msg: Any = None) -> bool:
        return False


class _Batch:
    __slots__ = ("loop", "ops", "future", "merge", "timer", "handed", "flush")

    def __init__(self, loop: asyncio.AbstractEventLoop, flush: Callable[[], None]) -> None:
        self.loop = loop
        self.flush = flush  # the database's _flush: awaiting a write of a batch still collecting hands it over
        self.timer: asyncio.TimerHandle | None = None  # set while only deferred writes wait in it
        self.handed = False
        self.ops: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.merge: tuple[Callable[..., Any], int, list[Any]] | None = None  # the last op, if joinable
        self.future: asyncio.Future[list[tuple[bool, Any]]] = _BatchFuture(loop=loop)


class _Ticket:
    """One write's place in a batch: awaiting it waits for the batch and picks its own result."""

    __slots__ = ("batch", "index", "sub")

    def __init__(self, batch: _Batch, index: int, sub: int | None = None) -> None:
        self.batch = batch
        self.index = index
        self.sub = sub  # the item's place in a coalesced write

    def __await__(self) -> Generator[Any, None, Any]:
        if not self.batch.handed and self.batch.timer is not None:  # deferred, and now awaited
            self.batch.flush()
        results = yield from self.batch.future.__await__()
        ok, value = results[self.index]
        if not ok:
            raise value
        if self.sub is not None:
            value = value[self.sub]
            if isinstance(value, BaseException):
                raise value
        return value


def _resolve_all(done: list[tuple[_Batch, list[tuple[bool, Any]]]]) -> None:
    for batch, results in done:
        if not batch.future.done():
            batch.future.set_result(results)
