"""The engine's life inside the App: open, start as workers, drain, close.

The App runs the engine in its own event loop. Opening it (database, backend import) happens
in a worker so the first frame is drawn at once; the supervisor's tasks become App workers
through :func:`make_spawn`. Stopping is always the graceful drain (docs/queue.md, "Shutdown") — the ``q`` key,
``ctrl+q``, SIGTERM, a lost terminal and a ``quit`` control command all end up in
:meth:`EngineHost.stop` — and a second request only shortens the grace period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from .workers import make_spawn

if TYPE_CHECKING:
    from textual.app import App

    from ..core.supervisor import Supervisor

__all__ = ["EngineHost", "EngineFactory", "given_supervisor"]

log = logging.getLogger("viralspot.tui")
EngineFactory = Callable[[], AbstractAsyncContextManager["Supervisor"]]
Setup = Callable[["Supervisor"], Awaitable[Any]]


@asynccontextmanager
async def given_supervisor(supervisor: "Supervisor") -> AsyncIterator["Supervisor"]:
    """Wrap an already built supervisor (tests, embedding) as an engine factory's result."""
    yield supervisor


class EngineHost:
    def __init__(self, app: "App[Any]", factory: EngineFactory, setup: Setup | None = None) -> None:
        self.app = app
        self.factory = factory
        self.setup = setup
        self.supervisor: "Supervisor | None" = None
        self._stack = AsyncExitStack()
        self._stopping: asyncio.Task[None] | None = None
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        self.idle_verdict: Any = None

    async def open(self) -> "Supervisor":
        supervisor = await self._stack.enter_async_context(self.factory())
        self.supervisor = supervisor
        await supervisor.start(spawn=make_spawn(self.app))
        if self.setup is not None:
            await self.setup(supervisor)  # e.g. the demo seeds its sample work
        self.started.set()
        return supervisor

    @property
    def stopping(self) -> bool:
        return self._stopping is not None

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Drain and close; concurrent callers share one shutdown."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(grace_seconds))
        await asyncio.shield(self._stopping)

    def hurry(self) -> None:
        """A second quit: cut the grace short (in-flight items are still released, not lost)."""
        if self.supervisor is not None:
            self.supervisor.force_stop()

    async def _stop(self, grace_seconds: float | None) -> None:
        try:
            if self.supervisor is not None and not self.supervisor.stopped.is_set():
                await self.supervisor.stop(grace_seconds=grace_seconds)
        except Exception:  # noqa: BLE001 - closing must still happen
            log.exception("graceful stop failed")
        finally:
            try:
                await self._stack.aclose()
            except Exception:  # noqa: BLE001
                log.exception("closing the engine failed")
            self.closed.set()

    async def wait_for_quit_command(self, on_quit: Callable[[], Any]) -> None:
        """Another process ran ``viralspot quit``-style control: leave like ``ctrl+q``."""
        await self.started.wait()
        assert self.supervisor is not None
        await self.supervisor.quit_requested.wait()
        on_quit()

    async def watch_idle(self, on_idle: Callable[[str], Any], every: float = 1.0) -> None:
        """``--exit-when-idle``: quit once the engine's one idle rule says so (core/idle.py)."""
        from ..core.idle import IdleWatch

        await self.started.wait()
        assert self.supervisor is not None
        watch = IdleWatch(self.supervisor, settle=2)
        while not self.stopping:
            await asyncio.sleep(every)
            try:
                verdict = await watch.check()
            except Exception:  # noqa: BLE001 - an idle probe failing just means "not idle yet"
                verdict = None
            if verdict is not None:
                self.idle_verdict = verdict
                on_idle(verdict.reason)
                return
