"""Keep the queue's home (CSV file, later Supabase) and the SQLite mirror in step.

One cheap ``backend.sync()`` about twice a second; a failing step is logged and tried again at
the next tick, so an unreadable queue file never stops the processors (docs/queue.md).
"""

from __future__ import annotations

import asyncio
import logging

from ..backends.base import QueueBackend

__all__ = ["BackendSync"]

log = logging.getLogger("viralspot.backend")


class BackendSync:
    def __init__(self, backend: QueueBackend, every: float = 0.5) -> None:
        self.backend = backend
        self.every = every
        self.failures = 0

    async def step(self) -> None:
        try:
            await self.backend.sync()
            self.failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the next tick tries again
            self.failures += 1
            if self.failures in (1, 10) or self.failures % 100 == 0:
                log.exception("queue backend sync failed (%d in a row)", self.failures)

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.every)
