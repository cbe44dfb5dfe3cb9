"""What every background processor is: a long-running coroutine steered by a control.

The supervisor owns one :class:`ProcessorControl` per processor. Pausing, resuming and
stopping are requests the processor honours at its own safe points (between items, between
pipeline steps), which is what makes them safe: nothing is cut in half.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["ProcessorState", "ProcessorControl", "Processor", "Stopping"]


class ProcessorState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    RESTARTING = "restarting"


class Stopping(Exception):
    """Raised from a wait when the processor has been asked to stop."""


class ProcessorControl:
    """Pause/resume/stop flags plus an interruptible sleep, shared by supervisor and processor."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._running = asyncio.Event()
        self._running.set()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._force = asyncio.Event()

    @property
    def forced(self) -> bool:
        return self._force.is_set()

    def force(self) -> None:
        """A second stop request: cut the grace period short (still releasing work safely)."""
        self.stop()
        self._force.set()

    async def wait_forced(self) -> None:
        await self._force.wait()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self._running.clear()
        self._wake.set()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        self._wake.set()

    def wake(self) -> None:
        """Cut the current :meth:`sleep` short (new work arrived, settings changed)."""
        self._wake.set()

    async def wait_resumed(self) -> None:
        """Block while paused; raise :class:`Stopping` if a stop was requested."""
        if self._stop.is_set():
            raise Stopping(self.name)
        await self._running.wait()
        if self._stop.is_set():
            raise Stopping(self.name)

    async def sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``; returns early on wake/pause/stop. Never raises for stop."""
        self._wake.clear()
        if self._stop.is_set() or seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass


class Processor(ABC):
    """A background processor hosted by the supervisor.

    ``run`` is called again (with back-off) if it raises; it must therefore be restartable,
    which in practice means it keeps its durable state in the stores, not in memory.
    """

    name: str = "processor"

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime
        self.blocked: str | None = None
        """Why the processor stopped itself and needs the operator (e.g. an unsubscribed API key)."""

    @abstractmethod
    async def run(self, control: ProcessorControl) -> None:
        """Work until ``control.stopping``; honour ``control.paused`` at safe points."""

    @abstractmethod
    def snapshot(self) -> Any:
        """A cheap view of the processor's state for UIs and ``status`` (typed: see core/views.py)."""

    async def is_idle(self) -> bool:
        """True when nothing is pending, running or scheduled soon (for --exit-when-idle)."""
        return True

    async def drain(self, grace_seconds: float) -> None:
        """Called after stop is requested: finish or hand back in-flight work (docs/queue.md, "Shutdown")."""
