"""Publish the engine's state where other processes read it, and remember paused processors.

``viralspot status`` and every control command in another process learn from ``runtime_state``
whether an engine is alive (its heartbeat), what it hosts and what it shows. The paused set is
saved there too, awaited rather than fired and forgotten, so a pause survives a restart
(docs/architecture.md, "Control channel").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import from_iso, to_iso
from ..control import ControlChannel

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..snapshot import EngineSnapshot

__all__ = ["StatePublisher"]

log = logging.getLogger("viralspot.state")


class StatePublisher:
    def __init__(self, runtime: "Runtime", every: float = 0.5) -> None:
        self.runtime = runtime
        self.channel = ControlChannel(runtime.db, runtime.clock, owner=runtime.instance_id)
        self.every = every

    async def publish(self, snapshot: "EngineSnapshot | None", *, final: bool = False) -> None:
        if snapshot is None:
            return
        payload = snapshot.to_json()
        payload["pid"] = os.getpid()
        payload["instance"] = self.runtime.instance_id
        payload["running"] = not final
        payload["heartbeat"] = to_iso(self.runtime.clock.now())
        await self.channel.set_state("engine", json.dumps(payload, default=str))

    async def save_paused(self, names: Iterable[str]) -> None:
        await self.channel.set_state("paused", json.dumps(sorted(names)))

    async def load_parked(self) -> dict[str, tuple[datetime, str | None]]:
        """Providers the previous run left parked, with their reset time and reason."""
        value = await self.channel.get_state("engine")
        try:
            state = json.loads(value) if value else {}
        except ValueError:
            return {}
        quota = state.get("quota") if isinstance(state, dict) else None
        now = self.runtime.clock.now()
        parked: dict[str, tuple[datetime, str | None]] = {}
        for name, q in (quota or {}).items() if isinstance(quota, dict) else ():
            until = from_iso(q.get("parked_until")) if isinstance(q, dict) else None
            if until is not None and until > now:
                parked[str(name)] = (until, q.get("parked_reason"))
        return parked

    async def load_paused(self) -> list[str]:
        value = await self.channel.get_state("paused")
        try:
            names = json.loads(value) if value else []
        except ValueError:
            return []
        return [str(n) for n in names] if isinstance(names, list) else []

    async def run(self, snapshot: "Callable[[], EngineSnapshot | None]") -> None:
        while True:
            try:
                await self.publish(snapshot())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("publishing the engine state failed")
            await asyncio.sleep(self.every)
