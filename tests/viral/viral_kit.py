"""Helpers for the viral ideas tests: a runtime on a real SQLite file fed by the simulator.

The simulator's world clock is the runtime's FakeClock, so moving the clock forward makes new
reels appear (recurring runs) without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from viralspot_tui.config import load_settings
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.sim import SimConfig, Simulator

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def viral_settings(tmp_path: Path, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "simulate": True,
        "queue": {"lease_seconds": 30.0, "grace_seconds": 2.0, "reels_count": 36},
        "rapidapi": {"requests_per_second": 1000.0, "backoff_initial": 0.001, "backoff_max": 0.01},
        "openai": {"requests_per_second": 1000.0},
        "sim": {"latency_ms": 0.0},
    }
    for key, value in overrides.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return load_settings(**base)


def make_sim(clock: FakeClock, latency_ms: float = 0.0) -> Simulator:
    return Simulator(SimConfig(seed=7, latency_ms=latency_ms, jitter=0.0), clock=clock.now)


def public_names(sim: Simulator, count: int, prefix: str, *, min_recent: int = 3) -> list[str]:
    """Usernames the world resolves to public accounts with a few reels in the last 30 days."""
    names: list[str] = []
    i = 0
    while len(names) < count:
        name = f"{prefix}{i}"
        i += 1
        if sim.world.profile(name).kind != "public":
            continue
        recent = [r for r in sim.world.reels(name) if (sim.now() - r.taken_at).days < 30]
        if len(recent) >= min_recent:
            names.append(name)
    return names


@asynccontextmanager
async def viral_runtime(
    tmp_path: Path,
    sim: Simulator,
    clock: FakeClock,
    *,
    real_http: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[Runtime]:
    """``real_http``: no in-process transport; the settings must point the providers at a server.
    ``transport``: one in front of the simulator's own (it must pass requests on to it)."""
    runtime = await Runtime.open(
        viral_settings(tmp_path, **overrides),
        transport=None if real_http else transport or sim.transport(),
        simulator=sim,
        clock=clock,
    )
    try:
        yield runtime
    finally:
        await runtime.close()
