"""Crawler actions: ask for a crawl, run one here, the operator blocklist, history.

Asking only *records* a crawl request (a row in the shared database) and wakes the crawler, so
the console's ``c``, ``:crawl`` and ``viralspot crawl`` are one action. ``run_here`` is the
foreground crawl of ``crawl --wait`` when no engine runs: the same :class:`Crawl` the processor
runs, the same lease, the same rule for how the request ends. See docs/crawler.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..models.usernames import InvalidUsername, normalize_username
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..crawler.models import CrawlReport, CrawlRequest, RoundReport
    from ..crawler.store import CrawlerStore
    from ..runtime import Runtime
    from .link import EngineLink

__all__ = ["CrawlActions"]


def _names(raw: Sequence[str]) -> list[str]:
    try:
        return list(dict.fromkeys(normalize_username(s) for s in raw))
    except InvalidUsername as exc:
        raise OpError(str(exc), ErrorKind.USAGE) from None


class CrawlActions:
    runtime: "Runtime"
    link: "EngineLink"

    def crawler_store(self) -> "CrawlerStore":
        from ..crawler.store import CrawlerStore

        return CrawlerStore(self.runtime.db, self.runtime.clock)

    async def _has_profiles(self) -> bool:
        return bool(
            await self.runtime.db.read(
                lambda c: c.execute("SELECT EXISTS (SELECT 1 FROM primary_profiles)").fetchone()[0]
            )
        )

    async def request_crawl(
        self,
        seeds: Sequence[str] = (),
        target: int | None = None,
        rounds: int | None = None,
        source: str = "cli",
        wait: bool = False,
    ) -> OpResult:
        """Record a crawl and wake the crawler; ``data`` is the :class:`CrawlRequest`.

        Without seeds, a crawl that would start now (``wait``, or an engine is running) on a
        database with no stored profile is refused: it could only end at once with nothing found.
        """
        names = _names(seeds)
        cfg = self.runtime.settings.crawler
        starts_now = wait or await self.link.engine_running()
        if not names and starts_now and not await self._has_profiles():
            raise OpError(
                "no profile is stored yet, so there is no seed to start from: give one with --seed NAME "
                "(in the console: :crawl NAME)"
            )
        try:
            request = await self.crawler_store().create_request(
                names, target or cfg.target_new_profiles, rounds or cfg.max_rounds, source=source
            )
        except ValueError as exc:
            raise OpError(str(exc), ErrorKind.USAGE) from None
        woke = await self.link.wake("crawler")
        hosted = await self.link.hosted()
        if hosted is None:
            where = "no engine is running: it starts with the next `viralspot run`, or use --wait to run it now"
        elif "crawler" not in hosted:
            where = "the running engine does not host the crawler"
        elif await self.link.is_paused("crawler"):
            where = "the crawler is paused: resume it to start"
        else:
            where = "the running engine picks it up now"
        seeds_text = ", ".join(request.seeds) or "automatic seeds"
        return OpResult(
            f"crawl #{request.id} recorded ({seeds_text}, target {request.target}, up to {request.max_rounds} "
            f"rounds); {where}",
            data=request,
            woke=("crawler",) if woke else (),
        )

    async def run_crawl_here(
        self, request_id: int, on_round: Callable[["RoundReport"], None] | None = None
    ) -> "CrawlReport | None":
        """No engine runs: claim the request and crawl in this process. ``None`` when another
        process claimed it first (the caller follows it instead)."""
        from ..crawler.budget import DailyBudget
        from ..crawler.crawl import Crawl
        from ..crawler.seeds import SeedPool
        from ..lease_keeper import LeaseKeeper
        from ..redaction import mask_secrets
        from ..store.leases import claim_owner

        store = self.crawler_store()
        owner = claim_owner(self.runtime.instance_id, "cli")  # a fresh fencing token per claim
        request = await store.claim(owner, request_id=request_id)
        if request is None:
            return None
        lease = store.lease(request.id, owner)
        holder = LeaseKeeper.of(self.runtime).hold(lease, lease_seconds=store.lease_seconds, name="crawl-here")

        async def renewed() -> None:  # the keeper renews; the crawl checks at its safe points
            if holder.is_lost(lease):
                raise RuntimeError(f"crawl #{request.id} was taken over by another process")

        crawl = Crawl(
            self.runtime,
            store=store,
            budget=DailyBudget(store, self.runtime.clock, self.runtime.settings.crawler.daily_call_budget),
            pool=SeedPool(self.runtime.db),
            seeds=request.seeds,
            target=request.target,
            max_rounds=request.max_rounds,
            request_id=request.id,
            previous=await store.rounds_for(request.id),
            heartbeat=renewed,
            on_round=on_round,
        )
        try:
            report = await crawl.run()
        except asyncio.CancelledError:
            await asyncio.shield(store.release(request.id, owner))
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the request, reported to the caller
            from ..crawler.models import RequestStatus

            error = mask_secrets(self.runtime.settings, f"{type(exc).__name__}: {exc}")[:500]
            await store.finish(request.id, owner, RequestStatus.FAILED, None, error)
            raise OpError(f"crawl #{request.id} failed: {error}", ErrorKind.ENGINE) from None
        finally:
            holder.close()
        await store.finish(request.id, owner, report.request_status(), report.outcome, report.error)
        return report

    async def crawl_request(self, request_id: int) -> "tuple[CrawlRequest | None, list[RoundReport]]":
        store = self.crawler_store()
        return await store.get_request(request_id), await store.rounds_for(request_id)

    async def block(self, names: Sequence[str], note: str | None = None) -> OpResult:
        store = self.crawler_store()
        lines = []
        for name in _names(names):
            lines.append(f"{name}: blocked" if await store.block(name, note) else f"{name}: already blocked")
        return OpResult(f"{len(lines)} name(s)", lines=tuple(lines))

    async def unblock(self, names: Sequence[str]) -> OpResult:
        from ..crawler.quality import normalize_blocklist

        configured = normalize_blocklist(self.runtime.settings.crawler.blocked)
        store = self.crawler_store()
        lines = []
        for name in _names(names):
            text = f"{name}: unblocked" if await store.unblock(name) else f"{name}: was not on the blocklist"
            if name in configured:
                text += " (still blocked by crawler.blocked in the configuration)"
            lines.append(text)
        return OpResult(f"{len(lines)} name(s)", lines=tuple(lines))

    async def blocklist(self) -> OpResult:
        from ..crawler.quality import normalize_blocklist

        stored = sorted(await self.crawler_store().blocked())
        configured = sorted(normalize_blocklist(self.runtime.settings.crawler.blocked))
        lines = tuple(stored) + tuple(f"{n} (config)" for n in configured)
        return OpResult(f"{len(lines)} blocked", lines=lines, data={"blocklist": stored, "config": configured})

    async def crawl_history(self, limit: int = 20) -> OpResult:
        rounds = await self.crawler_store().recent_rounds(limit)
        lines = tuple(f"#{r.request_id} " + r.describe() for r in rounds)
        data: list[dict[str, Any]] = [r.summary() for r in rounds]
        return OpResult("no crawler rounds yet" if not rounds else f"{len(rounds)} round(s)", lines=lines, data=data)
