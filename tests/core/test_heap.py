"""The engine process's GC settings (core/heap.py), checked in a fresh interpreter: the test
process itself has long been settled by the first engine a test started."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import asyncio, gc, tempfile
from viralspot_tui.config import load_settings
from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.heap import YOUNG_THRESHOLD, settle_heap_for_long_run

before = gc.get_threshold()
async def main():
    settings = load_settings(data_dir=tempfile.mkdtemp(), simulate=True)
    async with open_engine(settings, processors=("queue",), local_only=True) as supervisor:
        await supervisor.start()
        frozen = gc.get_freeze_count()
        await supervisor.stop(grace_seconds=0)
    return frozen
frozen = asyncio.run(main())
assert before[0] != YOUNG_THRESHOLD, before
assert frozen > 10_000, frozen  # the start-up heap (modules, classes, schemas) is out of the GC's walk
assert gc.get_threshold() == (YOUNG_THRESHOLD, 20, 100), gc.get_threshold()
assert settle_heap_for_long_run() is False  # once per process
print("ok")
"""


def test_starting_the_engine_freezes_the_start_up_heap_once() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
