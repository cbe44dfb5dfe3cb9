"""Fixtures for the viral ideas tests: a FakeClock shared by the runtime and the simulated world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from viral_kit import START, make_sim, viral_runtime

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.sim import Simulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return make_sim(clock)


@pytest.fixture
async def runtime(tmp_path: Path, sim: Simulator, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with viral_runtime(tmp_path, sim, clock) as rt:
        yield rt
