"""Shared test helpers (imported as ``testkit``): settings in a temp folder, a fixed-time simulator, polling."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXED_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

for _var in (
    "RAPIDAPI_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "VIRALSPOT_DATA_DIR",
    "VIRALSPOT_SIMULATE",
    "VIRALSPOT_SIM_LATENCY_MS",
    "VIRALSPOT_SIM_RATE_LIMIT",
    "VIRALSPOT_SIM_FAULT_RATE",
    "VIRALSPOT_SIM_SEED",
    "VIRALSPOT_CONFIG_FILE",
):
    os.environ.pop(_var, None)


def make_settings(tmp_path: Path, **overrides: Any) -> Any:
    """Settings for a simulated run in ``tmp_path``, fast back-offs, nested overrides merged."""
    from viralspot_tui.config import load_settings

    base: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "simulate": True,
        "queue": {
            "queue_file": str(tmp_path / "queue.csv"),
            "retry_base_seconds": 0.01,
            "retry_max_seconds": 0.05,
            "lease_seconds": 5.0,
            "grace_seconds": 2.0,
        },
        "rapidapi": {"requests_per_second": 1000.0, "backoff_initial": 0.001, "backoff_max": 0.01},
        "openai": {"requests_per_second": 1000.0},
        "sim": {"latency_ms": 1.0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(**base)


def make_sim(latency_ms: float = 1.0, **kwargs: Any) -> Any:
    from viralspot_tui.sim import SimConfig, Simulator

    return Simulator(
        SimConfig(seed=kwargs.pop("seed", 7), latency_ms=latency_ms, jitter=kwargs.pop("jitter", 0.0), **kwargs),
        clock=lambda: FIXED_NOW,
    )


def public_names(sim: Any, count: int, prefix: str = "user", min_reels: int = 0) -> list[str]:
    """Deterministic usernames the simulated world resolves to public accounts."""
    names: list[str] = []
    i = 0
    while len(names) < count:
        name = f"{prefix}{i}"
        i += 1
        profile = sim.world.profile(name)
        if profile.kind == "public" and len(sim.world.reels(name, FIXED_NOW)) >= min_reels:
            names.append(name)
    return names


async def wait_for(
    predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02, what: str | Callable[[], str] = ""
) -> None:
    """Poll a (sync or async) predicate until true; fail the test with a clear message on timeout.

    ``what`` may be a callable, evaluated only on failure, to report the state that was seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(
                f"condition not met within {timeout}s: {described or getattr(predicate, '__name__', predicate)}"
            )
        await asyncio.sleep(interval)


def crashing_processor(runtime: Any, crashes: int, message: str = "boom {run}", name: str = "crashy") -> Any:
    """A test double hosted by the real supervisor: its first ``crashes`` runs raise
    ``RuntimeError(message.format(run=n))``, later runs work (count ticks) until stopped."""
    from viralspot_tui.core.processors.base import Processor, ProcessorControl

    class CrashingProcessor(Processor):
        def __init__(self) -> None:
            super().__init__(runtime)
            self.name = name
            self.runs = 0
            self.ticks = 0

        async def run(self, control: ProcessorControl) -> None:
            self.runs += 1
            if self.runs <= crashes:
                raise RuntimeError(message.format(run=self.runs))
            while not control.stopping:
                await control.wait_resumed()
                self.ticks += 1
                await control.sleep(0.01)

        def snapshot(self) -> dict[str, Any]:
            return {"runs": self.runs}

    return CrashingProcessor()


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and list indexes) into a JSON value, for mutating API responses."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += json_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += json_paths(v, prefix + (i,))
    return out
