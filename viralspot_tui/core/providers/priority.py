"""Priority under the rate limit: HIGH calls are sent before waiting LOW ones (see docs/priority.md).

Why a limiter of our own rather than a token bucket library: a bucket serves waiters in
arrival order, so a HIGH item's calls queue behind every LOW call already waiting and an urgent
item runs at the speed of the backlog. Here each waiting call sits in its priority's line, and
each time a send slot opens the head of the HIGH line is served before any LOW call, whenever
it arrived.

The priority of a call is not an argument threaded through every provider method: it is the
work item's, so the processor that runs the item sets it once in a context variable
(:func:`call_priority`) and every call the item's tasks make — TaskGroup children included —
carries it down to :meth:`PriorityLimiter.acquire`.

A LOW call may also *give way*: a queue item that can pause and resume from its checkpoint
passes ``yields``; while that says so, its calls waiting here are withdrawn with
:class:`Preempted` (nothing was sent, so nothing is lost or repeated) and the pipeline treats
that as a pause at the step boundary.

Spacing is that of a bucket of size one: one grant every ``interval`` seconds, no burst after
idle time, because a provider counting a trailing one-second window answers a burst with 429s.
``share`` divides the rate when several processes use the same API key (shared_budget.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from ..models.queue import Priority

__all__ = [
    "CallClass",
    "Preempted",
    "PriorityLimiter",
    "Ticker",
    "MonotonicTicker",
    "call_priority",
    "current_call_class",
]


@dataclass(frozen=True)
class CallClass:
    """Who is calling: the work item's priority and, for pausable LOW work, when to give way."""

    priority: Priority = Priority.LOW
    yields: Callable[[], bool] | None = None


# Unmarked calls are LOW: only work an operator asked for is urgent, and it is marked as such.
_UNMARKED = CallClass()
_CALL_CLASS: ContextVar[CallClass | None] = ContextVar("viralspot_call_class", default=None)


@contextmanager
def call_priority(priority: Priority, *, yields: Callable[[], bool] | None = None) -> Iterator[CallClass]:
    """Mark every outbound call made in this context (and the tasks it starts) as ``priority``."""
    cls = CallClass(priority, yields)
    token = _CALL_CLASS.set(cls)
    try:
        yield cls
    finally:
        _CALL_CLASS.reset(token)


def current_call_class() -> CallClass:
    return _CALL_CLASS.get() or _UNMARKED


class Preempted(Exception):
    """A LOW call gave way to HIGH work before it was sent; its step has not happened yet."""


class Ticker(Protocol):
    """The limiter's time: a monotonic reading and a sleep (tests drive a fake one)."""

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicTicker:
    def time(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


_Waiter = tuple[asyncio.Future[None], CallClass]
_EARLY = 0.0005  # well inside the policy's spacing margin (2% of the interval)


class PriorityLimiter:
    """One grant every ``interval × share`` seconds; HIGH waiters before LOW ones, FIFO within each."""

    def __init__(self, interval: float, *, ticker: Ticker | None = None) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.base_interval = interval
        self.share = 1  # processes currently sending with this API key (1 = this one alone)
        self.ticker: Ticker = ticker or MonotonicTicker()
        self.granted: dict[Priority, int] = {Priority.HIGH: 0, Priority.LOW: 0}
        self.preempted = 0
        self.on_activate: Callable[["PriorityLimiter"], Awaitable[None]] | None = None
        """Awaited before the first grant after ``idle_after`` seconds unused (joining a shared budget)."""
        self.idle_after = 2.0
        self._lines: dict[Priority, deque[_Waiter]] = {Priority.HIGH: deque(), Priority.LOW: deque()}
        self._next = -math.inf  # ticker time of the next free slot
        self._last_used = -math.inf
        self._last_backlog = -math.inf
        self._dispatcher: asyncio.Task[None] | None = None
        self._activating: asyncio.Lock | None = None

    # ------------------------------------------------------------------ reading
    @property
    def interval(self) -> float:
        return self.base_interval * max(1, self.share)

    def waiting(self, priority: Priority | None = None) -> int:
        lines = self._lines.values() if priority is None else (self._lines[priority],)
        return sum(1 for line in lines for fut, _ in line if not fut.done())

    def saturated(self, within: float = 1.0) -> bool:
        """Did calls have to queue here in the last ``within`` seconds (demand above the rate)?"""
        return self.waiting() > 0 or self.ticker.time() - self._last_backlog < within

    def active(self) -> bool:
        """Used recently or waited on: this process needs a share of the key's budget."""
        return self.waiting() > 0 or self.ticker.time() - self._last_used < self.idle_after

    # ------------------------------------------------------------------ acquiring
    async def acquire(self) -> None:
        """Wait for a send slot, in the line of the current :class:`CallClass`."""
        cls = current_call_class()
        if cls.yields is not None and cls.priority is Priority.LOW and cls.yields():
            self.preempted += 1
            raise Preempted("HIGH work is using the rate limit")
        now = self.ticker.time()
        if self.on_activate is not None and (
            now - self._last_used >= self.idle_after or (self._activating is not None and self._activating.locked())
        ):
            await self._activate()
            now = self.ticker.time()
        self._last_used = now
        if self.waiting() == 0 and now >= self._next:
            self._grant(cls, now)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lines[cls.priority].append((future, cls))
        self._last_backlog = now
        self._ensure_dispatcher()
        await future

    def preempt(self) -> int:
        """Withdraw every waiting LOW call whose class says it should give way now."""
        line = self._lines[Priority.LOW]
        kept: deque[_Waiter] = deque()
        withdrawn = 0
        for future, cls in line:
            if future.done():
                continue
            if cls.yields is not None and cls.yields():
                future.set_exception(Preempted("HIGH work is using the rate limit"))
                withdrawn += 1
            else:
                kept.append((future, cls))
        self._lines[Priority.LOW] = kept
        self.preempted += withdrawn
        return withdrawn

    def delay(self, until: float) -> None:
        """No grant before ticker time ``until`` (a process joining a shared budget waits its turn)."""
        self._next = max(self._next, until)

    # ------------------------------------------------------------------ internals
    def _grant(self, cls: CallClass, now: float) -> None:
        self._next = max(now, self._next) + self.interval
        self.granted[cls.priority] += 1

    async def _activate(self) -> None:
        if self._activating is None:
            self._activating = asyncio.Lock()
        async with self._activating:
            if self.ticker.time() - self._last_used < self.idle_after:
                return  # another caller activated it while we waited for the lock
            assert self.on_activate is not None
            try:
                await self.on_activate(self)
            finally:
                self._last_used = self.ticker.time()

    def _ensure_dispatcher(self) -> None:
        task = self._dispatcher
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch(), name="limiter:dispatch")

    def _head(self) -> _Waiter | None:
        for priority in (Priority.HIGH, Priority.LOW):
            line = self._lines[priority]
            while line and line[0][0].done():
                line.popleft()  # cancelled while waiting
            if line:
                return line.popleft()
        return None

    async def _dispatch(self) -> None:
        """Sleep to each slot, then serve whoever heads the lines *then* (a HIGH that came meanwhile wins)."""
        while self.waiting() > 0:
            wait = self._next - self.ticker.time()
            if wait > _EARLY:  # a timer may fire a hair early: serve it rather than sleep again
                await self.ticker.sleep(wait)
                continue
            waiter = self._head()
            if waiter is None:
                return
            future, cls = waiter
            self._grant(cls, self.ticker.time())
            future.set_result(None)
