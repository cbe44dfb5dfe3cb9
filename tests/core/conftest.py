"""Fixtures for the core tests: real SQLite files under tmp_path, a FakeClock, a clean environment.

Self-contained (pytest does not share fixtures between sibling test folders). Every test runs in
its own temporary working directory with the developer's ``VIRALSPOT_*`` / provider variables
removed, so a local ``viralspot.toml``, ``.env`` or exported key never leaks into a result.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.queue_store import QueueStore

_PROVIDER_VARIABLES = ("RAPIDAPI_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every variable the settings read; restored by monkeypatch afterwards."""
    for name in list(os.environ):
        if name.upper().startswith("VIRALSPOT_") or name.upper() in _PROVIDER_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_db(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Database]]]:
    """Open real Database instances (several may share one file); all closed at teardown."""
    opened: list[Database] = []

    async def build(path: Path | str | None = None) -> Database:
        db = await Database(path or tmp_path / "data" / "viralspot.db").open()
        opened.append(db)
        return db

    yield build
    for db in opened:
        await db.close()


@pytest.fixture
async def db(make_db: Callable[..., Awaitable[Database]]) -> Database:
    return await make_db()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> QueueStore:
    return QueueStore(db, clock=clock, instance_id="host:1:test", max_attempts=3)
