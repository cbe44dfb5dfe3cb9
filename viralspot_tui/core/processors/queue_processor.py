"""The Queue Processor: claims usernames and runs the profile fetch pipeline on each (SPEC §2).

Dispatch is event driven: a freed slot or a wake-up (new work, resumed, settings changed)
triggers an immediate claim, so slots never sit idle waiting for a poll (dispatch efficiency
bar, SPEC §10). HIGH work pre-empts LOW (Q4): LOW items check at every pipeline step
boundary and, when a HIGH item waits, checkpoint, show PAUSED and give back their slot and
attempt; they resume from their checkpoint later. One heartbeat task renews every lease this
process holds; an item whose lease was lost is cancelled, because someone else owns it now.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..clock import to_iso
from ..models.queue import Priority, QueueItem, Status
from ..pipeline.profile_fetch import PauseRequested, ProfileFetchPipeline
from ..providers.errors import ConfigurationError, ProviderError, QuotaExhaustedError, labelled
from ..store.queue_store import LeaseLost, QueueStore
from .base import Processor, ProcessorControl
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


class QueueProcessor(Processor):
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
        self.high_waiting = False
        self.completed_total = 0
        self.failed_total = 0
        self._per_second: collections.deque[int] = collections.deque([0] * 60, maxlen=60)
        self._second = int(time.monotonic())
        self._slot_freed = asyncio.Event()
        self._dispatching = asyncio.Lock()  # held while claiming and starting items (see _dispatch)
        self._control: ProcessorControl | None = None
        self._pipeline: ProfileFetchPipeline | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ settings
    def set_concurrency(
        self, max_concurrent: int | None = None, max_high: int | None = None, max_low: int | None = None
    ) -> None:
        """Change caps while running (SPEC Q5); takes effect at the next dispatch."""
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
                self.runtime.providers.instagram,
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
        swept = await self.store.release_dead_local_owners() + await self.store.sweep_expired()
        if swept:
            self.runtime.events.emit(
                "queue.recovered", f"recovered {len(swept)} item(s) with expired leases", usernames=swept[:20]
            )
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="queue:heartbeat")
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
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
            return 0
        items, self.high_waiting = await self.store.claim_next(
            self._free(Priority.HIGH), self._free(Priority.LOW), total, self.lease_seconds
        )
        # One round trip for the whole batch's checkpoints instead of one per item.
        resume = await self.runtime.checkpoints.load_many([_item_key(item) for item in items])
        for item in items:
            self._start(item, resume.get(_item_key(item), {}))
        return len(items)

    def _start(self, item: QueueItem, resume: dict[str, Any] | None = None) -> None:
        task = asyncio.create_task(self._work(item, resume), name=f"queue:item:{item.username}")
        self.running[item.id] = _Running(item, task)
        self.runtime.events.emit(
            "queue.started",
            f"{item.username} [{item.priority.value}] started (attempt {item.attempts}/{item.max_attempts})",
            username=item.username,
            priority=item.priority.value,
        )

    # ------------------------------------------------------------------ one item
    async def _boundary(self, item: QueueItem) -> None:
        control = self._control
        if control is not None and control.forced:
            raise PauseRequested("shutting down")
        if control is not None and control.paused:
            raise PauseRequested("processor paused")
        if item.priority is Priority.LOW and self.high_waiting:
            raise PauseRequested("HIGH priority work is waiting")

    async def _work(self, item: QueueItem, resume: dict[str, Any] | None = None) -> None:
        events = self.runtime.events
        try:
            now = to_iso(self.runtime.clock.now())
            await self._pipeline_for().run(
                item.username,
                _item_key(item),
                boundary=lambda: self._boundary(item),
                finish=lambda conn: QueueStore.complete_sync(conn, item.id, item.lease_owner, now),
                resume=resume,
            )
            self.completed_total += 1
            self._tick()
            events.emit("queue.completed", f"{item.username} completed", username=item.username)
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
            self.running.pop(item.id, None)
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

    # ------------------------------------------------------------------ leases
    async def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        sweep_every = max(1.0, self.lease_seconds / 2)
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                leases = [(r.item.id, r.item.lease_owner or "") for r in self.running.values()]
                kept = await self.store.heartbeat(leases, self.lease_seconds)
                for item_id, _ in leases:
                    if item_id not in kept and item_id in self.running:
                        self.running[item_id].task.cancel()
                        self.runtime.events.emit(
                            "queue.lease_lost", f"lease lost for item {item_id}; stopped it", level="warning"
                        )
                if time.monotonic() - last_sweep >= sweep_every:
                    last_sweep = time.monotonic()
                    swept = await self.store.sweep_expired()
                    if swept:
                        self.runtime.events.emit("queue.recovered", f"requeued {len(swept)} expired lease(s)")
                        self._slot_freed.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep heartbeating
                log.exception("heartbeat failed")

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
        tasks = [r.task for r in self.running.values()]
        control = self._control
        if grace_seconds > 0 and control is not None and not control.forced:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace_seconds
            forced = asyncio.ensure_future(control.wait_forced())
            while not forced.done() and (left := [t for t in tasks if not t.done()]):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await asyncio.wait([*left, forced], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            forced.cancel()
        pending = {t for t in tasks if not t.done()}
        leftovers = [r.item for r in self.running.values() if r.task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for item in leftovers:
            await self._safe(self.store.release(item, note="released at shutdown"))
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
        }

    async def is_idle(self) -> bool:
        """Nothing running here and nothing due within a minute (retries further out do not count)."""
        return not self.running and not await self.store.has_work_due(within_seconds=60)
