"""Fixtures for the corpus tests: a replay server on loopback and real providers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from corpus_kit import RETRIES, Replay, serving

from viralspot_tui.config import Settings
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.pipeline.profile_fetch import ProfileFetchPipeline
from viralspot_tui.core.providers.factory import Providers
from viralspot_tui.core.store.checkpoints import CheckpointStore
from viralspot_tui.core.store.content import ContentStore
from viralspot_tui.core.store.database import Database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def connect(clock: FakeClock) -> AsyncIterator[Callable[..., object]]:
    """``await connect(replay)`` → real providers talking HTTP to ``replay`` on loopback."""
    async with AsyncExitStack() as stack:

        async def build(replay: Replay) -> Providers:
            base = await stack.enter_async_context(serving(replay))
            settings = Settings(simulate=True)
            rapid = settings.rapidapi
            rapid.instagram_base_url = rapid.transcript_base_url = base
            rapid.requests_per_second, rapid.requests_per_minute, rapid.retries = 1000.0, None, RETRIES
            providers = Providers.create(settings, clock=clock, api_key_override="corpus-key")
            stack.push_async_callback(providers.aclose)
            return providers

        yield build


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "viralspot.db").open()
    yield database
    await database.close()


@pytest.fixture
def pipeline_for(db: Database, clock: FakeClock) -> Callable[..., ProfileFetchPipeline]:
    def build(providers: Providers, **options: object) -> ProfileFetchPipeline:
        return ProfileFetchPipeline(
            providers.instagram,
            ContentStore(db, clock),
            CheckpointStore(db, clock),
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    return build
