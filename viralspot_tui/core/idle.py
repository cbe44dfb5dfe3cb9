"""When is a batch run (``--exit-when-idle``) done? One rule for the headless runner and the console.

The engine is idle when no processor has work that can make progress without the operator:
nothing pending, running or due soon, and no control row waiting. Three things can leave work
waiting for the operator, and each ends a batch run with a message rather than hanging it:

- a processor that stopped itself (``blocked``, e.g. an unsubscribed API key): exit 1;
- a processor paused by an earlier command: exit 0, saying how to resume it;
- a provider parked until its plan quota resets: exit 0, saying until when.

See docs/cli.md ("Batch runs").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .clock import to_iso

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["IdleVerdict", "IdleWatch"]


@dataclass(frozen=True)
class IdleVerdict:
    exit_code: int
    reason: str


class IdleWatch:
    """Asks the engine, tick after tick, whether a batch run can stop (``settle`` calm ticks in a row)."""

    def __init__(self, supervisor: "Supervisor", settle: int = 3) -> None:
        self.supervisor = supervisor
        self.settle = settle
        self._calm = 0

    async def check(self) -> IdleVerdict | None:
        sup = self.supervisor
        blocked = [f"{p.name}: {p.blocked}" for p in sup.processors.values() if p.blocked]
        if blocked:  # nobody is there to fix it; waiting would hang a cron job
            return IdleVerdict(1, "; ".join(blocked))
        waiting: list[str] = []
        for name, slot in sup.slots.items():
            if await slot.processor.is_idle():
                continue
            if slot.control.paused:
                waiting.append(f"the {name} processor is paused with work waiting (`viralspot resume {name}`)")
                continue
            self._calm = 0
            return None
        parked = self._parked()
        backend = sup.backend.state()
        if backend.held:
            waiting.append(backend.held)
        elif await sup.control_pending() > 0 or backend.busy:  # e.g. a shared queue not drained
            self._calm = 0
            return None
        self._calm += 1
        if self._calm < self.settle:
            return None
        if parked:
            waiting.append(parked)
        if waiting:
            return IdleVerdict(0, "stopping with work left: " + "; ".join(waiting))
        return IdleVerdict(0, "idle: nothing pending, running or scheduled soon")

    def _parked(self) -> str | None:
        providers = self.supervisor.runtime.providers
        if providers is None:
            return None
        now = self.supervisor.runtime.clock.now()
        parked = [
            f"{name} parked until {to_iso(q.parked_until)}"
            for name, q in providers.quota_snapshot().items()
            if q.is_parked(now)
        ]
        return "; ".join(parked) if parked else None
