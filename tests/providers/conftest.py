"""Fixtures for the provider tests: a simulator on a fake clock, and providers wired to it.

Everything goes through the simulator's real in-process transport (or its loopback server);
nothing in the code under test is patched. The fake clock makes every back-off and
``Retry-After`` wait instant and recorded in ``clock.sleeps``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from provider_kit import SECRET, make_settings

from viralspot_tui.config import Settings
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.providers.factory import Providers
from viralspot_tui.sim import SimConfig, Simulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sim(clock: FakeClock) -> Callable[..., Simulator]:
    def build(**config: object) -> Simulator:
        values: dict[str, object] = {"seed": 7, "latency_ms": 0}
        values.update(config)
        return Simulator(SimConfig(**values), clock=clock.now)  # type: ignore[arg-type]

    return build


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
async def make_providers(clock: FakeClock) -> AsyncIterator[Callable[..., Providers]]:
    made: list[Providers] = []

    def build(sim: Simulator, settings: Settings | None = None, **kw: object) -> Providers:
        providers = Providers.create(settings or make_settings(), transport=sim.transport(), clock=clock, **kw)  # type: ignore[arg-type]
        made.append(providers)
        return providers

    yield build
    for providers in made:
        await providers.aclose()


@pytest.fixture
def providers(make_providers: Callable[..., Providers], sim: Simulator) -> Providers:
    return make_providers(sim, api_key_override=SECRET)
