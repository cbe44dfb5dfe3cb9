"""What a queue backend is: the place the queue *lives*, mirrored into local SQLite.

The processors only ever work on the SQLite mirror (fast, always available). A backend's job
is to keep the mirror and its home in step: import what changed there, export what changed
here, and say whether it is reachable and how much is waiting to be pushed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["BackendState", "QueueBackend", "LocalOnlyBackend"]


@dataclass(frozen=True)
class BackendState:
    description: str
    online: bool = True
    outbox_depth: int = 0
    outbox_oldest_age: float | None = None  # seconds since the oldest waiting outbox entry was written
    messages: tuple[str, ...] = field(default_factory=tuple)
    busy: bool = False  # work waits in the queue's home that the mirror has not taken yet (idle.py)
    held: str | None = None  # work waits there for an operator (a shared pause): idle.py says so and stops


class QueueBackend(Protocol):
    async def start(self) -> None:
        """Initial import into the mirror (called once before processors start)."""

    async def sync(self) -> None:
        """One cheap synchronisation step; called about twice a second by the supervisor."""

    async def stop(self) -> None:
        """Final export (called after processors drained)."""

    def state(self) -> BackendState: ...


class LocalOnlyBackend:
    """The SQLite mirror alone (tests, and tools that need no external queue file)."""

    async def start(self) -> None:
        return None

    async def sync(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def state(self) -> BackendState:
        return BackendState(description="sqlite (local only)")
