"""When a running queue item gives way: to HIGH work, to a pause, to a shutdown.

HIGH before LOW (docs/priority.md). Slots alone do not make HIGH work prompt: a HIGH item with a
slot still waits at the rate limiter whenever LOW calls got there first, and between its own
calls LOW calls take the slots it is about to need. So while a HIGH item runs and calls queue at
the limiter, LOW items pause at their next step boundary, their calls waiting at the limiter are
withdrawn unsent, and no LOW item starts; the hold ends when no HIGH item runs or waits. The
mixin :class:`GivesWay` holds that rule and the step boundary; the processor keeps the counts it
reads (``_high_running``, ``high_waiting``).

The shutdown drain (docs/queue.md, "Shutdown"; docs/console.md, the drain screen): in-flight
items get the grace period; those still running when it ends, or when a second quit forces the
stop, are cancelled at once and go back to PENDING with their attempt unspent. Their checkpoints
stay, so the next run resumes them where they were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..models.queue import Priority, QueueItem
from ..pipeline.profile_fetch import PauseRequested
from ..providers.priority import PriorityLimiter

if TYPE_CHECKING:
    from .base import ProcessorControl

__all__ = ["GivesWay", "drain_in_flight"]


class GivesWay:
    """The queue processor's priority rules; mixed into :class:`~.queue_processor.QueueProcessor`."""

    runtime: Any
    running: dict[int, Any]
    hold_low: bool
    high_waiting: bool
    _high_running: int
    _slot_freed: asyncio.Event
    _control: "ProcessorControl | None"

    def _limiter(self) -> PriorityLimiter | None:
        providers = self.runtime.providers
        policy = providers.policies.get("instagram") if providers is not None else None
        return policy.limiter if policy is not None else None

    def _update_hold(self) -> None:
        """Start the hold when a HIGH item runs and the limiter is saturated; end it when no
        HIGH item runs or waits (the module's docstring says why)."""
        high_running = self._high_running > 0
        if self.hold_low:
            if not high_running and not self.high_waiting:
                self.hold_low = False
                self.runtime.events.emit("queue.hold", "HIGH work done: LOW items resume", holding=False)
                self._slot_freed.set()
            return
        limiter = self._limiter()
        if high_running and limiter is not None and limiter.saturated():
            self.hold_low = True
            withdrawn = limiter.preempt()
            low_running = sum(1 for r in self.running.values() if r.item.priority is Priority.LOW)
            self.runtime.events.emit(
                "queue.hold",
                f"HIGH work competes for the rate limit: {low_running} LOW item(s) pause at their next step"
                f" ({withdrawn} unsent call(s) withdrawn); no LOW item starts until it is done",
                holding=True,
            )

    async def _boundary(self, item: QueueItem) -> None:
        """Between two pipeline steps: stop for a forced shutdown or a pause, and let a LOW item
        give its slot to waiting HIGH work (it resumes from its checkpoint later)."""
        control = self._control
        if control is not None and control.forced:
            raise PauseRequested("shutting down")
        if control is not None and control.paused:
            raise PauseRequested("processor paused")
        self._update_hold()
        if item.priority is Priority.LOW and self.high_waiting:
            raise PauseRequested("HIGH priority work is waiting")
        if item.priority is Priority.LOW and self.hold_low:
            raise PauseRequested("HIGH priority work is using the rate limit")


async def drain_in_flight(
    running: Iterable[tuple[QueueItem, "asyncio.Task[None]"]],
    control: "ProcessorControl | None",
    grace_seconds: float,
) -> list[QueueItem]:
    """Wait up to ``grace_seconds`` for the workers (less if the stop is forced), cancel the
    rest and wait until they have ended; returns the items that were cancelled, to release."""
    pairs = list(running)
    tasks = [task for _, task in pairs]
    if grace_seconds > 0 and control is not None and not control.forced:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        forced = asyncio.ensure_future(control.wait_forced())
        while not forced.done() and (left := [t for t in tasks if not t.done()]):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait([*left, forced], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
    pending = {t for t in tasks if not t.done()}
    leftovers = [item for item, task in pairs if task in pending]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return leftovers
