"""The profile fetch pipeline (docs/queue.md): profile, reels, similar accounts → one store.

Why it is shaped this way:

* **Concurrency** — the profile, the chain of reel pages (each page needs the previous token,
  so the chain itself is sequential) and the similar accounts are independent, so they run in
  one ``asyncio.TaskGroup``; reel details run concurrently too. The shared outbound policy
  underneath keeps all of it within the provider's rate limit.
* **Checkpoints** — every finished network step saves its *parsed* result before its branch
  moves on. A later ``run`` for the same ``item_key`` loads those steps instead of calling the
  API, so a paused, crashed or failed item resumes without repeating a finished call (P4, Q4).
* **Stopping** — when ``boundary()`` raises :class:`PauseRequested`, a call waiting at the rate
  limiter gives way to HIGH work (:class:`Preempted`: nothing was sent), or a branch fails, no
  branch starts a new step, but steps already in flight are allowed to finish and checkpoint
  (cancelling them would throw away requests already paid for). Then the pause or the first
  error (profile before reels before similar) propagates.
* **Similar accounts are optional** — a failed or missing similar-accounts answer never
  discards the profile and reels already fetched: the item completes with a note in
  :attr:`FetchResult.notes` (quota and configuration errors still stop the item: they are
  not about this account, and its checkpoints keep what was fetched).
* **Details only where needed** — list entries may lack ``taken_at`` and captions; details
  are fetched only for reels still missing views or a date after what is already stored,
  the most viewed first (the viral selection's candidates), at most ``detail_cap`` per
  profile (``fetch_reel_details`` asks for every reel, uncapped), and they only fill what is
  missing (docs/real-apis.md). What is stored is read with the checkpoints (prepared.py).
* **One transaction** — the store step upserts everything, recomputes outlier scores and
  aggregates over all stored reels, calls the queue's ``finish(conn)`` and deletes the
  checkpoints in one ``db.write``: the results, the item's completion and the cleanup commit
  together or not at all (Q7).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..clock import Clock, SystemClock, to_iso
from ..models.instagram import ProfileData, ReelData, ReelDetail, ReelsPage, SimilarAccount
from ..providers.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    PrivateProfileError,
    ProviderError,
    QuotaExhaustedError,
    TransientError,
)
from ..providers.instagram import InstagramProvider, PageGuard, checked_username
from ..providers.policy import count_calls
from ..providers.priority import Preempted
from ..store.checkpoints import CheckpointStore, clear_sync
from ..store.content import ContentStore, StoreCounts, upsert_profile_sync
from .prepared import dated_many_sync

__all__ = ["PauseRequested", "FetchResult", "ProfileFetchPipeline", "DETAIL_CAP"]

DETAIL_CAP = 12  # detail calls per profile at most: one page's worth, not one per reel

log = logging.getLogger("viralspot.pipeline")

M = TypeVar("M", bound=BaseModel)
Boundary = Callable[[], Awaitable[None]]
Finish = Callable[[sqlite3.Connection], None]


class PauseRequested(Exception):
    """Raised by a ``boundary`` callback (and re-raised by ``run``) to pause at a step boundary."""


class _Stopped(Exception):
    """Internal: this branch must not start another step."""


@dataclass(frozen=True)
class FetchResult:
    username: str
    profile: ProfileData
    reels_new: int
    reels_updated: int
    similar: int
    calls: int
    resumed_steps: int
    fetched_at: datetime
    notes: tuple[str, ...] = ()

    @property
    def reels_stored(self) -> int:
        return self.reels_new + self.reels_updated


class _Run:
    """State of one ``run``: checkpoints loaded, results so far, the stop signal."""

    def __init__(
        self,
        pipeline: "ProfileFetchPipeline",
        name: str,
        item_key: str,
        boundary: Boundary | None,
        done: dict[str, Any],
        dated: frozenset[str] | None = None,
    ) -> None:
        self.p = pipeline
        self.name = name
        self.item_key = item_key
        self.boundary = boundary
        self.done = done
        self.dated = dated  # shortcodes already stored with a date, when the caller read them
        self.resumed = 0
        self.stopping = False
        self.pause: PauseRequested | None = None
        self.errors: dict[str, BaseException] = {}
        self.profile: ProfileData | None = None
        self.reels: list[ReelData] = []
        self.similar: list[SimilarAccount] = []
        self.saves: list[Awaitable[None]] = []
        self.notes: list[str] = []
        self.details_failed = 0

    async def settle_saves(self, quiet: bool = False) -> None:
        """Wait for queued checkpoint writes (they fail loudly here, not silently).

        ``quiet`` after the final store: the checkpoints are cleared by then, so a failed
        save no longer matters to anyone and is only logged."""
        saves, self.saves = self.saves, []
        for save in saves:
            if not quiet:
                await save
                continue
            try:
                await save
            except Exception:  # noqa: BLE001 - see the docstring
                log.warning("a checkpoint save failed after the item was stored", exc_info=True)

    async def step(self, step: str, fetch: Callable[[], Awaitable[M]], model: type[M]) -> M:
        if step in self.done:
            saved = self.done[step]
            try:  # a loaded checkpoint is decoded JSON; one saved by this run is its JSON text
                value = model.model_validate_json(saved) if isinstance(saved, str) else model.model_validate(saved)
            except ValidationError:  # written by an older version: fetch again
                self.done.pop(step)
            else:
                self.resumed += 1
                return value
        await self._enter()
        try:
            result = await fetch()
        except Preempted as exc:  # withdrawn at the rate limiter before sending: a pause at this boundary
            self.pause = self.pause or PauseRequested(str(exc))
            self.stopping = True
            raise _Stopped from None
        payload = result.model_dump_json()  # straight to JSON text, no dict in between
        # Queued, not awaited (joined with other items' saves of this loop iteration): the database
        # thread applies writes in order, so it lands before the final store transaction.
        self.saves.append(self.p.checkpoints.save_text_queued(self.item_key, step, payload))
        self.done[step] = payload
        return result

    async def _enter(self) -> None:
        """The step boundary: no new network step once stopping, pausing or failing."""
        if self.stopping:
            raise _Stopped
        if self.boundary is not None:
            try:
                await self.boundary()
            except PauseRequested as exc:
                self.pause = self.pause or exc
                self.stopping = True
                raise _Stopped from None
        if self.stopping:
            raise _Stopped

    async def guard(self, branch: str, work: Awaitable[None]) -> None:
        try:
            await work
        except _Stopped:
            return
        except ProviderError as exc:
            if branch == "similar" and not isinstance(exc, (QuotaExhaustedError, ConfigurationError)):
                # Optional data: the profile and reels still complete the item (module docstring).
                self.notes.append(f"similar accounts not fetched: {exc}")
                log.warning("%s: similar accounts not fetched, the item completes without them: %s", self.name, exc)
                return
            self.errors.setdefault(branch, exc)
            self.stopping = True
        except Exception as exc:  # noqa: BLE001 - recorded and re-raised by run() after siblings settle
            self.errors.setdefault(branch, exc)
            self.stopping = True

    def raise_if_failed(self) -> None:
        for branch in ("profile", "reels", "similar", "details"):
            if branch in self.errors:
                raise self.errors[branch]
        if self.pause is not None:
            raise self.pause

    # ------------------------------------------------------------------------ branches
    async def fetch_profile(self) -> None:
        self.profile = await self.step("profile", lambda: self.p.instagram.profile(self.name), ProfileData)
        if self.profile.is_private:
            self.stopping = True  # nothing more can be read; in-flight steps still finish

    async def fetch_reels(self) -> None:
        wanted = self.p.reels_count
        collected: dict[str, ReelData] = {}
        guard = PageGuard()  # a repeated token or a page of nothing new ends paging
        token: str | None = None
        number = 1
        while len(collected) < wanted:
            remaining, after = wanted - len(collected), token
            page = await self.step(
                f"reels:{number}",
                lambda: self.p.instagram.reels_page(self.name, count=remaining, max_id=after),  # noqa: B023
                ReelsPage,
            )
            for reel in page.reels:
                collected.setdefault(reel.shortcode, reel)
            token = guard.next_token(page)
            if token is None:
                break
            number += 1
        self.reels = list(collected.values())[:wanted]

    async def fetch_similar(self) -> None:
        step = await self.step("similar", lambda: self._similar(), _SimilarList)
        self.similar = step.accounts

    async def _similar(self) -> "_SimilarList":
        accounts = await self.p.instagram.similar(self.name, limit=self.p.similar_count)
        return _SimilarList(accounts=accounts)

    async def fetch_detail(self, index: int, reel: ReelData) -> None:
        async def fetch() -> _DetailResult:
            try:
                return _DetailResult(detail=await self.p.instagram.reel_detail(reel.shortcode))
            except NotFoundError:  # the reel vanished since the list: keep what the list said
                return _DetailResult(detail=None)

        try:
            result = await self.step(f"detail:{reel.shortcode}", fetch, _DetailResult)
        except TransientError as exc:  # retried and still failing: the list entry stands
            self.details_failed += 1
            log.info("%s: detail of %s unavailable, keeping the list entry: %s", self.name, reel.shortcode, exc)
            return
        if result.detail is not None and result.detail.shortcode == reel.shortcode:  # never another reel's data
            self.reels[index] = reel.merged_with(result.detail)


class _SimilarList(BaseModel):
    accounts: list[SimilarAccount]


class _DetailResult(BaseModel):
    detail: ReelDetail | None


class ProfileFetchPipeline:
    """Fetch one profile with its reels and similar accounts, checkpointed, and store it."""

    def __init__(
        self,
        instagram: InstagramProvider,
        content: ContentStore,
        checkpoints: CheckpointStore,
        *,
        reels_count: int = 50,
        similar_count: int = 20,
        fetch_reel_details: bool = False,
        detail_cap: int = DETAIL_CAP,
        clock: Clock | None = None,
    ) -> None:
        self.instagram = instagram
        self.content = content
        self.checkpoints = checkpoints
        self.reels_count = max(0, reels_count)
        self.similar_count = max(0, similar_count)
        self.fetch_reel_details = fetch_reel_details
        self.detail_cap = max(0, detail_cap)
        self.clock: Clock = clock or SystemClock()

    async def run(
        self,
        username: str,
        item_key: str,
        *,
        boundary: Boundary | None = None,
        finish: Finish | None = None,
        resume: dict[str, Any] | None = None,
        dated: frozenset[str] | None = None,
    ) -> FetchResult:
        """Fetch (resuming from checkpoints) and store ``username``; see the module docstring.

        ``resume`` / ``dated``: the item's checkpoints and its dated shortcodes when the caller
        already read them (the queue processor reads a whole claimed batch in one round trip,
        prepared.py); otherwise they are read here.

        Raises NotFoundError / PrivateProfileError / other :class:`ProviderError` subclasses,
        :class:`PauseRequested`, or whatever ``finish`` raised (then nothing was stored).
        """
        name = checked_username(username, endpoint="profile")
        with count_calls() as counter:
            done = dict(resume) if resume is not None else await self.checkpoints.load(item_key)
            state = _Run(self, name, item_key, boundary, done, dated)
            try:
                await self._fetch_all(state, name, item_key)
            except BaseException:
                await state.settle_saves()
                raise
            profile = state.profile
            assert profile is not None
            if profile.username != name:
                profile = profile.model_copy(update={"username": name})
            try:  # the database thread applies writes in order: the checkpoint saves land first
                counts = await self._store(state, profile, item_key, finish)
            finally:
                await state.settle_saves(quiet=True)
        return FetchResult(
            username=name,
            profile=profile,
            reels_new=counts.reels_new,
            reels_updated=counts.reels_updated,
            similar=counts.similar,
            calls=counter.sent,
            resumed_steps=state.resumed,
            fetched_at=self.clock.now(),
            notes=tuple(state.notes),
        )

    async def _fetch_all(self, state: "_Run", name: str, item_key: str) -> None:
        """Every network step, concurrently; raises the first failure (or the pause) after all settle."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(state.guard("profile", state.fetch_profile()))
                if self.reels_count:
                    group.create_task(state.guard("reels", state.fetch_reels()))
                if self.similar_count:
                    group.create_task(state.guard("similar", state.fetch_similar()))
            state.raise_if_failed()
            profile = state.profile
            assert profile is not None
            if profile.is_private:
                await state.settle_saves()
                await self._store_private(profile.model_copy(update={"username": name}), item_key)
                raise PrivateProfileError("the profile is private", provider="instagram", endpoint="profile")
            await self._details(state)
            state.raise_if_failed()
        except PermanentError:
            await state.settle_saves()
            await self.checkpoints.clear(item_key)  # nothing to resume: a retry starts clean
            raise

    async def _details(self, state: _Run) -> None:
        """Details for the reels that need them (module docstring), most viewed first, capped."""
        wanted = [(i, r) for i, r in enumerate(state.reels) if self.fetch_reel_details or r.needs_detail]
        if not wanted or not (self.detail_cap or self.fetch_reel_details):
            return
        if not self.fetch_reel_details:
            known = state.dated  # reels already stored with a date: a re-scrape need not pay for them
            if known is None:
                known = frozenset((await self.content.db.read(dated_many_sync, [state.name]))[state.name])
            wanted = [(i, r) for i, r in wanted if r.views is None or r.shortcode not in known]
        wanted.sort(key=lambda pair: -(pair[1].views or 0))
        cap = len(wanted) if self.fetch_reel_details else self.detail_cap  # the operator asked for all
        skipped = max(0, len(wanted) - cap)
        async with asyncio.TaskGroup() as group:
            for index, reel in wanted[:cap]:
                group.create_task(state.guard("details", state.fetch_detail(index, reel)))
        if skipped:
            state.notes.append(f"{skipped} reels kept without a date (detail cap {self.detail_cap})")
        if state.details_failed:
            state.notes.append(f"{state.details_failed} reel details unavailable; list entries kept")

    async def _store(self, state: _Run, profile: ProfileData, item_key: str, finish: Finish | None) -> StoreCounts:
        reels, similar = list(state.reels), list(state.similar)

        def store(conn: sqlite3.Connection) -> StoreCounts:
            counts = self.content.apply_fetch_sync(conn, profile, reels, similar)
            if finish is not None:
                finish(conn)
            clear_sync(conn, item_key)
            return counts

        return await self.content.db.write(store)

    async def _store_private(self, profile: ProfileData, item_key: str) -> None:
        stamp = to_iso(self.content.clock.now())
        assert stamp is not None

        def store(conn: sqlite3.Connection) -> None:
            upsert_profile_sync(conn, profile, stamp)
            clear_sync(conn, item_key)

        await self.content.db.write(store)
