"""The supervisor: hosts the processors, steers them, and publishes snapshots.

It is the single object both front ends talk to. Each processor runs as its own task; one
that raises is logged, reported as an event and restarted with exponential back-off, so a
bug in one processor never takes the others (or the console) down. Pause and resume go
through each processor's :class:`ProcessorControl`. A background refresher rebuilds the
:class:`EngineSnapshot` a few times a second, so ``snapshot()`` is free for a UI to call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from .backends.base import QueueBackend
from .clock import to_iso
from .control import ControlChannel
from .heap import settle_heap_for_long_run
from .processors.base import Processor, ProcessorControl, ProcessorState, Stopping
from .redaction import redact
from .runtime import Runtime
from .snapshot import EngineSnapshot, ProcessorInfo, QueueSnapshot

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
        self.control_channel = ControlChannel(runtime.db, runtime.clock, owner=runtime.instance_id)
        self._tasks: list[asyncio.Future[None]] = []
        self._snapshot: EngineSnapshot | None = None
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
        await self._restore_paused()
        for slot in self.slots.values():
            slot.task = spawn(self._host(slot), f"processor:{slot.processor.name}")
        self._tasks.append(spawn(self._refresh_loop(), "supervisor:refresh"))
        self._tasks.append(spawn(self._control_loop(), "supervisor:control"))
        await self.refresh()
        settle_heap_for_long_run()  # full GC passes over the start-up heap stalled the loop (core/heap.py)
        self.runtime.events.emit(
            "supervisor.started", "engine started" + (" on SIMULATED data" if self.runtime.simulated else "")
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
        """Graceful shutdown (SPEC Q8): stop claiming, drain up to the grace period, release the rest."""
        if self.stopped.is_set():
            return
        grace = self.runtime.settings.queue.grace_seconds if grace_seconds is None else grace_seconds
        self.draining = True
        self.runtime.events.emit("supervisor.draining", f"draining: in-flight work has {grace:.0f}s to finish")
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
            await self._publish_state(final=True)
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
        for name in self._names(target):
            self.slots[name].control.pause()
            self.slots[name].state = ProcessorState.PAUSED
            self.runtime.events.emit(f"{name}.paused", f"{name} paused")
        self._persist_paused()

    def resume(self, target: str = "all") -> None:
        for name in self._names(target):
            self.slots[name].control.resume()
            self.slots[name].state = ProcessorState.RUNNING
            self.runtime.events.emit(f"{name}.resumed", f"{name} resumed")
        self._persist_paused()

    def is_paused(self, name: str) -> bool:
        return self.slots[name].control.paused

    def toggle(self, target: str = "all") -> bool:
        """Pause if anything targeted runs, else resume; returns the new paused state."""
        names = self._names(target)
        if any(not self.slots[n].control.paused for n in names):
            self.pause(target)
            return True
        self.resume(target)
        return False

    def wake(self, name: str) -> None:
        if name in self.slots:
            self.slots[name].control.wake()

    def _persist_paused(self) -> None:
        paused = sorted(n for n, s in self.slots.items() if s.control.paused)
        asyncio.get_running_loop().create_task(self.control_channel.set_state("paused", json.dumps(paused)))

    async def _restore_paused(self) -> None:
        value = await self.control_channel.get_state("paused")
        for name in json.loads(value) if value else []:
            if name in self.slots:
                self.slots[name].control.pause()

    async def apply_command(self, command: str, args: dict[str, Any]) -> str:
        """Apply one control command (from another process, the TUI command line or a test)."""
        from .commands import apply_command

        return await apply_command(self, command, args)

    async def _control_loop(self) -> None:
        while True:
            try:
                for cmd in await self.control_channel.fetch_pending():
                    try:
                        result = await self.apply_command(cmd.command, cmd.args)
                    except Exception as exc:  # noqa: BLE001 - report back to the caller
                        result = f"error: {exc}"
                    await self.control_channel.mark_applied(cmd.id, result)
                    self.runtime.events.emit("control.applied", f"control: {cmd.command} → {result}")
                await self.backend.sync()
                await self._publish_state()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("control loop iteration failed")
            await asyncio.sleep(0.5)

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
        settings = self.runtime.settings.queue
        providers = self.runtime.providers
        backend_state = self.backend.state()
        self._snapshot = EngineSnapshot(
            at=self.runtime.clock.now(),
            simulated=self.runtime.simulated,
            backend=backend_state.description,
            online=backend_state.online,
            outbox_depth=backend_state.outbox_depth,
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
            ),
            viral=self.slots["viral"].processor.snapshot() if "viral" in self.slots else {},
            crawler=self.slots["crawler"].processor.snapshot() if "crawler" in self.slots else {},
            events=self.runtime.events.recent(200),
            draining=self.draining,
            backend_messages=list(backend_state.messages),
        )
        return self._snapshot

    async def _publish_state(self, final: bool = False) -> None:
        """Write the snapshot where ``viralspot status`` in another process can read it."""
        if self._snapshot is None:
            return
        payload = self._snapshot.to_json()
        payload["pid"] = os.getpid()
        payload["instance"] = self.runtime.instance_id
        payload["running"] = not final
        payload["heartbeat"] = to_iso(self.runtime.clock.now())
        await self.control_channel.set_state("engine", json.dumps(payload, default=str))

    async def is_idle(self) -> bool:
        for slot in self.slots.values():
            if not await slot.processor.is_idle():
                return False
        return await self.control_channel.pending_count() == 0

    def on_event(self, callback: Callable[..., None]) -> Callable[[], None]:
        return self.runtime.events.subscribe(callback)
