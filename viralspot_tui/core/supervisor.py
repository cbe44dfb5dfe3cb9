"""The supervisor: hosts the processors and steers them.

Each processor runs as its own task; one that raises is logged, reported as an event and
restarted with exponential back-off, so a bug in one processor never takes the others (or the
console) down. Pause and resume go through each processor's :class:`ProcessorControl`. Around
it, small services do one job each (core/engine_services/): answering control rows, keeping
the queue's home in step, publishing state. A background refresher rebuilds the
:class:`EngineSnapshot` a few times a second, so ``snapshot()`` is free for a UI to call.
See docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .backends.base import QueueBackend
from .engine_services import BackendSync, ControlPoller, StatePublisher
from .heap import settle_heap_for_long_run
from .processors.base import Processor, ProcessorControl, ProcessorState, Stopping
from .processors.item_times import item_timings, oldest_high_wait
from .redaction import redact
from .runtime import Runtime
from .snapshot import EngineSnapshot, ProcessorInfo, QueueSnapshot

if TYPE_CHECKING:
    from .ops import Operations

__all__ = ["Supervisor", "PROCESSOR_NAMES"]

log = logging.getLogger("viralspot.supervisor")
Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Future[None]"]
PROCESSOR_NAMES = ("queue", "viral", "crawler")


class _Slot:
    def __init__(self, processor: Processor) -> None:
        self.processor = processor
        self.control = ProcessorControl(processor.name)
        self.state = ProcessorState.STARTING
        self.restarts = 0
        self.last_error: str | None = None
        self.task: asyncio.Future[None] | None = None


class Supervisor:
    def __init__(
        self,
        runtime: Runtime,
        processors: list[Processor],
        backend: QueueBackend,
        *,
        refresh_seconds: float = 0.4,
        restart_initial: float = 1.0,
        restart_max: float = 60.0,
    ) -> None:
        self.runtime = runtime
        self.backend = backend
        self.slots: dict[str, _Slot] = {p.name: _Slot(p) for p in processors}
        self.refresh_seconds = refresh_seconds
        self.restart_initial = restart_initial
        self.restart_max = restart_max
        self.publisher = StatePublisher(runtime)
        self.control_poller = ControlPoller(self)
        self.backend_sync = BackendSync(backend)
        self._tasks: list[asyncio.Future[None]] = []
        self._snapshot: EngineSnapshot | None = None
        self._operations: Operations | None = None
        self._started = False
        self.draining = False
        self.stopped = asyncio.Event()
        self.quit_requested = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    @property
    def processors(self) -> dict[str, Processor]:
        return {name: slot.processor for name, slot in self.slots.items()}

    def processor(self, name: str) -> Processor:
        return self.slots[name].processor

    def operations(self) -> "Operations":
        """The operations layer bound to this engine, in-process (docs/architecture.md)."""
        if self._operations is None:
            from .ops import Operations
            from .ops.link import InProcessLink

            self._operations = Operations(self.runtime, InProcessLink(self))
        return self._operations

    async def start(self, spawn: Spawn | None = None) -> None:
        """Import the backend, then start every processor.

        ``spawn`` creates the long-running tasks; the TUI passes one that makes them Textual
        workers (so they belong to the App), headless uses plain asyncio tasks.
        """
        if self._started:
            return
        self._started = True
        spawn = spawn or (lambda coro, name: asyncio.create_task(coro, name=name))
        await self.backend.start()
        await self._restore_parked()
        paused = [n for n in await self.publisher.load_paused() if n in self.slots]
        for name in paused:
            self.slots[name].control.pause()
        for slot in self.slots.values():
            slot.task = spawn(self._host(slot), f"processor:{slot.processor.name}")
        self._tasks.append(spawn(self._refresh_loop(), "supervisor:refresh"))
        self._tasks.append(spawn(self.control_poller.run(), "supervisor:control"))
        self._tasks.append(spawn(self.backend_sync.run(), "supervisor:backend"))
        self._tasks.append(spawn(self.publisher.run(lambda: self._snapshot), "supervisor:publish"))
        await self.refresh()
        await self.publisher.publish(self._snapshot)
        settle_heap_for_long_run()  # full GC passes over the start-up heap stalled the loop (core/heap.py)
        self.runtime.events.emit(
            "supervisor.started", "engine started" + (" on SIMULATED data" if self.runtime.simulated else "")
        )
        if paused:
            self.runtime.events.emit(
                "supervisor.paused_at_start",
                f"{', '.join(paused)} paused by an earlier command; `viralspot resume {paused[0]}` "
                "(or space on its pane) resumes it",
                level="warning",
            )

    async def _restore_parked(self) -> None:
        """A provider parked until its plan quota resets stays parked across a restart."""
        providers = self.runtime.providers
        if providers is None:
            return
        for name, (until, reason) in (await self.publisher.load_parked()).items():
            policy = providers.policies.get(name)
            if policy is not None:
                policy.restore_park(until, reason)
                self.runtime.events.emit(
                    f"{name}.parked",
                    f"{name} still parked until {until.isoformat()}: {reason or 'plan quota'}",
                    level="warning",
                )

    async def _host(self, slot: _Slot) -> None:
        """Run one processor forever, restarting it with back-off when it raises."""
        delay = self.restart_initial
        name = slot.processor.name
        while not slot.control.stopping:
            slot.state = ProcessorState.PAUSED if slot.control.paused else ProcessorState.RUNNING
            try:
                await slot.processor.run(slot.control)
                if slot.control.stopping:
                    break
                delay = self.restart_initial
                await slot.control.sleep(self.restart_initial)
            except Stopping:
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a processor crash must not kill the engine
                slot.restarts += 1
                slot.last_error = redact(f"{type(exc).__name__}: {exc}")  # published to `status`
                slot.state = ProcessorState.RESTARTING
                log.exception("processor %s crashed; restarting in %.1fs", name, delay)
                self.runtime.events.emit(
                    f"{name}.crashed",
                    f"{name} processor crashed: {slot.last_error}; restarting in {delay:.0f}s",
                    level="error",
                )
                await slot.control.sleep(delay)
                delay = min(self.restart_max, delay * 2)
        slot.state = ProcessorState.STOPPED

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Graceful shutdown (docs/queue.md, "Shutdown"): stop claiming, drain up to the grace
        period, release the rest."""
        if self.stopped.is_set():
            return
        grace = self.runtime.settings.queue.grace_seconds if grace_seconds is None else grace_seconds
        self.draining = True
        with contextlib.suppress(Exception):  # before stop() wakes every paused control
            await self.publisher.save_paused(n for n, s in self.slots.items() if s.control.paused)
        self.runtime.events.emit("supervisor.draining", f"draining: in-flight work has {grace:g}s to finish")
        for slot in self.slots.values():
            slot.state = ProcessorState.STOPPING
            slot.control.stop()
        await asyncio.gather(*(slot.processor.drain(grace) for slot in self.slots.values()), return_exceptions=True)
        for slot in self.slots.values():
            if slot.task is not None:
                slot.task.cancel()
        await asyncio.gather(*(s.task for s in self.slots.values() if s.task), return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.backend.stop()
        with contextlib.suppress(Exception):
            await self.refresh()
            await self.publisher.publish(self._snapshot, final=True)
        self.runtime.events.emit("supervisor.stopped", "engine stopped cleanly")
        self.stopped.set()

    def force_stop(self) -> None:
        """Second signal: cut any drain short; in-flight work is still released, not lost."""
        for slot in self.slots.values():
            slot.control.force()

    # ------------------------------------------------------------------ steering
    def _names(self, target: str) -> list[str]:
        if target == "all":
            return list(self.slots)
        if target not in self.slots:
            raise KeyError(f"unknown processor {target!r}; choose from {', '.join(self.slots)} or all")
        return [target]

    def pause(self, target: str = "all") -> None:
        """Pause in memory at once; :meth:`steer` also saves it before returning."""
        for name in self._names(target):
            self.slots[name].control.pause()
            self.slots[name].state = ProcessorState.PAUSED
            self.runtime.events.emit(f"{name}.paused", f"{name} paused")

    def resume(self, target: str = "all") -> None:
        for name in self._names(target):
            self.slots[name].control.resume()
            self.slots[name].state = ProcessorState.RUNNING
            self.runtime.events.emit(f"{name}.resumed", f"{name} resumed")

    async def steer(self, command: str, target: str = "all") -> None:
        """``pause`` or ``resume`` and save the paused set, so it holds across a restart."""
        (self.pause if command == "pause" else self.resume)(target)
        await self.publisher.save_paused(n for n, s in self.slots.items() if s.control.paused)

    def is_paused(self, name: str) -> bool:
        return self.slots[name].control.paused

    def wake(self, name: str) -> None:
        if name in self.slots:
            self.slots[name].control.wake()

    def set_concurrency(
        self, max_concurrent: int | None = None, max_high: int | None = None, max_low: int | None = None
    ) -> None:
        from .processors.queue_processor import QueueProcessor

        queue = self.slots["queue"].processor
        assert isinstance(queue, QueueProcessor)
        queue.set_concurrency(max_concurrent=max_concurrent, max_high=max_high, max_low=max_low)

    def stop_item(self, username: str) -> bool:
        """Stop a removed item's worker, if this engine runs it."""
        from .processors.queue_processor import QueueProcessor

        slot = self.slots.get("queue")
        return isinstance(slot.processor, QueueProcessor) and slot.processor.stop_item(username) if slot else False

    async def apply_command(self, command: str, args: dict[str, Any]) -> str:
        """Apply one control command here (as a row from another process would be)."""
        return (await self.operations().apply_control(self, command, args)).message

    async def control_pending(self) -> int:
        return await self.control_poller.pending()

    # ------------------------------------------------------------------ snapshots
    def snapshot(self) -> EngineSnapshot:
        assert self._snapshot is not None, "start() the supervisor first"
        return self._snapshot

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("snapshot refresh failed")

    async def refresh(self) -> EngineSnapshot:
        """Rebuild the snapshot. Its cost does not grow with the queue: counts come from the
        trigger-kept counts table and the board from index range scans with small LIMITs,
        both read and turned into items on the database thread in one round trip
        (``QueueStore.console_view``); the loop only assembles the parts."""
        counts, board = await self.runtime.queue.console_view(limit=40)
        queue_proc = self.slots.get("queue")
        qdetail = queue_proc.processor.snapshot() if queue_proc else {}
        now = self.runtime.clock.now()
        timings = item_timings(board, qdetail.get("ran", {}), now)
        settings = self.runtime.settings.queue
        providers = self.runtime.providers
        backend_state = self.backend.state()
        self._snapshot = EngineSnapshot(
            at=now,
            simulated=self.runtime.simulated,
            backend=backend_state.description,
            online=backend_state.online,
            outbox_depth=backend_state.outbox_depth,
            outbox_oldest_age=backend_state.outbox_oldest_age,
            quota={name: q.as_dict() for name, q in providers.quota_snapshot().items()} if providers else {},
            processors={
                n: ProcessorInfo(
                    n,
                    s.state.value
                    if not (s.control.paused and s.state == ProcessorState.RUNNING)
                    else ProcessorState.PAUSED.value,
                    s.restarts,
                    s.last_error,
                )
                for n, s in self.slots.items()
            },
            queue=QueueSnapshot(
                counts=counts,
                board=board,
                throughput=list(qdetail.get("throughput", [])),
                max_concurrent=qdetail.get("max_concurrent", settings.max_concurrent),
                max_high=qdetail.get("max_high", settings.max_high),
                max_low=qdetail.get("max_low", settings.max_low),
                in_flight=qdetail.get("in_flight", 0),
                timings=timings,
                oldest_high_wait=oldest_high_wait(board, timings),
            ),
            viral=self.slots["viral"].processor.snapshot() if "viral" in self.slots else None,
            crawler=self.slots["crawler"].processor.snapshot() if "crawler" in self.slots else None,
            events=self.runtime.events.recent(200),
            draining=self.draining,
            backend_messages=list(backend_state.messages),
            sim_speed=_sim_speed(self.runtime),
        )
        return self._snapshot

    def on_event(self, callback: Callable[..., None]) -> Callable[[], None]:
        return self.runtime.events.subscribe(callback)


def _sim_speed(runtime: Runtime) -> float:
    """The simulated world's time speed (1 for real APIs and for a simulator at normal pace)."""
    speed = getattr(runtime.simulator, "time_speed", None)
    return float(speed()) if callable(speed) else 1.0
