"""Events: the only way processors tell the outside world what happened.

Processors never touch widgets. They publish small immutable :class:`Event` records here;
front ends (the TUI log pane, the headless logger) subscribe, and the bus keeps a bounded
history so a UI that attaches late still sees recent events. Publishing is synchronous and
never blocks: a slow subscriber cannot stall a processor.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import utcnow
from .redaction import redact, redact_value

__all__ = ["Event", "EventBus"]

_seq = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. ``kind`` is dotted, e.g. ``queue.completed``."""

    kind: str
    message: str
    level: str = "info"
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    seq: int = field(default_factory=lambda: next(_seq))

    @property
    def source(self) -> str:
        return self.kind.split(".", 1)[0]


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self, history: int = 500, clock: Any = None) -> None:
        self._clock = clock  # the runtime's clock, so event times follow a FakeClock in tests
        self._history: deque[Event] = deque(maxlen=history)
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def emit(self, kind: str, message: str, *, level: str = "info", **data: Any) -> Event:
        # Redacted at the source: events reach logs, the console and the published state.
        event = Event(
            kind=kind,
            message=redact(message),
            level=level,
            data=redact_value(data),
            at=self._clock.now() if self._clock is not None else utcnow(),
        )
        self._history.append(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not break a processor
                pass
        return event

    def recent(self, limit: int = 100, after_seq: int = 0) -> list[Event]:
        return [e for e in list(self._history)[-limit:] if e.seq > after_seq]
