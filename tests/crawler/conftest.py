"""Fixtures for the crawler tests: a real SQLite database under tmp_path, the simulator behind
its in-process transport, and a fake clock shared by the runtime and the simulator.

Nothing in the code under test is patched: expectations are computed from the simulator's own
world model (which accounts exist, their follower counts, the social-context text it sends).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import viralspot_tui.core.crawler  # noqa: F401 - registers the crawler tables before any database opens
from viralspot_tui.config import load_settings
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.sim import SimConfig, Simulator

SIM_SEED = 7


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(SimConfig(seed=SIM_SEED, latency_ms=0), clock=clock.now)


@pytest.fixture
async def make_runtime(
    tmp_path: Any, clock: FakeClock, sim: Simulator
) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    opened: list[Runtime] = []

    async def build(**crawler: Any) -> Runtime:
        settings = load_settings(
            data_dir=tmp_path,
            simulate=True,
            rapidapi={"requests_per_second": 1000.0, "retries": 1, "backoff_initial": 0.0},
            crawler={"round_delay_seconds": 0, **crawler},
        )
        runtime = await Runtime.open(settings, transport=sim.transport(), simulator=sim, clock=clock)
        opened.append(runtime)
        return runtime

    yield build
    for runtime in opened:
        await runtime.close()


@pytest.fixture
async def runtime(make_runtime: Callable[..., Awaitable[Runtime]]) -> Runtime:
    return await make_runtime()
