"""The local database, its folder and its side files are owner-only (docs/performance.md)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from viralspot_tui.core.store.database import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


async def test_new_database_folder_and_side_files_are_owner_only(tmp_path: Path, lax_umask: None) -> None:
    path = tmp_path / "a" / "data" / "viralspot.db"
    async with Database(path) as db:
        await db.write(
            lambda c: c.execute("INSERT INTO runtime_state (key, value, updated_at) VALUES ('k', 'v', 'now')")
        )
        assert _mode(path.parent) == 0o700 and _mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            assert side.exists() and _mode(side) == 0o600, suffix
    # the last connection closed and removed -wal/-shm; a later one recreates them owner-only
    async with Database(path) as db:
        await db.write(lambda c: c.execute("UPDATE runtime_state SET value = 'w' WHERE key = 'k'"))
        for suffix in ("-wal", "-shm"):
            assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix


async def test_a_plain_sqlite3_session_beside_the_console_keeps_side_files_private(
    tmp_path: Path, lax_umask: None
) -> None:
    """An operator's sqlite3 session may be the one that recreates -wal/-shm: SQLite copies the file's mode."""
    path = tmp_path / "data" / "viralspot.db"
    async with Database(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    conn.execute("INSERT INTO scratch VALUES (1)")
    conn.commit()
    try:
        for suffix in ("-wal", "-shm"):
            assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix
    finally:
        conn.close()


async def test_lax_permissions_left_by_older_versions_are_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    path = folder / "viralspot.db"
    sqlite3.connect(path).close()
    os.chmod(folder, 0o755)
    os.chmod(path, 0o644)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").touch()
        os.chmod(f"{path}{suffix}", 0o644)
    async with Database(path):
        assert _mode(folder) == 0o700 and _mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix


async def test_queue_file_written_by_the_backend_is_owner_only_when_new(tmp_path: Path, lax_umask: None) -> None:
    from testkit import make_settings

    from viralspot_tui.core.backends.csv_backend import CsvBackend
    from viralspot_tui.core.runtime import Runtime

    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    (tmp_path / "out").mkdir()  # the backend does not create folders for a queue file
    try:
        await CsvBackend(runtime, tmp_path / "out" / "queue.csv").stop()
    finally:
        await runtime.close()
    assert _mode(tmp_path / "out" / "queue.csv") == 0o600


def test_export_file_is_owner_only(tmp_path: Path, lax_umask: None) -> None:
    import json

    from viralspot_tui.cli.main import cli

    base = ["--data-dir", str(tmp_path / "data"), "--simulate"]
    env = {
        "VIRALSPOT_SIM_LATENCY_MS": "0",
        "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "1000",
        "VIRALSPOT_RAPIDAPI__BACKOFF_INITIAL": "0.001",
        "VIRALSPOT_OPENAI__REQUESTS_PER_SECOND": "1000",
    }
    runner = CliRunner()
    made = runner.invoke(
        cli, [*base, "analyze", "perm_creator", "-c", "perm_rival", "--wait"], env=env, catch_exceptions=False
    )
    assert made.exit_code == 0, made.output
    out = tmp_path / "ideas.json"
    exported = runner.invoke(
        cli, [*base, "export", "1", "--format", "json", "-o", str(out)], env=env, catch_exceptions=False
    )
    assert exported.exit_code == 0 and json.loads(out.read_text())
    assert _mode(out) == 0o600
