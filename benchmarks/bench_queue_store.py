"""Queue store drain rate: claim+complete items/s through QueueStore's public async API.

Contenders, all on the same disk (a temp dir under $VIRALSPOT_BENCH_DIR, default /tmp), in
the same run, each on its own fresh file, each filled with N items first (enqueue time is
not measured), then drained and timed:

* ours   — QueueStore on Database (WAL, synchronous=NORMAL, the Database's own pragmas).
           Worker shape: W concurrent workers, each claims a batch of B LOW items and
           completes them concurrently (asyncio.gather of complete(), which group-commit).
* raw    — plain sqlite3, same pragmas, one claim (autocommit ``UPDATE … RETURNING``) and one
           ack (autocommit ``UPDATE``) per transaction: the honest single-item bar.
* aiosqlite — the same schema, claim (``UPDATE … RETURNING`` of a batch) and batched fenced
           completion as ours, written against aiosqlite: the measured reason for the
           dedicated database thread (every aiosqlite await is a thread hop).
* persist-queue SQLiteAckQueue (get + ack), huey SqliteStorage (enqueue/dequeue),
  litequeue (put, pop, done). Peers are switched to synchronous=NORMAL too, so every
  contender has the same durability; two of them degrade O(N) per pop, so a peer's drain is
  capped at a time budget and its rate is taken over what it drained (an upper bound: the
  first pops are its fastest). huey has no ack: dequeue deletes the row, so it does less work
  per item than the others.

Figures: items/s of each, ours ÷ best peer (bar ≥ 3) and ours ÷ raw (bar ≥ 1).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ._common import Row, fmt_rate, temp_dir

NAME = "queue store"
BATCH = 128
WORKERS = 2
ENQUEUE_CHUNK = 5000


# --------------------------------------------------------------------------- ours
async def _ours_async(path: Path, n: int, batch: int, workers: int) -> tuple[float, int, dict[str, int]]:
    from viralspot_tui.core.models.queue import Priority
    from viralspot_tui.core.store.database import Database
    from viralspot_tui.core.store.queue_store import QueueStore

    db = await Database(path / "viralspot.db").open()
    try:
        store = QueueStore(db, instance_id="bench")
        for start in range(0, n, ENQUEUE_CHUNK):
            await store.enqueue(
                [f"user_{i}" for i in range(start, min(n, start + ENQUEUE_CHUNK))], Priority.LOW, source="bench"
            )
        commits0, writes0 = db.commits, db.writes
        done = 0

        async def worker() -> None:
            nonlocal done
            while True:
                items = await store.claim(Priority.LOW, batch, 300.0)
                if not items:
                    return
                await asyncio.gather(*(store.complete(item) for item in items))
                done += len(items)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - t0
        counts = await store.counts()
        completed = sum(v for (p, s), v in counts.items() if s.value == "COMPLETED")
        if completed != n or done != n:
            raise RuntimeError(f"ours: drained {done}, COMPLETED {completed}, expected {n}")
        return elapsed, done, {"commits": db.commits - commits0, "writes": db.writes - writes0}
    finally:
        await db.close()


def run_ours(path: Path, n: int, batch: int = BATCH, workers: int = WORKERS) -> tuple[float, dict[str, int]]:
    elapsed, done, info = asyncio.run(_ours_async(path, n, batch, workers))
    return done / elapsed, info


# --------------------------------------------------------------------------- aiosqlite
async def _fill_ours(path: Path, n: int) -> None:
    """A real viralspot database (every migration) holding ``n`` LOW items."""
    from viralspot_tui.core.models.queue import Priority
    from viralspot_tui.core.store.database import Database
    from viralspot_tui.core.store.queue_store import QueueStore

    async with Database(path / "viralspot.db") as db:
        store = QueueStore(db, instance_id="bench")
        for start in range(0, n, ENQUEUE_CHUNK):
            await store.enqueue(
                [f"user_{i}" for i in range(start, min(n, start + ENQUEUE_CHUNK))], Priority.LOW, source="bench"
            )


async def _aiosqlite_async(path: Path, n: int, batch: int, workers: int) -> tuple[float, int]:
    """The same work as ours, written the usual way against aiosqlite: our schema and pragmas,
    our claim (one autocommit ``UPDATE … RETURNING`` of a batch, rows turned into items) and
    a batched fenced completion (``executemany`` in one explicit transaction). Each await is
    a hop to aiosqlite's thread; the two workers' transactions are serialised by a lock."""
    import aiosqlite

    from viralspot_tui.core.clock import to_iso
    from viralspot_tui.core.store.queue_reads import ITEM_COLUMNS, row_to_item

    await _fill_ours(path, n)
    claim = (
        "UPDATE queue SET status = 'PROCESSING', lease_owner = ? || ':' || id, lease_expires_at = ?,"
        " attempts = attempts + 1, updated_at = ? WHERE id IN (SELECT id FROM queue WHERE priority = 'LOW'"
        " AND status IN ('PENDING','PAUSED') AND (not_before IS NULL OR not_before <= ?)"
        f" ORDER BY claim_rank, id LIMIT ?) RETURNING {ITEM_COLUMNS}"
    )
    complete = (
        "UPDATE queue SET status = 'COMPLETED', completed_at = ?, updated_at = ?, last_error = NULL,"
        " lease_owner = NULL, lease_expires_at = NULL, not_before = NULL"
        " WHERE id = ? AND lease_owner = ? AND status = 'PROCESSING'"
    )
    conn = await aiosqlite.connect(str(path / "viralspot.db"), isolation_level=None)
    try:
        for pragma in ("synchronous=NORMAL", "busy_timeout=10000", "cache_size=-65536", "temp_store=MEMORY"):
            await conn.execute(f"PRAGMA {pragma}")
        tx = asyncio.Lock()  # one connection: a transaction must not interleave with another's
        done = 0

        async def worker(w: int) -> None:
            nonlocal done
            seq = 0
            while True:
                seq += 1
                now = to_iso(datetime.now(UTC))
                async with tx:
                    rows = await conn.execute_fetchall(claim, (f"bench:{w}:{seq}", now, now, now, batch))
                items = [row_to_item(r) for r in rows]
                if not items:
                    return
                now = to_iso(datetime.now(UTC))
                async with tx:
                    await conn.execute("BEGIN IMMEDIATE")
                    await conn.executemany(complete, [(now, now, i.id, i.lease_owner) for i in items])
                    await conn.execute("COMMIT")
                done += len(items)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(workers)))
        elapsed = time.perf_counter() - t0
        left = list(await conn.execute_fetchall("SELECT COUNT(*) FROM queue WHERE status != 'COMPLETED'"))[0][0]
    finally:
        await conn.close()
    if done != n or left:
        raise RuntimeError(f"aiosqlite: drained {done} of {n}, {left} not completed")
    return elapsed, done


def run_aiosqlite(path: Path, n: int, batch: int = BATCH, workers: int = WORKERS) -> float:
    elapsed, done = asyncio.run(_aiosqlite_async(path, n, batch, workers))
    return done / elapsed


# --------------------------------------------------------------------------- raw sqlite3
def run_raw(path: Path, n: int, budget: float | None = None) -> tuple[float, int]:
    from viralspot_tui.core.store.database import connect  # the same pragmas as the Database

    conn = connect(path / "raw.db")
    conn.execute(
        "CREATE TABLE q (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, status INTEGER NOT NULL,"
        " owner TEXT, updated REAL)"
    )
    conn.execute("CREATE INDEX q_pending ON q(id) WHERE status = 0")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO q (payload, status) VALUES (?, 0)", ((f"user_{i}",) for i in range(n)))
    conn.execute("COMMIT")
    claim = (
        "UPDATE q SET status = 1, owner = ?, updated = ? WHERE id = "
        "(SELECT id FROM q WHERE status = 0 ORDER BY id LIMIT 1) RETURNING id, payload"
    )
    ack = "UPDATE q SET status = 2, owner = NULL, updated = ? WHERE id = ? AND owner = ? AND status = 1"
    done = 0
    t0 = time.perf_counter()
    while True:
        row = conn.execute(claim, ("w", time.time())).fetchone()
        if row is None:
            break
        conn.execute(ack, (time.time(), row[0], "w"))
        done += 1
    elapsed = time.perf_counter() - t0
    conn.close()
    if done != n:
        raise RuntimeError(f"raw: drained {done} of {n}")
    return done / elapsed, done


# --------------------------------------------------------------------------- peers
def _drain_timed(get_ack: Callable[[], bool], n: int, budget: float) -> tuple[float, int]:
    done = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    while done < n:
        if not get_ack():
            break
        done += 1
        if (done & 63) == 0 and time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - t0
    return done / elapsed, done


def run_persist_queue(path: Path, n: int, budget: float, normal: bool = True) -> tuple[float, int]:
    from persistqueue import SQLiteAckQueue

    q = SQLiteAckQueue(str(path / "pq"), auto_commit=True, multithreading=False)
    for conn in (q._getter, q._putter):  # same durability as ours (its default is FULL)
        if conn is not None and normal:
            conn.execute("PRAGMA synchronous=NORMAL")
    for i in range(n):
        q.put(f"user_{i}")

    def get_ack() -> bool:
        try:
            item = q.get(block=False)
        except Exception:  # persistqueue.Empty
            return False
        q.ack(item)
        return True

    try:
        return _drain_timed(get_ack, n, budget)
    finally:
        q.close() if hasattr(q, "close") else None


def run_huey(path: Path, n: int, budget: float, normal: bool = True) -> tuple[float, int]:
    from huey.storage import SqliteStorage

    class NormalSync(SqliteStorage):  # same durability as ours (huey's default leaves FULL)
        def _create_connection(self):  # type: ignore[override]
            conn = super()._create_connection()
            if normal:
                conn.execute("PRAGMA synchronous=NORMAL")
            return conn

    storage = NormalSync(name="bench", filename=str(path / "huey.db"))
    for i in range(n):
        storage.enqueue(f"user_{i}".encode(), priority=0)

    def get_ack() -> bool:
        return storage.dequeue() is not None

    try:
        return _drain_timed(get_ack, n, budget)
    finally:
        storage.close()


def run_litequeue(path: Path, n: int, budget: float, normal: bool = True) -> tuple[float, int]:
    from litequeue import LiteQueue

    q = LiteQueue(str(path / "lite.db"))  # sets WAL + synchronous=NORMAL itself
    for i in range(n):
        q.put(f"user_{i}")

    def get_ack() -> bool:
        msg = q.pop()
        if msg is None:
            return False
        q.done(msg.message_id)
        return True

    try:
        return _drain_timed(get_ack, n, budget)
    finally:
        q.close()


# --------------------------------------------------------------------------- entry point
PEERS = (
    ("persist-queue SQLiteAckQueue", run_persist_queue),
    ("huey SqliteStorage", run_huey),
    ("litequeue", run_litequeue),
)


def _fresh(root: Path, name: str) -> Path:
    sub = root / name
    if sub.exists():
        shutil.rmtree(sub)
    sub.mkdir()
    return sub


def run(quick: bool = False) -> list[Row]:
    """Interleaved rounds (shared, noisy machines): each contender's figure is its median."""
    n = 10_000 if quick else 100_000
    rounds = 1 if quick else 3
    budget = 5.0 if quick else 20.0
    rates: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    info: dict[str, int] = {}
    with temp_dir("queue") as root:
        for _ in range(rounds):
            for label, fn in PEERS:
                rate, done = fn(_fresh(root, "peer"), n, budget)
                rates.setdefault(label, []).append(rate)
                if done < n:
                    notes[label] = f" (capped: drained {done:,} of {n:,} in {budget:.0f}s)"
            rates.setdefault("raw", []).append(run_raw(_fresh(root, "raw"), n)[0])
            rates.setdefault("aiosqlite", []).append(run_aiosqlite(_fresh(root, "aio"), n))
            rate, info = run_ours(_fresh(root, "ours"), n)
            rates.setdefault("ours", []).append(rate)
        # The peers as shipped (their own durability defaults), once, for scale.
        default_rates = {}
        for label, fn in PEERS:
            rate, done = fn(_fresh(root, "peer"), n, budget / 2, normal=False)
            default_rates[label] = (rate, "" if done >= n else f" (capped: {done:,} of {n:,})")
    med = {k: statistics.median(v) for k, v in rates.items()}
    ours, raw, aio = med["ours"], med["raw"], med["aiosqlite"]
    peers = {k: med[k] for k, _ in PEERS}
    best_label = max(peers, key=peers.__getitem__)
    best_default = max(default_rates, key=lambda k: default_rates[k][0])
    spread = lambda k: "" if rounds == 1 else " [" + ", ".join(fmt_rate(x) for x in rates[k]) + "]"
    rows = [
        Row(
            NAME,
            f"ours claim+complete items/s, N={n:,}, batch {BATCH} x {WORKERS} workers "
            f"({info['commits']:,} commits / {info['writes']:,} write calls)",
            fmt_rate(ours) + spread("ours"),
        ),
        Row(NAME, "raw sqlite3, 1 claim + 1 ack per txn, items/s", fmt_rate(raw) + spread("raw")),
        Row(
            NAME,
            f"aiosqlite, same schema, batch claim (UPDATE … RETURNING) + batched ack, batch {BATCH} x {WORKERS}, items/s",
            fmt_rate(aio) + spread("aiosqlite"),
        ),
    ]
    for label in peers:
        rows.append(
            Row(NAME, f"{label} @NORMAL, items/s{notes.get(label, '')}", fmt_rate(peers[label]) + spread(label))
        )
    for label, (rate, note) in default_rates.items():
        rows.append(Row(NAME, f"{label} @its default sync, items/s{note}", fmt_rate(rate)))
    rows.append(
        Row(
            NAME,
            f"ours / best peer at equal durability ({best_label}; huey deletes on dequeue, no ack)",
            f"{ours / peers[best_label]:.2f}x",
            ">= 3x",
            ours / peers[best_label] >= 3,
        )
    )
    rows.append(
        Row(
            NAME,
            f"ours / best peer at its defaults ({best_default})",
            f"{ours / default_rates[best_default][0]:.2f}x",
            ">= 3x",
            ours / default_rates[best_default][0] >= 3,
        )
    )
    rows.append(Row(NAME, "ours / raw 1-per-txn", f"{ours / raw:.2f}x", ">= 1x", ours / raw >= 1))
    rows.append(Row(NAME, "ours / aiosqlite (same SQL; why the dedicated database thread)", f"{ours / aio:.2f}x"))
    return rows


if __name__ == "__main__":
    import sys

    for row in run("--quick" in sys.argv):
        print(row)
