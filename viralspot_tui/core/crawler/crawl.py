"""One crawl: rounds of seed → similar accounts → dedup → quality filter → LOW enqueue (docs/crawler.md).

The crawl is the same code whether the engine runs it (with a :class:`ProcessorControl`, so it
can be paused between rounds, stopped, and made to wait for tomorrow's budget) or the CLI runs
it in the foreground with ``crawl --wait`` (no control: a spent budget simply ends the crawl).

Why the accounting is strict: every candidate returned by the similar-accounts call ends in
exactly one bucket — dropped (with a reason), duplicate, or queued — and the
:class:`~.models.RoundReport` refuses numbers that do not add up, so an operator reading the
crawler pane can trust them.

Enqueueing goes through :meth:`QueueStore.enqueue` with ``only_unknown``: in the insert's own
transaction it re-checks that the name has no queue row in any status and was never scraped,
so an operator or the queue processor touching the same names between our dedup read and our
insert (a name completing, failing, being added) never yields a second row. A name that loses
that race comes back as ``already-queued`` and is counted as a duplicate, not as queued.

A crawl resumes: given the rounds already recorded for its request, it continues with the next
round number, counts what was queued before towards the target, and does not reuse earlier seeds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..models.queue import EnqueueOutcome, Priority
from ..processors.base import ProcessorControl
from ..providers.errors import ConfigurationError, ProviderError, QuotaExhaustedError
from .budget import DailyBudget
from .dedup import Deduplicator
from .models import Candidate, CrawlOutcome, CrawlReport, Drop, RoundReport
from .quality import QualityFilter
from .seeds import CrawlSeeds, SeedPool
from .store import CrawlerStore

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["Crawl", "StateCallback", "RoundCallback"]

StateCallback = Callable[[str, dict[str, Any]], None]
RoundCallback = Callable[[RoundReport], Awaitable[None] | None]
_FATAL = (QuotaExhaustedError, ConfigurationError)


class Crawl:
    """Run one crawl to its end; :meth:`run` returns the :class:`CrawlReport`."""

    def __init__(
        self,
        runtime: "Runtime",
        *,
        store: CrawlerStore,
        budget: DailyBudget,
        pool: SeedPool,
        seeds: Sequence[str] = (),
        target: int | None = None,
        max_rounds: int | None = None,
        request_id: int | None = None,
        previous: Sequence[RoundReport] = (),
        control: ProcessorControl | None = None,
        on_round: RoundCallback | None = None,
        on_state: StateCallback | None = None,
        heartbeat: Callable[[], Awaitable[None]] | None = None,
        budget_poll_seconds: float = 30.0,
        beat_seconds: float = 20.0,
    ) -> None:
        if runtime.providers is None:
            raise RuntimeError("the crawler needs providers: open the runtime with with_providers=True")
        cfg = runtime.settings.crawler
        self.runtime = runtime
        self.store = store
        self.budget = budget
        self.target = target or cfg.target_new_profiles
        self.max_rounds = max_rounds or cfg.max_rounds
        self.request_id = request_id
        self.control = control
        self.on_round = on_round
        self.on_state = on_state
        self.heartbeat = heartbeat
        self.budget_poll_seconds = budget_poll_seconds
        self.beat_seconds = max(0.01, beat_seconds)
        self.rounds: list[RoundReport] = list(previous)
        self._resumed_rounds = len(self.rounds)
        earlier_seeds = [r.seed for r in self.rounds]
        self.seeds = CrawlSeeds(
            pool, seeds, already_used=earlier_seeds, frontier=[n for r in self.rounds for n in r.queued]
        )
        seen = set(earlier_seeds) | set(self.seeds.explicit)
        for r in self.rounds:
            seen.update(r.queued, r.duplicate_names, (d.username for d in r.drops))
        self.dedup = Deduplicator(runtime.db, seen)
        self.instagram = runtime.providers.instagram
        self.quality = QualityFilter(
            db=runtime.db,
            instagram=self.instagram,
            budget=budget,
            min_followers=cfg.min_followers,
            enrich_per_round=cfg.enrich_budget_per_round,
            blocked=cfg.blocked,
        )
        self._configured_blocks = set(self.quality.blocked)
        self._fatal: ProviderError | None = None

    @property
    def queued_total(self) -> int:
        return sum(len(r.queued) for r in self.rounds)

    def _state(self, state: str, **extra: Any) -> None:
        if self.on_state is not None:
            self.on_state(state, {"rounds_done": len(self.rounds), "queued": self.queued_total, **extra})

    # ------------------------------------------------------------------ the crawl
    async def run(self) -> CrawlReport:
        started = self.runtime.clock.now()
        outcome = CrawlOutcome.ROUNDS_EXHAUSTED
        while True:
            if self.queued_total >= self.target:
                outcome = CrawlOutcome.TARGET_REACHED
                break
            if len(self.rounds) >= self.max_rounds:
                outcome = CrawlOutcome.ROUNDS_EXHAUSTED
                break
            if len(self.rounds) > self._resumed_rounds:  # not before this run's first round
                await self._delay()
            if not await self._gate():
                outcome = CrawlOutcome.BUDGET_EXHAUSTED
                break
            seed = await self.seeds.next()
            if seed is None:
                outcome = CrawlOutcome.SEEDS_EXHAUSTED
                break
            report = await self._round(len(self.rounds) + 1, seed)
            if report is None:  # the budget ran out between the gate and the reservation
                self.seeds.give_back(seed)
                continue
            self.rounds.append(report)
            self.seeds.add_frontier(report.queued)
            await self._publish(report)
            if self._fatal is not None:
                outcome = CrawlOutcome.PROVIDER_UNAVAILABLE
                break
        return CrawlReport(
            request_id=self.request_id,
            target=self.target,
            max_rounds=self.max_rounds,
            rounds=self.rounds,
            outcome=outcome,
            error=str(self._fatal) if self._fatal else None,
            started_at=started,
            finished_at=self.runtime.clock.now(),
        )

    async def _delay(self) -> None:
        seconds = self.runtime.settings.crawler.round_delay_seconds
        if seconds <= 0:
            return
        self._state("delay", seconds=seconds)
        # In slices, renewing the lease between them: the delay may be longer than the lease.
        if self.control is None:
            left = seconds
            while left > 0:
                await self.runtime.clock.sleep(min(left, self.beat_seconds))
                left -= self.beat_seconds
                await self._beat()
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            await self.control.sleep(min(left, self.beat_seconds))
            if self.control.stopping or self.control.paused:
                return  # the gate handles pause and stop
            await self._beat()

    async def _gate(self) -> bool:
        """Between rounds: honour pause and stop, and wait for (or give up on) the daily budget."""
        announced = False
        while True:
            if self.control is not None:
                while self.control.paused and not self.control.stopping:
                    self._state("paused")
                    await self._beat()
                    await self.control.sleep(20.0)
                await self.control.wait_resumed()  # raises Stopping when asked to stop
            if not await self.budget.exhausted():
                if announced:
                    self.runtime.events.emit("crawler.budget_resumed", "crawler: new daily budget, resuming")
                return True
            if self.control is None:
                return False
            if not announced:
                announced = True
                resets = self.budget.resets_at()
                self.runtime.events.emit(
                    "crawler.budget_exhausted",
                    f"crawler: daily budget of {self.budget.limit} calls spent; waiting until {resets.isoformat()}",
                    level="warning",
                    resets_at=resets.isoformat(),
                    limit=self.budget.limit,
                )
            self._state("waiting_budget", resumes_at=self.budget.resets_at().isoformat())
            await self._beat()
            await self.control.sleep(min(self.budget_poll_seconds, max(0.01, self.budget.seconds_until_reset())))

    async def _beat(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat()

    # ------------------------------------------------------------------ one round
    async def _round(self, number: int, seed: str) -> RoundReport | None:
        started = self.runtime.clock.now()
        if await self.budget.reserve(1) < 1:
            return None
        self._state("running", round=number, seed=seed)
        await self._beat()
        base: dict[str, Any] = {"request_id": self.request_id, "round": number, "seed": seed, "started_at": started}
        try:
            similar = await self.instagram.similar(seed)
        except ProviderError as exc:
            if isinstance(exc, _FATAL):
                self._fatal = exc
            return RoundReport(
                **base, calls=1, error=f"{type(exc).__name__}: {exc}"[:300], finished_at=self.runtime.clock.now()
            )
        candidates = [
            Candidate(
                username=a.username,
                is_private=bool(a.is_private),
                followers=a.followers,
                social_context=a.social_context,
            )
            for a in similar
        ]
        # Operators edit the blocklist while crawls run (a crawl may wait a day for budget): reread it.
        self.quality.blocked = self._configured_blocks | await self.store.blocked()
        screened = QualityFilter.screen(candidates)
        split = await self.dedup.split(screened.order)
        verdict = await self.quality.evaluate(split.fresh, screened.valid, self.target - self.queued_total)
        if verdict.fatal is not None:
            self._fatal = verdict.fatal
        queued, raced = await self._enqueue(verdict.accepted)
        duplicates = split.duplicates + raced
        drops: list[Drop] = screened.drops + verdict.drops
        return RoundReport(
            **base,
            found=len(candidates),
            drops=drops,
            duplicates=len(duplicates),
            duplicate_names=duplicates,
            queued=queued,
            calls=1 + verdict.calls,
            finished_at=self.runtime.clock.now(),
        )

    async def _enqueue(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Queue at LOW with source ``crawler``; returns (queued, lost-the-race duplicates)."""
        if not names:
            return [], []
        tag = f"crawl-{self.request_id}" if self.request_id is not None else "crawl"
        results = await self.runtime.queue.enqueue(
            names, Priority.LOW, source="crawler", request_id=tag, only_unknown=True
        )
        queued = [r.username for r in results if r.outcome in (EnqueueOutcome.ADDED, EnqueueOutcome.REFRESHED)]
        raced = [r.username for r in results if r.outcome not in (EnqueueOutcome.ADDED, EnqueueOutcome.REFRESHED)]
        return queued, raced

    async def _publish(self, report: RoundReport) -> None:
        await self.store.record_round(report)
        self.runtime.events.emit(
            "crawler.round",
            "crawler " + report.describe(),
            level="warning" if report.error else "info",
            **report.summary(),
        )
        if self.on_round is not None:
            result = self.on_round(report)
            if result is not None:
                await result
