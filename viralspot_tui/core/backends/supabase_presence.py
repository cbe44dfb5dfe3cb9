"""A console's presence on a shared Supabase queue: registry, shared switches, the key's rate.

Consoles working one queue are separate processes on separate machines; what they must agree
on goes through one small call every few seconds, ``console_beat`` (docs/supabase.md,
"Consoles sharing a queue"). Its answer carries three things this module acts on:

* **How many live consoles send with this RapidAPI key.** The plan limits the key, not a
  console, so each divides its rate by that count (``RateShares.adopt_remote``); a console that
  just joined holds back one beat first, so the others have slowed down before it sends.
* **The shared switches** (``viralspot_controls``): ``queue.paused`` set by ``viralspot pause
  queue`` on any machine. A change is applied here through the local control channel, the same
  path as a local ``viralspot pause`` (docs/architecture.md, "Control channel"); while the
  shared queue is paused the backend claims nothing new.
* **Whether HIGH work waits**, so LOW items running here pause at their next step boundary
  within a beat, not only at the next lease renewal (docs/priority.md).

Only a digest of the key travels (the budget id of shared_budget.py), never the key.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from .supabase_client import BeatAnswer, SupabaseQueue

__all__ = ["ConsolePresence", "SHARED_PAUSE", "BEAT_SECONDS"]

log = logging.getLogger("viralspot.supabase")

BEAT_SECONDS = 1.0  # how soon a switch, a new console or waiting HIGH work is seen (a control command: within a second)
BEAT_TTL_SECONDS = 5.0  # a console not heard of for this long no longer takes a share
SHARED_PAUSE = "queue.paused"
RAPIDAPI_BUDGETS = ("instagram", "transcripts")  # both are the one RapidAPI key's plans


class ConsolePresence:
    """Beats for one console and turns each answer into local state."""

    def __init__(self, runtime: Any, client: SupabaseQueue, owner: str) -> None:
        self.runtime = runtime
        self.client = client
        self.owner = owner
        self.live = 1
        self.consoles: list[dict[str, Any]] = []
        self.shared_paused = False
        self.high_waiting = False
        self.shared_counts: dict[str, int] = {}
        self.beats = 0
        self._last_beat = 0.0
        self._seen_switch: tuple[Any, Any] | None = None  # (value, updated_at) of the pause switch
        self._joined = False

    def _budgets(self) -> list[str]:
        providers = getattr(self.runtime, "providers", None)
        budgets = getattr(providers, "budgets", None) or {}
        return [budgets[name] for name in RAPIDAPI_BUDGETS if name in budgets]

    def key_hash(self) -> str:
        """The RapidAPI key's budget id (a digest), or "" for a console that does not scrape."""
        budgets = self._budgets()
        return budgets[0] if budgets else ""

    def due(self) -> bool:
        return time.monotonic() - self._last_beat >= BEAT_SECONDS

    async def beat(self, *, force: bool = False) -> BeatAnswer | None:
        if not force and not self.due():
            return None
        answer = await self.client.console_beat(self.owner, socket.gethostname(), self.key_hash(), BEAT_TTL_SECONDS)
        self._last_beat = time.monotonic()
        self.beats += 1
        self.live, self.consoles = max(1, answer.live), answer.consoles
        self.high_waiting = answer.high_waiting
        self.shared_counts = answer.queue
        self._divide_rate()
        await self._apply_switches(answer.controls)
        return answer

    def _divide_rate(self) -> None:
        shares = getattr(self.runtime, "rate_shares", None)
        budgets = self._budgets()
        if shares is None or not budgets:
            return
        grew = shares.adopt_remote(budgets, self.live)
        if grew:
            if self._joined:
                log.info("supabase: %d consoles now share the RapidAPI key", self.live)
            else:  # this console is the newcomer: the others slow down at their next beat
                shares.hold_back(budgets, BEAT_SECONDS * 1.5)
        self._joined = True

    async def _apply_switches(self, controls: dict[str, Any]) -> None:
        switch = controls.get(SHARED_PAUSE)
        value = bool(switch.get("value")) if isinstance(switch, dict) else False
        seen = (value, switch.get("updated_at") if isinstance(switch, dict) else None)
        first, changed = self._seen_switch is None, seen != self._seen_switch
        self._seen_switch, self.shared_paused = seen, value
        if not changed or (first and not value and not await self._paused_here()):
            return
        from ..control import ControlChannel

        by = switch.get("updated_by") if isinstance(switch, dict) else ""
        command = "pause" if value else "resume"
        channel = ControlChannel(self.runtime.db, self.runtime.clock, owner="supabase")
        await channel.post(command, target="queue", scope="here")  # "here": not set back on the server
        message = f"shared queue {'paused' if value else 'resumed'}" + (f" by {by}" if by else "")
        self.runtime.events.emit("supabase.switch", message)
        log.info("supabase: %s", message)

    async def _paused_here(self) -> bool:
        """The queue starts paused here (a saved pause). On a shared queue every queue pause is the
        shared switch's (core/ops/processor_ops.py), so a console that stopped while the switch was
        on and starts after it was cleared resumes, instead of holding its leases paused."""
        import json

        return "queue" in json.loads(await self.runtime.control_state("paused") or "[]")

    def held(self) -> str | None:
        """Why shared work waits for an operator, if it does (idle detection, core/idle.py)."""
        waiting = self.shared_counts.get("waiting", 0)
        if not self.shared_paused or not waiting:
            return None
        return (
            f"the shared queue is paused with {waiting} item(s) waiting (`viralspot --backend supabase resume queue`)"
        )

    def describe(self) -> str:
        """What the header says of the shared queue: it changes within a beat of any console's work."""
        if not self.shared_counts:
            return ""
        waiting, running = self.shared_counts.get("waiting", 0), self.shared_counts.get("running", 0)
        paused = " · PAUSED for all" if self.shared_paused else ""
        consoles = f"{self.live} console{'s' if self.live != 1 else ''}"
        return f" · {consoles} · {waiting} waiting, {running} running{paused}"

    async def leave(self) -> None:
        await self.client.console_leave(self.owner)
