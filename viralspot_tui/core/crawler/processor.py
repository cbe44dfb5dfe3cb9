"""The Network Crawler as an engine processor (docs/crawler.md): on demand, on a schedule, on a budget.

Crawl requests are rows in ``crawler_requests``, written by ``viralspot crawl``, the console's
``c`` key or the schedule; the processor claims the oldest pending one, runs it to its end and
records the outcome. Keeping requests durable is what lets a CLI in another shell ask a running
engine for a crawl, and lets an interrupted crawl (stop, crash, kill) resume after a restart
from its recorded rounds instead of being lost or started over.

With ``crawler.schedule_every_minutes`` set, an automatic crawl is due that many minutes after
the previous scheduled one was *created* (the first is due at once). The schedule lives in the
same table, so a restart neither skips nor doubles a slot.

The processor is pausable between rounds, waits for the next UTC day when the daily call budget
is spent (see :mod:`.budget`), and keeps a small in-memory view for :meth:`snapshot`, which must
stay cheap because the supervisor calls it several times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..lease_keeper import LeaseHolder, LeaseKeeper, Recovered
from ..models.queue import Priority
from ..processors.base import Processor, ProcessorControl, Stopping
from ..providers.priority import call_priority
from ..redaction import mask_secrets
from ..store.leases import CRAWLS, Lease, LeaseLost, claim_owner
from ..views import BudgetView, CrawlerSnapshot, CrawlView, RoundView
from .budget import DailyBudget
from .crawl import Crawl
from .models import CrawlReport, CrawlRequest, RequestStatus, RoundReport
from .seeds import SeedPool
from .store import CrawlerStore

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["CrawlerProcessor"]


class CrawlerProcessor(Processor):
    name = "crawler"

    def __init__(
        self,
        runtime: "Runtime",
        *,
        poll_seconds: float = 1.0,
        history: int = 20,
        rng: random.Random | None = None,
        lease_seconds: float = 60.0,
    ) -> None:
        super().__init__(runtime)
        cfg = runtime.settings.crawler
        self.poll_seconds = poll_seconds
        self.store = CrawlerStore(runtime.db, runtime.clock, lease_seconds=lease_seconds)
        self.budget = DailyBudget(self.store, runtime.clock, cfg.daily_call_budget)
        self.pool = SeedPool(runtime.db, rng)
        self._lease: Lease | None = None  # the crawl this processor holds, if any
        self._leases: LeaseHolder | None = None
        self._rounds: deque[RoundView] = deque(maxlen=history)
        self._current: dict[str, Any] | None = None
        self._totals: dict[str, int] = {"queued": 0, "target": cfg.target_new_profiles}
        self._last: dict[str, Any] | None = None
        self._next_scheduled: datetime | None = None
        self._executing = False
        self._loaded = False

    # ------------------------------------------------------------------ main loop
    async def run(self, control: ProcessorControl) -> None:
        with call_priority(Priority.LOW):  # discovery never delays urgent work at the rate limiter
            await self._run(control)

    async def _run(self, control: ProcessorControl) -> None:
        keeper = LeaseKeeper.of(self.runtime)
        if self._leases is None:
            self._leases = keeper.register(
                "crawler",
                lambda: (self._lease,) if self._lease is not None else (),
                lease_seconds=self.store.lease_seconds,
                on_recovered=lambda recovered: self._recovered(recovered, control),
                recover_every=self.poll_seconds,
            )
        try:
            await keeper.recover()  # start-up: a dead process's crawl comes back at once
            await self._loop(control)
        finally:
            self._close_leases()

    async def _loop(self, control: ProcessorControl) -> None:
        if not self._loaded:
            self._rounds.extend(RoundView.of(r) for r in await self.store.recent_rounds(self._rounds.maxlen or 20))
            await self.budget.spent()
            self._loaded = True
        while not control.stopping:
            await control.wait_resumed()
            # A crawl whose owner died (a killed `crawl --wait`, another engine) is handed back by
            # the lease keeper's periodic recovery, which wakes this loop (docs/leases.md).
            owner = claim_owner(self.runtime.instance_id, "crawler")
            request = await self.store.claim(owner)
            if request is None and await self._schedule_due():
                cfg = self.runtime.settings.crawler
                await self.store.create_request([], cfg.target_new_profiles, cfg.max_rounds, source="schedule")
                continue
            if request is None:
                await self.budget.spent()  # keeps the snapshot's figure fresh across a day change
                await control.sleep(await self._idle_wait())
                continue
            self._lease = self.store.lease(request.id, owner)
            try:
                await self._execute(request, owner, control)
            finally:
                self._lease = None

    async def _execute(self, request: CrawlRequest, owner: str, control: ProcessorControl) -> None:
        previous = await self.store.rounds_for(request.id)
        self._executing = True
        self._current = {
            "request_id": request.id,
            "source": request.source,
            "seeds": list(request.seeds),
            "target": request.target,
            "max_rounds": request.max_rounds,
            "state": "starting",
            "rounds_done": len(previous),
            "queued": sum(len(r.queued) for r in previous),
        }
        self._totals = {"queued": self._current["queued"], "target": request.target}
        self.runtime.events.emit(
            "crawler.started",
            f"crawler: crawl #{request.id} started ({request.source}, "
            f"target {request.target}, up to {request.max_rounds} rounds)"
            + (f", resuming after round {len(previous)}" if previous else ""),
            request_id=request.id,
        )
        crawl = Crawl(
            self.runtime,
            store=self.store,
            budget=self.budget,
            pool=self.pool,
            seeds=request.seeds,
            target=request.target,
            max_rounds=request.max_rounds,
            request_id=request.id,
            previous=previous,
            control=control,
            on_round=self._on_round,
            on_state=self._on_state,
            heartbeat=lambda: self._check_lease(request.id, owner),
            budget_poll_seconds=self.poll_seconds * 10,
            beat_seconds=self.store.lease_seconds / 3,
        )
        try:
            report = await crawl.run()
        except Stopping:
            await self.store.release(request.id, owner)
            self.runtime.events.emit(
                "crawler.interrupted",
                f"crawler: crawl #{request.id} stopped between rounds; it resumes at the next start",
                request_id=request.id,
            )
            raise
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.release(request.id, owner))
            raise
        except LeaseLost as exc:  # someone else runs it now: nothing of ours to record
            self.runtime.events.emit("crawler.lease_lost", f"crawler: {exc}; stopped here", level="warning")
            return
        except Exception as exc:  # noqa: BLE001 - a failed crawl is recorded, the processor goes on
            error = mask_secrets(self.runtime.settings, f"{type(exc).__name__}: {exc}")[:500]
            await self.store.finish(request.id, owner, RequestStatus.FAILED, None, error)
            self.runtime.events.emit(
                "crawler.failed", f"crawler: crawl #{request.id} failed: {error}", level="error", request_id=request.id
            )
            return
        finally:
            self._executing = False
            self._current = None
        await self._finished(report, owner)

    async def _finished(self, report: CrawlReport, owner: str) -> None:
        assert report.request_id is not None
        await self.store.finish(report.request_id, owner, report.request_status(), report.outcome, report.error)
        self._totals = {"queued": len(report.queued), "target": report.target}
        self._last = {
            "request_id": report.request_id,
            "outcome": report.outcome.value,
            "queued": len(report.queued),
            "target": report.target,
            "rounds": len(report.rounds),
            "calls": report.calls,
            "error": report.error,
        }
        self.runtime.events.emit(
            "crawler.finished",
            f"crawler: crawl #{report.request_id} — {report.describe()}",
            level="warning" if report.error else "info",
            **self._last,
        )

    # ------------------------------------------------------------------ callbacks from the crawl
    def _on_round(self, report: RoundReport) -> None:
        self._rounds.append(RoundView.of(report))
        if self._current is not None:
            self._current["rounds_done"] = report.round
            self._current["queued"] += len(report.queued)
            self._totals["queued"] = self._current["queued"]

    def _on_state(self, state: str, info: dict[str, Any]) -> None:
        if self._current is not None:
            self._current.update(info)
            self._current["state"] = state

    # ------------------------------------------------------------------ leases (docs/leases.md)
    async def _check_lease(self, request_id: int, owner: str) -> None:
        """At the crawl's safe points: stop if the keeper found our lease gone (no database trip)."""
        if self._leases is not None and self._leases.is_lost(self.store.lease(request_id, owner)):
            raise LeaseLost(f"crawl #{request_id} was taken over by another process")

    def _recovered(self, recovered: Recovered, control: ProcessorControl) -> None:
        crawls = recovered.get(CRAWLS.name)
        if crawls:
            self.runtime.events.emit(
                "crawler.recovered", f"crawler: {len(crawls)} interrupted crawl(s) will resume", request_ids=crawls
            )
            control.wake()

    def _close_leases(self) -> None:
        holder, self._leases = self._leases, None
        if holder is not None:
            holder.close()

    # ------------------------------------------------------------------ schedule
    async def _schedule_due(self) -> bool:
        every = self.runtime.settings.crawler.schedule_every_minutes
        if every is None:
            self._next_scheduled = None
            return False
        last = await self.store.last_scheduled_at()
        self._next_scheduled = None if last is None else last + timedelta(minutes=every)
        return self._next_scheduled is None or self.runtime.clock.now() >= self._next_scheduled

    async def _idle_wait(self) -> float:
        wait = self.poll_seconds * 5
        if self._next_scheduled is not None:
            until = (self._next_scheduled - self.runtime.clock.now()).total_seconds()
            wait = min(wait, max(until, self.poll_seconds))
        return wait

    # ------------------------------------------------------------------ Processor API
    def snapshot(self) -> CrawlerSnapshot:
        current = None
        if self._current is not None:
            c = self._current
            known = ("request_id", "source", "seeds", "target", "max_rounds", "state", "rounds_done", "queued")
            current = CrawlView(
                request_id=c["request_id"],
                source=c["source"],
                seeds=tuple(c["seeds"]),
                target=c["target"],
                max_rounds=c["max_rounds"],
                state=str(c.get("state", "starting")),
                rounds_done=int(c.get("rounds_done", 0)),
                queued=int(c.get("queued", 0)),
                detail={k: v for k, v in c.items() if k not in known},
            )
        budget = self.budget.cached()
        return CrawlerSnapshot(
            rounds=tuple(self._rounds),
            current=current,
            queued=self._totals["queued"],
            target=self._totals["target"],
            budget=BudgetView(
                used=int(budget["spent"]),  # type: ignore[call-overload]
                limit=int(budget["limit"]),  # type: ignore[call-overload]
                unlimited=bool(budget["unlimited"]),
                day=str(budget["day"]),
                resets_at=str(budget["resets_at"]),
            ),
            last_outcome=self._last["outcome"] if self._last else None,
            last_error=self._last["error"] if self._last else None,
            schedule_every_minutes=self.runtime.settings.crawler.schedule_every_minutes,
            next_scheduled_at=self._next_scheduled,
        )

    async def is_idle(self) -> bool:
        if self._executing or await self.store.open_count() > 0:
            return False
        if self.runtime.settings.crawler.schedule_every_minutes is None:
            return True
        return not await self._schedule_due()

    async def drain(self, grace_seconds: float) -> None:
        """Let a round in flight finish (up to the grace period); the crawl stops at the next gate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        while self._executing and loop.time() < deadline:
            await asyncio.sleep(0.05)
