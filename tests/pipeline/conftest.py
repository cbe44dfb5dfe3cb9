"""Fixtures for the pipeline tests: simulator + real providers + a real SQLite file.

Self-contained (pytest does not share fixtures between sibling test folders): the simulator
runs on a fake clock, so retries never wait, and the database is a real file under tmp_path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pipeline_kit import pipeline_settings

from viralspot_tui.config import Settings
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.pipeline.profile_fetch import ProfileFetchPipeline
from viralspot_tui.core.providers.factory import Providers
from viralspot_tui.core.store.checkpoints import CheckpointStore
from viralspot_tui.core.store.content import ContentStore
from viralspot_tui.core.store.database import Database
from viralspot_tui.sim import SimConfig, Simulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(SimConfig(seed=7, latency_ms=0), clock=clock.now)


@pytest.fixture
async def make_db(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    opened: list[Database] = []

    async def build(name: str = "viralspot.db") -> Database:
        db = await Database(tmp_path / name).open()
        opened.append(db)
        return db

    yield build
    for db in opened:
        await db.close()


@pytest.fixture
async def db(make_db) -> Database:
    return await make_db()


@pytest.fixture
async def make_pipeline(clock: FakeClock) -> AsyncIterator[Callable[..., ProfileFetchPipeline]]:
    made: list[Providers] = []

    def build(
        sim: Simulator | None, db: Database, *, settings: Settings | None = None, **options: object
    ) -> ProfileFetchPipeline:
        providers = Providers.create(
            settings or pipeline_settings(), transport=sim.transport() if sim is not None else None, clock=clock
        )
        made.append(providers)
        return ProfileFetchPipeline(
            providers.instagram,
            ContentStore(db, clock),
            CheckpointStore(db, clock),
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    yield build
    for providers in made:
        await providers.aclose()
