"""The Queue Processor: claims usernames and runs the profile fetch pipeline on each (docs/queue.md).

Dispatch is event driven: a freed slot or a wake-up (new work, resumed, settings changed)
triggers an immediate claim, so slots never sit idle waiting for a poll (dispatch efficiency
bar, docs/performance.md). HIGH work pre-empts LOW (Q4): LOW items check at every pipeline step
boundary and, when a HIGH item waits, checkpoint, show PAUSED and give back their slot and
attempt; they resume from their checkpoint later. Priority reaches the rate limiter too: an
item's calls carry its priority (providers/priority.py), and while HIGH items run and the limiter
is what they compete for, LOW items are held back the same way — they pause at their next step
boundary (or give way at the limiter before sending) and none starts until the HIGH work is done
(see docs/priority.md). The process's one lease keeper renews every lease this processor holds (docs/leases.md); an
item whose lease was lost is cancelled, because someone else owns it now.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..clock import to_iso
from ..lease_keeper import LeaseHolder, LeaseKeeper, Recovered
from ..models.queue import Priority, QueueItem, Status
from ..pipeline.prepared import Prepared, prepare_many
from ..pipeline.profile_fetch import PauseRequested, ProfileFetchPipeline
from ..providers.errors import ConfigurationError, ProviderError, QuotaExhaustedError, labelled
from ..providers.priority import call_priority
from ..store.leases import QUEUE, Lease
from ..store.queue_store import LeaseLost, QueueStore
from .base import Processor, ProcessorControl
from .item_times import RunTimes
from .queue_give_way import GivesWay, drain_in_flight
from .retry_policy import RetryPolicy

__all__ = ["QueueProcessor"]

log = logging.getLogger("viralspot.queue")


@dataclass
class _Running:
    item: QueueItem
    task: asyncio.Task[None]
    started: float = field(default_factory=time.monotonic)
    step: str = "claimed"


def _item_key(item: QueueItem) -> str:
    """The checkpoint key of a queue item's fetch (one per row: a re-queued name starts clean)."""
    return f"queue:{item.id}"


class QueueProcessor(GivesWay, Processor):
    name = "queue"

    def __init__(self, runtime: Any, *, poll_seconds: float = 0.25) -> None:
        super().__init__(runtime)
        qs = runtime.settings.queue
        self.store: QueueStore = runtime.queue
        self.max_concurrent = qs.max_concurrent
        self.max_high = qs.max_high
        self.max_low = qs.max_low
        self.lease_seconds = qs.lease_seconds
        self.poll_seconds = poll_seconds
        self.retry = RetryPolicy(qs.retry_base_seconds, qs.retry_max_seconds)
        self.running: dict[int, _Running] = {}
        self._high_running = 0  # HIGH items in ``running``, kept as they come and go (_update_hold reads it per step)
        self.high_waiting = False
        self.hold_low = False  # HIGH items run and compete with LOW ones for the rate limiter
        self.run_times = RunTimes()  # seconds each item has run here, for the console
        self.completed_total = 0
        self.failed_total = 0
        self._per_second: collections.deque[int] = collections.deque([0] * 60, maxlen=60)
        self._second = int(time.monotonic())
        self._slot_freed = asyncio.Event()
        self._dispatching = asyncio.Lock()  # held while claiming and starting items (see _dispatch)
        self._control: ProcessorControl | None = None
        self._pipeline: ProfileFetchPipeline | None = None
        self._leases: LeaseHolder | None = None

    # ------------------------------------------------------------------ settings
    def set_concurrency(
        self, max_concurrent: int | None = None, max_high: int | None = None, max_low: int | None = None
    ) -> None:
        """Change caps while running (docs/queue.md, "Concurrency"); takes effect at the next dispatch."""
        if max_concurrent is not None:
            if int(max_concurrent) < 1:
                raise ValueError("max_concurrent must be at least 1")
            self.max_concurrent = int(max_concurrent)
        if max_high is not None:
            self.max_high = int(max_high) or None
        if max_low is not None:
            self.max_low = int(max_low) or None
        self.runtime.events.emit(
            "queue.concurrency",
            f"concurrency: total {self.max_concurrent}, HIGH {self.max_high or '-'}, LOW {self.max_low or '-'}",
        )
        self._slot_freed.set()

    def _pipeline_for(self) -> ProfileFetchPipeline:
        if self._pipeline is None:
            qs = self.runtime.settings.queue
            self._pipeline = ProfileFetchPipeline(
                self.runtime.require_providers().instagram,
                self.runtime.content,
                self.runtime.checkpoints,
                reels_count=qs.reels_count,
                similar_count=qs.similar_count,
                fetch_reel_details=qs.fetch_reel_details,
                clock=self.runtime.clock,
            )
        return self._pipeline

    # ------------------------------------------------------------------ main loop
    async def run(self, control: ProcessorControl) -> None:
        self._control = control
        if self._leases is None:
            self._leases = LeaseKeeper.of(self.runtime).register(
                "queue",
                self._held_leases,
                lease_seconds=self.lease_seconds,
                on_lost=self._lease_lost,
                on_recovered=self._recovered,
                recover_every=max(1.0, self.lease_seconds / 2),
            )
        await LeaseKeeper.of(self.runtime).recover()  # start-up: dead owners' work comes back at once
        try:
            while not control.stopping:
                if control.paused:
                    await control.wait_resumed()
                    self.blocked = None  # the operator resumed: try again
                    continue
                self._slot_freed.clear()  # before dispatching, so a slot freed meanwhile is not missed
                if await self._dispatch():
                    continue
                await self._wait_for_work(control)
        finally:
            if not control.stopping or not self.running:
                await self._stop_heartbeat()

    async def _wait_for_work(self, control: ProcessorControl) -> None:
        """Until a slot frees, the control wakes us (new work, resume, stop) or a poll interval passes."""
        freed = asyncio.ensure_future(self._slot_freed.wait())
        woken = asyncio.ensure_future(control.sleep(self.poll_seconds))
        try:
            await asyncio.wait({freed, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            freed.cancel()
            woken.cancel()

    async def _stop_heartbeat(self) -> None:
        """Leases must be renewed while anything runs, including during a shutdown drain."""
        holder, self._leases = self._leases, None
        if holder is not None:
            holder.close()

    def _free(self, priority: Priority) -> int:
        total_free = self.max_concurrent - len(self.running)
        cap = self.max_high if priority is Priority.HIGH else self.max_low
        if cap is None:
            return total_free
        in_lane = sum(1 for r in self.running.values() if r.item.priority is priority)
        return min(total_free, cap - in_lane)

    async def _dispatch(self) -> int:
        """Claim what fits, in one database round trip; returns how many items were started.

        Runs under ``_dispatching`` so that a shutdown's drain waits for a claim under way: items
        claimed while stopping are started and then drained like the others, never left behind."""
        async with self._dispatching:
            if self._control is not None and self._control.stopping:
                return 0
            return await self._claim_and_start()

    async def _claim_and_start(self) -> int:
        total = self.max_concurrent - len(self.running)
        if total <= 0:
            self.high_waiting = await self.store.high_waiting()
            self._update_hold()
            return 0
        free_low = 0 if self.hold_low else self._free(Priority.LOW)
        items, self.high_waiting = await self.store.claim_next(
            self._free(Priority.HIGH), free_low, total, self.lease_seconds
        )
        # One round trip for the whole batch's checkpoints and stored reels instead of one per item.
        prepared = await prepare_many(self.runtime.checkpoints, [(_item_key(item), item.username) for item in items])
        for item in items:
            self._start(item, prepared.get(_item_key(item)))
        self._update_hold()
        return len(items)

    def _start(self, item: QueueItem, prepared: Prepared | None = None) -> None:
        task = asyncio.create_task(self._work(item, prepared), name=f"queue:item:{item.username}")
        self.running[item.id] = _Running(item, task)
        self._high_running += item.priority is Priority.HIGH
        self.run_times.started(item.id, self.runtime.clock.now())
        if item.priority is Priority.HIGH:
            self._update_hold()
        self.runtime.events.emit(
            "queue.started",
            f"{item.username} [{item.priority.value}] started (attempt {item.attempts}/{item.max_attempts})",
            username=item.username,
            priority=item.priority.value,
        )

    # ------------------------------------------------------------------ one item
    def _forget(self, item_id: int) -> None:
        """Take an item out of ``running`` (its worker ended or was stopped)."""
        running = self.running.pop(item_id, None)
        if running is not None:
            self._high_running -= running.item.priority is Priority.HIGH

    async def _work(self, item: QueueItem, prepared: Prepared | None = None) -> None:
        events = self.runtime.events
        yields = (lambda: self.hold_low) if item.priority is Priority.LOW else None
        try:
            clock = self.runtime.clock
            owner = item.lease_owner or ""  # a claimed item always has its owner
            with call_priority(item.priority, yields=yields):
                result = await self._pipeline_for().run(
                    item.username,
                    _item_key(item),
                    boundary=lambda: self._boundary(item),
                    # completed_at is when the result is stored (the console's waited/ran add up to it)
                    finish=lambda conn: QueueStore.complete_sync(conn, item.id, owner, to_iso(clock.now()) or ""),
                    resume=prepared.resume if prepared is not None else None,
                    dated=prepared.dated if prepared is not None else None,
                )
            self.completed_total += 1
            self._tick()
            notes = result.notes  # e.g. similar accounts unavailable: the item still completes
            events.emit(
                "queue.completed",
                f"{item.username} completed" + (f" ({'; '.join(notes)})" if notes else ""),
                username=item.username,
            )
        except PauseRequested as pause:
            stopping = self._control is not None and self._control.stopping
            status = Status.PENDING if stopping else Status.PAUSED
            await self._safe(self.store.release(item, status=status))
            events.emit(
                "queue.paused",
                f"{item.username} {status.value.lower()} at a step boundary: {pause}",
                username=item.username,
            )
        except LeaseLost as exc:
            events.emit("queue.lease_lost", f"{item.username}: {exc}", level="warning", username=item.username)
        except QuotaExhaustedError as exc:
            await self._safe(self.store.release(item, not_before=exc.reset_at, note=labelled(exc)))
            events.emit(
                "queue.parked",
                f"{item.username} waits: provider quota exhausted ({exc})",
                level="warning",
                username=item.username,
            )
        except ConfigurationError as exc:
            await self._safe(self.store.release(item, note=labelled(exc)))
            if self._control is not None:
                self._control.pause()
            self.blocked = f"configuration error: {exc}"
            events.emit("queue.config_error", f"configuration error, queue paused: {exc}", level="error")
        except ProviderError as exc:
            await self._record_failure(
                item, labelled(exc), permanent=exc.kind == "permanent", retry_after=getattr(exc, "retry_after", None)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - an unexpected bug still ends in a retry/FAILED, never a hang
            log.exception("unexpected error processing %s", item.username)
            await self._record_failure(item, f"internal error: {type(exc).__name__}: {exc}", permanent=False)
        finally:
            self._forget(item.id)
            self.run_times.stopped(item.id, self.runtime.clock.now())
            if item.priority is Priority.HIGH:
                self._update_hold()
            self._slot_freed.set()

    async def _record_failure(
        self, item: QueueItem, error: str, *, permanent: bool, retry_after: float | None = None
    ) -> None:
        retry_at = self.retry.next_time(self.runtime.clock.now(), item.attempts, retry_after)
        status = await self._safe(self.store.fail(item, error, permanent=permanent, retry_at=retry_at))
        if status is Status.FAILED:
            self.failed_total += 1
            self.runtime.events.emit(
                "queue.failed", f"{item.username} FAILED: {error}", level="error", username=item.username
            )
        elif status is Status.PENDING:
            self.runtime.events.emit(
                "queue.retry",
                f"{item.username} will retry at {to_iso(retry_at)}: {error}",
                level="warning",
                username=item.username,
            )

    async def _safe(self, coro: Any) -> Any:
        try:
            return await coro
        except LeaseLost as exc:
            self.runtime.events.emit("queue.lease_lost", str(exc), level="warning")
            return None

    def _tick(self, completed: int = 1) -> None:
        """Advance the per-second throughput ring to now and count ``completed`` items."""
        now = int(time.monotonic())
        while self._second < now:
            self._second += 1
            self._per_second.append(0)
        self._per_second[-1] += completed

    # ------------------------------------------------------------------ leases (docs/leases.md)
    def _held_leases(self) -> list[Lease]:
        """What the process's one lease keeper renews for this processor at each beat."""
        return [Lease(QUEUE, r.item.id, r.item.lease_owner or "") for r in self.running.values()]

    def stop_item(self, username: str) -> bool:
        """The operator removed a running item: stop its worker now (its row is gone, so nothing
        it would still write can land: every write is fenced by its lease)."""
        for running in list(self.running.values()):
            if running.item.username == username:
                self._forget(running.item.id)  # its lease is gone on purpose, not lost
                running.task.cancel()
                self.runtime.events.emit(
                    "queue.removed", f"{username} removed by the operator; its worker stopped", username=username
                )
                self._slot_freed.set()
                return True
        return False

    def _lease_lost(self, lease: Lease) -> None:
        running = self.running.get(lease.row_id)
        if running is not None and running.item.lease_owner == lease.owner:
            running.task.cancel()
            self.runtime.events.emit(
                "queue.lease_lost", f"lease lost for item {lease.row_id}; stopped it", level="warning"
            )

    def _recovered(self, recovered: Recovered) -> None:
        names = recovered.get(QUEUE.name)
        if names:
            self.runtime.events.emit(
                "queue.recovered", f"recovered {len(names)} item(s) with expired leases", usernames=names[:20]
            )
            self._slot_freed.set()

    # ------------------------------------------------------------------ shutdown and state
    async def drain(self, grace_seconds: float) -> None:
        """Let in-flight items finish within the grace period, then hand the rest back (Q8)."""
        try:
            await self._drain_items(grace_seconds)
        finally:
            await self._stop_heartbeat()

    async def _drain_items(self, grace_seconds: float) -> None:
        async with self._dispatching:  # a claim under way finishes (and starts its items) first
            pass
        if not self.running:
            return
        running = [(r.item, r.task) for r in self.running.values()]
        leftovers = await drain_in_flight(running, self._control, grace_seconds)
        for item in leftovers:  # no note: last_error is for errors, and a shutdown is none
            await self._safe(self.store.release(item))
        if leftovers:
            self.runtime.events.emit("queue.released", f"released {len(leftovers)} in-flight item(s) to PENDING")

    def snapshot(self) -> dict[str, Any]:
        self._tick(0)
        return {
            "in_flight": len(self.running),
            "running": [
                {
                    "username": r.item.username,
                    "priority": r.item.priority.value,
                    "attempts": r.item.attempts,
                    "seconds": round(time.monotonic() - r.started, 1),
                }
                for r in self.running.values()
            ],
            "max_concurrent": self.max_concurrent,
            "max_high": self.max_high,
            "max_low": self.max_low,
            "throughput": list(self._per_second),
            "completed": self.completed_total,
            "failed": self.failed_total,
            "high_waiting": self.high_waiting,
            "holding_low": self.hold_low,
            "ran": self.run_times.snapshot(self.runtime.clock.now()),
        }

    async def is_idle(self) -> bool:
        """Nothing running here and nothing due within a minute (retries further out do not count)."""
        return not self.running and not await self.store.has_work_due(within_seconds=60)
