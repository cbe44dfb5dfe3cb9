"""The SQLite database facade: one thread, group commit, owner-only files (docs/queue.md, "Concurrency", §9, §10)."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest

from viralspot_tui.core.store.database import Database, DatabaseClosed, connect

SPEC_TABLES = {"queue", "primary_profiles", "content", "secondary_profiles", "outbox"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_file_and_folder_are_owner_only(make_db, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "data" / "viralspot.db"
    db = await make_db(path)
    await db.write(lambda c: c.execute("INSERT INTO runtime_state VALUES ('k', 'v', 'now')"))
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            assert mode(side) & 0o077 == 0, suffix


async def test_existing_loose_permissions_are_tightened(make_db, tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "viralspot.db"
    path.touch()
    path.chmod(0o644)
    await make_db(path)
    assert mode(path) == 0o600
    assert mode(folder) == 0o700


async def test_schema_has_the_spec_tables_wal_and_is_idempotent(make_db, tmp_path: Path) -> None:
    path = tmp_path / "data" / "viralspot.db"
    db = await make_db(path)
    tables = set(
        await db.read(lambda c: [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")])
    )
    assert SPEC_TABLES <= tables
    assert await db.read(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    assert await db.read(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 1  # NORMAL
    await db.close()
    again = await make_db(path)  # re-opening applies nothing twice
    assert await again.read(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"


async def test_write_returns_values_and_read_sees_them(db: Database) -> None:
    def put(conn: sqlite3.Connection, key: str, value: str) -> int:
        return conn.execute("INSERT INTO runtime_state VALUES (?, ?, 'now')", (key, value)).rowcount

    assert await db.write(put, "a", "1") == 1
    assert (
        await db.read(lambda c, k: c.execute("SELECT value FROM runtime_state WHERE key=?", (k,)).fetchone()[0], "a")
        == "1"
    )


async def test_group_commit_many_writes_fewer_commits(db: Database) -> None:
    before_commits, before_writes = db.commits, db.writes

    def put(conn: sqlite3.Connection, i: int) -> int:
        conn.execute("INSERT INTO runtime_state VALUES (?, 'v', 'now')", (f"k{i}",))
        return i

    results = await asyncio.gather(*(db.write(put, i) for i in range(300)))
    assert results == list(range(300))
    assert db.writes - before_writes == 300
    assert 1 <= db.commits - before_commits < 300
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM runtime_state").fetchone()[0]) == 300


async def test_a_failing_write_is_rolled_back_alone(db: Database) -> None:
    def put(conn: sqlite3.Connection, key: str) -> None:
        conn.execute("INSERT INTO runtime_state VALUES (?, 'v', 'now')", (key,))

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO runtime_state VALUES ('half', 'v', 'now')")
        raise ValueError("boom")

    outcomes = await asyncio.gather(
        db.write(put, "a"),
        db.write(half_then_fail),
        db.write(put, "b"),
        db.write(put, "a"),  # duplicate key: IntegrityError
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[3], sqlite3.IntegrityError)
    keys = await db.read(lambda c: sorted(r[0] for r in c.execute("SELECT key FROM runtime_state")))
    assert keys == ["a", "b"]


async def test_sql_is_parameterised_payloads_are_data(db: Database) -> None:
    payload = "x'); DROP TABLE queue;--"
    await db.write(lambda c: c.execute("INSERT INTO runtime_state VALUES (?, ?, 'now')", (payload, payload)))
    assert await db.read(lambda c: c.execute("SELECT value FROM runtime_state").fetchone()[0]) == payload
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM queue").fetchone()[0]) == 0


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    db = await Database(tmp_path / "x" / "viralspot.db").open()
    assert db.is_open
    await db.write(lambda c: c.execute("INSERT INTO runtime_state VALUES ('k', 'v', 'now')"))
    await db.close()
    await db.close()  # twice is harmless
    assert not db.is_open
    with pytest.raises(DatabaseClosed):
        await db.read(lambda c: 1)
    with pytest.raises(DatabaseClosed):
        await db.write(lambda c: 1)
    # What was written before close is durable.
    conn = connect(tmp_path / "x" / "viralspot.db")
    try:
        assert conn.execute("SELECT value FROM runtime_state WHERE key='k'").fetchone()[0] == "v"
    finally:
        conn.close()


async def test_two_databases_on_one_file_see_each_others_commits(make_db, tmp_path: Path) -> None:
    path = tmp_path / "shared" / "viralspot.db"
    a, b = await make_db(path), await make_db(path)
    await a.write(lambda c: c.execute("INSERT INTO runtime_state VALUES ('from_a', '1', 'now')"))
    assert await b.read(lambda c: c.execute("SELECT value FROM runtime_state WHERE key='from_a'").fetchone()[0]) == "1"

    def bump(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO runtime_state VALUES ('n', '0', 'now') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1"
        )

    await asyncio.gather(*(db.write(bump) for _ in range(50) for db in (a, b)))
    assert int(await a.read(lambda c: c.execute("SELECT value FROM runtime_state WHERE key='n'").fetchone()[0])) == 99


async def test_writes_of_one_loop_iteration_are_flushed_as_one_batch(db: Database) -> None:
    """Completions of concurrent items finishing together cross to the database thread once."""

    def put(conn: sqlite3.Connection, i: int) -> int:
        conn.execute("INSERT INTO runtime_state VALUES (?, 'v', 'now')", (f"b{i}",))
        return i

    before_flushes, before_commits = db.flushes, db.commits
    tickets = [db.submit(put, i) for i in range(50)]  # one loop iteration
    assert [await t for t in tickets] == list(range(50))
    assert db.flushes - before_flushes == 1
    assert db.commits - before_commits == 1


async def test_a_read_sees_writes_submitted_before_it_in_the_same_iteration(db: Database) -> None:
    db.submit(lambda c: c.execute("INSERT INTO runtime_state VALUES ('seen', 'v', 'now')"))
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM runtime_state WHERE key='seen'").fetchone()[0]) == 1


async def test_cancelling_one_writer_leaves_its_batch_neighbours_alone(db: Database) -> None:
    def put(conn: sqlite3.Connection, key: str) -> str:
        conn.execute("INSERT INTO runtime_state VALUES (?, 'v', 'now')", (key,))
        return key

    tasks = [asyncio.ensure_future(db.write(put, k)) for k in ("x", "y", "z")]
    await asyncio.sleep(0)  # all three are waiting on the same flush
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert done[0] == "x" and done[2] == "z" and isinstance(done[1], asyncio.CancelledError)
    keys = await db.read(lambda c: {r[0] for r in c.execute("SELECT key FROM runtime_state")})
    assert {"x", "y", "z"} <= keys  # the cancelled caller's write was already on its way
