"""Driving the real engine headless for the engine-level benchmarks."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = [
    "make_settings",
    "loopback_settings",
    "make_simulator",
    "public_usernames",
    "enqueue_many",
    "CompletionWatch",
    "per_item_spans",
]


def make_settings(
    data_dir: Path,
    *,
    concurrency: int,
    rps: float,
    reels_count: int = 12,
    similar_count: int = 5,
    sim_latency_ms: float = 0.0,
    sim_rate_limit: float | None = None,
) -> Any:
    from viralspot_tui.config import load_settings

    return load_settings(
        data_dir=data_dir,
        simulate=True,
        queue={
            "max_concurrent": concurrency,
            "reels_count": reels_count,
            "similar_count": similar_count,
            "lease_seconds": 120.0,
            "grace_seconds": 0.0,
            "queue_file": data_dir / "queue.csv",
        },
        rapidapi={"requests_per_second": rps},
        sim={"latency_ms": sim_latency_ms, "rate_limit": sim_rate_limit, "seed": 7},
    )


def loopback_settings(root: Any, base_url: str, concurrency: int) -> Any:
    """Settings for the real providers (aiohttp) against a simulator served at ``base_url``
    (``_sim_process``): what the engine does against RapidAPI and OpenAI."""
    from viralspot_tui.config import load_settings

    return load_settings(
        data_dir=root,
        simulate=False,
        queue={
            "max_concurrent": concurrency,
            "reels_count": 12,
            "similar_count": 5,
            "lease_seconds": 120.0,
            "grace_seconds": 0.0,
            "queue_file": root / "queue.csv",
        },
        rapidapi={
            "key": "bench-key",
            "requests_per_second": 10_000,
            "instagram_base_url": base_url,
            "transcript_base_url": base_url,
        },
        openai={"api_key": "bench-key", "base_url": base_url + "/v1"},
    )


def make_simulator(*, latency_ms: float, jitter: float = 0.0, rate_limit: float | None = None, seed: int = 7) -> Any:
    """A simulator we hold ourselves (settings cannot set jitter), passed to open_engine."""
    from viralspot_tui.sim import SimConfig, Simulator

    return Simulator(SimConfig(seed=seed, latency_ms=latency_ms, jitter=jitter, rate_limit=rate_limit))


def public_usernames(sim: Any, n: int, prefix: str = "bench_user_", *, recent_reels: int = 0) -> list[str]:
    """Names the simulated world knows as existing, public profiles: every item can complete.

    ``recent_reels``: also require that many reels posted in the last 30 days (material for
    the viral ideas selection)."""
    names: list[str] = []
    i = 0
    while len(names) < n:
        name = f"{prefix}{i}"
        i += 1
        profile = sim.world.profile(name)
        if not profile.exists or profile.is_private:
            continue
        if recent_reels and sum((sim.now() - r.taken_at).days < 30 for r in sim.world.reels(name)) < recent_reels:
            continue
        names.append(name)
    return names


async def enqueue_many(store: Any, names: list[str] | int, prefix: str = "bench_user_", chunk: int = 5000) -> None:
    from viralspot_tui.core.models.queue import Priority

    if isinstance(names, int):
        names = [f"{prefix}{i}" for i in range(names)]
    for start in range(0, len(names), chunk):
        await store.enqueue(names[start : start + chunk], Priority.LOW, source="bench")


class CompletionWatch:
    """Subscribes to the engine's events; records when each item completed (monotonic)."""

    def __init__(self, events: Any, target: int) -> None:
        self.target = target
        self.completed_at: list[float] = []
        self.other: dict[str, int] = defaultdict(int)
        self.done = asyncio.Event()
        self._unsubscribe = events.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.kind == "queue.completed":
            self.completed_at.append(time.monotonic())
            if len(self.completed_at) >= self.target:
                self.done.set()
        elif event.kind in ("queue.failed", "queue.retry", "queue.lease_lost", "queue.parked", "queue.paused"):
            self.other[event.kind] += 1

    def close(self) -> None:
        self._unsubscribe()


def per_item_spans(calls: list[Any], usernames: set[str], shortcode_owner: dict[str, str]) -> dict[str, float]:
    """For each item: first call start → last call finish, from the simulator's records."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for call in calls:
        owner = call.key if call.key in usernames else shortcode_owner.get(call.key)
        if owner is None:
            continue
        first[owner] = min(first.get(owner, call.started_at), call.started_at)
        last[owner] = max(last.get(owner, call.finished_at), call.finished_at)
    return {u: last[u] - first[u] for u in first}
