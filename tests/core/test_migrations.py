"""Numbered schema migrations (core/store/schema.py, docs/schema.md).

A database from the release without schema versions (built here from a verbatim copy of that
release's DDL, ``fixtures/schema_v0.sql``) is upgraded in place; a newer one is refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from viralspot_tui.core.store.database import Database, DatabaseOpenError
from viralspot_tui.core.store.schema import latest_version, migrations, split_statements

V0_DDL = (Path(__file__).parent / "fixtures" / "schema_v0.sql").read_text(encoding="utf-8")
NOW = "2026-11-30T10:00:00.000000+00:00"


def _build_v0(path: Path, *, rows: bool = True) -> None:
    """A viralspot.db as the current release leaves it: all tables, user_version 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(V0_DDL)
    if rows:
        conn.executemany(
            "INSERT INTO queue (username, priority, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [
                ("alice", "HIGH", "PENDING", NOW, NOW),
                ("bob", "LOW", "PENDING", NOW, NOW),
                ("carol", "LOW", "COMPLETED", NOW, NOW),
                ("dave", "LOW", "FAILED", NOW, NOW),
            ],
        )
        conn.execute(
            "INSERT INTO viral_ideas_queue (primary_username, status, created_at, updated_at)"
            " VALUES ('alice', 'pending', ?, ?)",
            (NOW, NOW),
        )
        conn.execute(
            "INSERT INTO crawler_requests (seeds, target, max_rounds, created_at, updated_at)"
            " VALUES ('[\"alice\"]', 5, 2, ?, ?)",
            (NOW, NOW),
        )
        conn.execute("INSERT INTO runtime_state VALUES ('paused', '[\"viral\"]', ?)", (NOW,))
        conn.commit()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()


def _objects(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}


def test_migrations_are_numbered_and_the_first_is_todays_schema(tmp_path: Path) -> None:
    assert [m.version for m in migrations()] == list(range(1, latest_version() + 1))
    fresh = sqlite3.connect(":memory:")
    for statement in migrations()[0].statements:
        fresh.execute(statement)
    legacy = sqlite3.connect(":memory:")
    legacy.executescript(V0_DDL)
    sql = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    assert fresh.execute(sql).fetchall() == legacy.execute(sql).fetchall()


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    script = "-- c\nCREATE TABLE t (a);\n\nCREATE TRIGGER x AFTER INSERT ON t BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n"
    statements = split_statements(script)
    assert len(statements) == 2 and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (a")


async def test_a_database_from_the_unversioned_release_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "data" / "viralspot.db"
    _build_v0(path)
    async with Database(path) as db:
        version = await db.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        queue = await db.read(
            lambda c: c.execute("SELECT username, priority, status FROM queue ORDER BY id").fetchall()
        )
        jobs = await db.read(lambda c: c.execute("SELECT primary_username FROM viral_ideas_queue").fetchall())
        crawls = await db.read(lambda c: c.execute("SELECT seeds, target FROM crawler_requests").fetchall())
        state = await db.read(lambda c: c.execute("SELECT value FROM runtime_state WHERE key='paused'").fetchone())
        counts = await db.read(
            lambda c: c.execute("SELECT priority, status, n FROM queue_counts WHERE n > 0 ORDER BY 1, 2").fetchall()
        )
        await db.write(
            lambda c: c.execute(
                "INSERT INTO queue (username, priority, status, created_at, updated_at)"
                " VALUES ('erin', 'HIGH', 'PENDING', ?, ?)",
                (NOW, NOW),
            )
        )
        active = await db.read(lambda c: c.execute("SELECT username, active FROM queue ORDER BY id").fetchall())
        with pytest.raises(sqlite3.IntegrityError, match="queue.username"):  # one active row per name
            await db.write(
                lambda c: c.execute(
                    "INSERT INTO queue (username, priority, status, created_at, updated_at)"
                    " VALUES ('bob', 'HIGH', 'PAUSED', ?, ?)",
                    (NOW, NOW),
                )
            )
    # migration 8 flagged the rows that were active, and its trigger flags a row inserted without it
    assert [tuple(r) for r in active] == [("alice", 1), ("bob", 1), ("carol", None), ("dave", None), ("erin", 1)]
    assert version == latest_version() >= 2
    assert [tuple(r) for r in queue] == [
        ("alice", "HIGH", "PENDING"),
        ("bob", "LOW", "PENDING"),
        ("carol", "LOW", "COMPLETED"),
        ("dave", "LOW", "FAILED"),
    ]
    assert [tuple(r) for r in jobs] == [("alice",)]
    assert [tuple(r) for r in crawls] == [('["alice"]', 5)]
    assert state[0] == '["viral"]'
    # migration 2 counted the rows already there
    assert [tuple(r) for r in counts] == [
        ("HIGH", "PENDING", 1),
        ("LOW", "COMPLETED", 1),
        ("LOW", "FAILED", 1),
        ("LOW", "PENDING", 1),
    ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT n FROM queue_counts WHERE priority='HIGH' AND status='PENDING'").fetchone()[0] == 2
    conn.close()


async def test_a_fresh_database_and_an_upgraded_one_have_the_same_schema(tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "viralspot.db", tmp_path / "new" / "viralspot.db"
    _build_v0(old, rows=False)
    for path in (old, new):
        async with Database(path):
            pass
    a, b = sqlite3.connect(old), sqlite3.connect(new)
    sql = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
    assert _objects(a) >= {("table", "queue"), ("table", "viral_ideas_queue"), ("table", "crawler_requests")}


async def test_a_partial_unversioned_database_gains_the_missing_tables(tmp_path: Path) -> None:
    """A file opened by the old code without the domain stores imported had only the core tables."""
    path = tmp_path / "data" / "viralspot.db"
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.executescript(V0_DDL.split("CREATE TABLE IF NOT EXISTS viral_ideas_queue")[0])
    conn.close()
    async with Database(path) as db:
        tables = await db.read(lambda c: {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")})
    assert {"viral_ideas_queue", "viral_analysis_results", "crawler_requests", "crawler_budget"} <= tables


async def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "viralspot.db"
    async with Database(path) as db:
        await db.write(lambda c: c.execute("INSERT INTO runtime_state VALUES ('k', 'v', 'now')"))
    async with Database(path) as db:
        assert await db.read(lambda c: c.execute("SELECT value FROM runtime_state").fetchone()[0]) == "v"
        assert await db.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == latest_version()


async def test_a_database_newer_than_the_code_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "data" / "viralspot.db"
    async with Database(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    with pytest.raises(DatabaseOpenError) as caught:
        await Database(path).open()
    assert caught.value.configuration is True
    message = str(caught.value)
    assert str(path) in message and f"version {latest_version() + 1}" in message and "upgrade viralspot" in message
    conn = sqlite3.connect(path)  # refused, not touched
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version() + 1
    conn.close()


def test_the_cli_exits_2_on_a_database_newer_than_the_code(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from viralspot_tui.cli.common import CliState
    from viralspot_tui.cli.main import cli

    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "viralspot.db")
    conn.executescript(V0_DDL)
    conn.execute(f"PRAGMA user_version = {latest_version() + 7}")
    conn.close()
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "queue", "add", "alice"], obj=CliState())
    assert result.exit_code == 2, result.output
    assert "newer than this viralspot" in result.output and "Traceback" not in result.output
