"""The simulator served from its own process over loopback HTTP, for client-side figures.

With the simulator in the engine's process, its CPU (building payloads, serving requests)
counts against the client and its work shares the client's event loop. Served from a child
process over real sockets, the engine's process does only what a real deployment does:
HTTP through httpx, parsing, validation, the database. The child prints its port, serves
until its stdin closes, then writes its call records (``time.monotonic()`` is system-wide on
Linux, so the parent can compare them with its own stamps) and its CPU time to a file.

``prebuild`` names accounts whose world (profile, first reel pages, similar accounts) the child
builds before it starts serving. RapidAPI's servers spend none of our CPU; on two cores the
simulator building each new account's world while the engine works would make the engine's
completion rate a measure of the simulator too. The answers are the same either way (the world
is a pure function of seed and time: docs/providers.md), only when the CPU is spent moves, and
the child's CPU is reported separately from the engine's.

    python -m benchmarks._sim_process LATENCY_MS JITTER SEED RECORDS_FILE PREBUILD_FILE
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viralspot_tui.sim.world import World

__all__ = ["SimProcess", "simulator_process"]


class SimProcess:
    """Handle on the child: its base URL while running; records and CPU once it stopped."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.calls: list[Any] = []
        self.cpu_seconds = 0.0


@contextlib.contextmanager
def simulator_process(
    latency_ms: float, jitter: float = 0.0, seed: int = 7, prebuild: Sequence[str] = ()
) -> Iterator[SimProcess]:
    from ._common import temp_dir

    with temp_dir("simproc") as root:
        records, names = root / "records.json", root / "prebuild.json"
        names.write_text(json.dumps(list(prebuild)), encoding="utf-8")
        argv = [str(latency_ms), str(jitter), str(seed), str(records), str(names)]
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._sim_process", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            assert child.stdout is not None and child.stdin is not None
            port = int(child.stdout.readline().strip())
            handle = SimProcess(f"http://127.0.0.1:{port}")
            yield handle
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=60)
        data = json.loads(records.read_text(encoding="utf-8"))
        handle.cpu_seconds = data["cpu_seconds"]
        handle.calls = [
            SimpleNamespace(endpoint=e, key=k, status=s, started_at=a, finished_at=b) for e, k, s, a, b in data["calls"]
        ]


def _prebuild(world: World, names: list[str]) -> None:
    """Build each account's world as the engine's scrape will ask for it: profile, up to three
    reel pages, the similar accounts' profiles (the world's caches keep them)."""
    from viralspot_tui.sim.world import PAGE_SIZE

    for name in names:
        world.profile(name)
        token = None
        for _ in range(3):
            _, token = world.reel_page(name, PAGE_SIZE, token)
            if token is None:
                break
        for other in world.similar(name):
            world.profile(other)


async def _serve(latency_ms: float, jitter: float, seed: int, records: Path, prebuild: Path) -> None:
    from viralspot_tui.sim import SimConfig, Simulator, running_server

    sim = Simulator(SimConfig(seed=seed, latency_ms=latency_ms, jitter=jitter, rate_limit=None))
    _prebuild(sim.world, json.loads(prebuild.read_text(encoding="utf-8")))
    cpu0 = time.process_time()  # the serving CPU only
    async with running_server(sim) as base_url:
        print(base_url.rsplit(":", 1)[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it
    calls = [[c.endpoint, c.key, c.status, c.started_at, c.finished_at] for c in sim.stats.calls]
    records.write_text(json.dumps({"cpu_seconds": time.process_time() - cpu0, "calls": calls}), encoding="utf-8")


if __name__ == "__main__":
    latency, jit, seed_, path, names_path = sys.argv[1:6]
    asyncio.run(_serve(float(latency), float(jit), int(seed_), Path(path), Path(names_path)))
