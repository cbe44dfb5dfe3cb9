"""How long a queue item has waited and how long it has run, so promptness is visible.

The queue row knows when an item was enqueued and when it finished, not how its life split
between waiting and running (an item may run, pause for HIGH work, wait, and run again). The
queue processor therefore keeps, for the items it ran, the seconds spent running across all
segments (:class:`RunTimes`, bounded); the supervisor turns that and the board into one
:class:`ItemTiming` per shown item and the oldest waiting HIGH item's wait (see docs/priority.md).

Times come from the runtime's clock, so a console on a frozen clock draws the same frame twice.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from ..models.queue import Priority, QueueItem, Status

__all__ = ["ItemTiming", "RunTimes", "item_timings", "oldest_high_wait"]


@dataclass(frozen=True)
class ItemTiming:
    """``waited``: seconds since enqueue not spent running (up to now, or to completion).
    ``ran``: seconds spent running, ``None`` when it ran but not in this process (another runner,
    or before a restart)."""

    waited: float
    ran: float | None


class RunTimes:
    """Seconds each item has spent running in this process, over all its run segments."""

    def __init__(self, keep: int = 2000) -> None:
        self.keep = keep
        self._done: OrderedDict[int, float] = OrderedDict()  # finished segments, summed
        self._since: dict[int, datetime] = {}  # the segment under way

    def started(self, item_id: int, now: datetime) -> None:
        self._since[item_id] = now

    def stopped(self, item_id: int, now: datetime) -> None:
        since = self._since.pop(item_id, None)
        if since is None:
            return
        self._done[item_id] = self._done.pop(item_id, 0.0) + max(0.0, (now - since).total_seconds())
        while len(self._done) > self.keep:
            self._done.popitem(last=False)

    def snapshot(self, now: datetime) -> dict[int, float]:
        """Running seconds per known item id, the segment under way counted up to ``now``."""
        ran = dict(self._done)
        for item_id, since in self._since.items():
            ran[item_id] = ran.get(item_id, 0.0) + max(0.0, (now - since).total_seconds())
        return ran


def item_timings(board: list[QueueItem], ran: dict[int, float], now: datetime) -> dict[int, ItemTiming]:
    """One :class:`ItemTiming` per board item: its life so far, minus the time it ran."""
    timings: dict[int, ItemTiming] = {}
    for item in board:
        if item.status is Status.COMPLETED and item.completed_at is not None:
            end = item.completed_at
        elif item.status is Status.FAILED:
            end = item.updated_at
        else:
            end = now
        life = max(0.0, (end - item.created_at).total_seconds())
        seconds = ran.get(item.id)
        if seconds is None and item.attempts == 0:
            seconds = 0.0  # never claimed (attempts are counted at claim): it has only waited
        timings[item.id] = ItemTiming(waited=max(0.0, life - (seconds or 0.0)), ran=seconds)
    return timings


def oldest_high_wait(board: list[QueueItem], timings: dict[int, ItemTiming]) -> float | None:
    """The longest wait of a HIGH item still waiting (pending or paused), from :func:`item_timings`.

    The board lists waiting HIGH items oldest first (up to its cap), so no extra query is needed."""
    waits = [
        timings[i.id].waited
        for i in board
        if i.priority is Priority.HIGH and i.status in (Status.PENDING, Status.PAUSED) and i.id in timings
    ]
    return max(waits) if waits else None
