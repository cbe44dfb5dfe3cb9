"""Immutable snapshots of the whole engine, the only thing front ends read.

The supervisor rebuilds one every refresh tick (two to four a second) off the event loop's
hot path; a UI pulls the latest and diffs it into widgets, so rendering never queries the
database and never blocks processors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .events import Event
from .models.queue import Priority, QueueItem, Status
from .processors.item_times import ItemTiming
from .views import CrawlerSnapshot, ViralSnapshot, to_json

__all__ = ["ProcessorInfo", "QueueSnapshot", "EngineSnapshot"]


@dataclass(frozen=True)
class ProcessorInfo:
    name: str
    state: str
    restarts: int = 0
    last_error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSnapshot:
    counts: dict[tuple[Priority, Status], int] = field(default_factory=dict)
    board: list[QueueItem] = field(default_factory=list)
    throughput: list[int] = field(default_factory=list)  # completions per second, oldest first
    max_concurrent: int = 0
    max_high: int | None = None
    max_low: int | None = None
    in_flight: int = 0
    timings: dict[int, ItemTiming] = field(default_factory=dict)  # board item id -> waited / ran
    oldest_high_wait: float | None = None  # seconds the longest-waiting HIGH item has waited

    def count(self, priority: Priority | None = None, status: Status | None = None) -> int:
        return sum(
            n
            for (p, s), n in self.counts.items()
            if (priority is None or p == priority) and (status is None or s == status)
        )


@dataclass(frozen=True)
class EngineSnapshot:
    at: datetime
    simulated: bool
    backend: str
    online: bool
    outbox_depth: int
    quota: dict[str, dict[str, Any]]
    processors: dict[str, ProcessorInfo]
    queue: QueueSnapshot
    viral: ViralSnapshot | None
    crawler: CrawlerSnapshot | None
    events: list[Event]
    draining: bool = False
    backend_messages: list[str] = field(default_factory=list)
    outbox_oldest_age: float | None = None  # seconds; None when nothing waits (docs/supabase-outbox.md)
    sim_speed: float = 1.0
    """How many times faster than the wall clock the simulated world's time runs (the live demo
    runs it faster so new reels appear within minutes; front ends must say so when it is > 1)."""

    def to_json(self) -> dict[str, Any]:
        """The shape ``viralspot status --json`` prints (stable keys)."""
        by_priority: dict[str, dict[str, int]] = {}
        for (prio, status), n in sorted(self.queue.counts.items()):
            by_priority.setdefault(prio.value, {})[status.value] = n
        return {
            "at": self.at.isoformat(),
            "simulated": self.simulated,
            "sim_speed": self.sim_speed,
            "backend": self.backend,
            "online": self.online,
            "outbox_depth": self.outbox_depth,
            "outbox_oldest_age_seconds": self.outbox_oldest_age,
            "quota": self.quota,
            "processors": {
                n: {"state": p.state, "restarts": p.restarts, "last_error": p.last_error}
                for n, p in self.processors.items()
            },
            "queue": by_priority,
            "in_flight": self.queue.in_flight,
            "viral": to_json(self.viral),
            "crawler": to_json(self.crawler),
        }
