"""A faster simulated world for the live demo: it lags the clock, catches up, never runs ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from viralspot_tui.config import ConfigError, load_settings
from viralspot_tui.core.runtime import simulator_config
from viralspot_tui.sim import SimConfig, Simulator

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_the_world_runs_faster_until_it_catches_up_with_the_clock() -> None:
    now = [START]
    sim = Simulator(SimConfig(time_speed=720.0, time_lag_days=10.0), clock=lambda: now[0])
    assert sim.now() == START - timedelta(days=10) and sim.time_speed() == 720.0
    newest = sim.world.reels("public_baker7")[0].index
    now[0] += timedelta(minutes=2)  # a simulated day
    assert sim.now() == START - timedelta(days=9)
    now[0] += timedelta(minutes=60)  # long past catching up: the world is the clock again
    assert sim.now() == now[0] and sim.time_speed() == 1.0
    assert sim.world.reels("public_baker7")[0].index > newest  # ten simulated days posted new reels


def test_a_normal_world_is_the_clock() -> None:
    sim = Simulator(SimConfig(), clock=lambda: START)
    assert sim.now() == START and sim.time_speed() == 1.0


def test_a_world_ahead_of_the_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="never runs ahead"):
        SimConfig(time_speed=10.0)
    with pytest.raises(ValueError, match="time_speed must be >= 1"):
        SimConfig(time_speed=0.5, time_lag_days=1.0)
    with pytest.raises(ConfigError, match="sim.time_lag_days"):
        load_settings(sim={"time_speed": 10.0})


def test_settings_reach_the_simulator() -> None:
    config = simulator_config(load_settings(sim={"time_speed": 60.0, "time_lag_days": 3.0}))
    assert (config.time_speed, config.time_lag_days) == (60.0, 3.0)
