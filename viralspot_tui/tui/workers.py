"""Run the supervisor's long-lived coroutines as Textual workers owned by the App.

The supervisor creates its tasks through a ``spawn(coro, name)`` callable and later cancels
and awaits what it got back. A Textual :class:`~textual.worker.Worker` can be cancelled but
is not awaitable, so :class:`WorkerHandle` adapts one: ``cancel()`` cancels the worker and
awaiting the handle waits until the worker's coroutine has really finished (clean-up
included), never raising for a cancelled worker. Workers are created on the App, never on a
pane, because Textual cancels a node's workers when that node is removed, and with
``exit_on_error=False`` so an exception is reported instead of ending the app.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerCancelled, WorkerFailed

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["WorkerHandle", "make_spawn", "ENGINE_GROUP"]

ENGINE_GROUP = "engine"


class WorkerHandle:
    """A cancellable awaitable over one Textual worker (what ``Supervisor.start`` expects)."""

    def __init__(self, worker: Worker[Any]) -> None:
        self.worker = worker

    @property
    def name(self) -> str:
        return self.worker.name

    def cancel(self, msg: Any = None) -> bool:
        if self.worker.is_finished:
            return False
        self.worker.cancel()
        return True

    def done(self) -> bool:
        return self.worker.is_finished

    async def _wait(self) -> None:
        try:
            await self.worker.wait()
        except WorkerCancelled:
            return
        except WorkerFailed:
            # Already reported through Worker.StateChanged; awaiting must not re-raise it
            # into the supervisor's shutdown.
            return

    def __await__(self) -> Generator[Any, None, None]:
        return self._wait().__await__()


def make_spawn(app: "App[Any]"):  # noqa: ANN201 - returns the supervisor's Spawn callable
    """The ``spawn`` for :meth:`Supervisor.start`: every task becomes an App worker."""

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> WorkerHandle:
        worker = app.run_worker(
            coro, name=name, group=ENGINE_GROUP, exit_on_error=False, description=f"engine task {name}"
        )
        return WorkerHandle(worker)

    return spawn
