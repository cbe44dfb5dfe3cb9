"""The quality filter (docs/crawler.md): which fresh candidates are worth a place in the queue.

A candidate is dropped, always with a reason, when its name is not a valid Instagram username,
when an operator blocked it (``crawl block`` or ``crawler.blocked`` in the config), when it is
private, or when it has fewer followers than ``crawler.min_followers``.

The follower count is the expensive part. The similar-accounts endpoint gives it only as text
("12.5K followers", "8,431 followers"), sometimes not at all ("Followed by x + 3 more", empty,
absent). In order of cost we use: the count parsed from that text; a count already stored for
the account in ``secondary_profiles``; and finally a profile call ("enrichment"). Enrichment is
bounded twice — by ``enrich_budget_per_round`` and by the daily call budget — and done in waves
no larger than the number of accounts the crawl still needs, so a round that only needs two more
accounts never spends ten calls. Candidates left without a count are dropped as
``unknown_followers`` (never queued on a guess); good candidates beyond the crawl's target are
dropped as ``target_reached`` (see :class:`~.models.DropReason`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models.usernames import try_normalize
from ..providers.errors import (
    ConfigurationError,
    NotFoundError,
    PrivateProfileError,
    ProviderError,
    QuotaExhaustedError,
)
from ..store.database import Database
from .budget import DailyBudget
from .dedup import stored_followers_sync
from .models import Candidate, Drop, DropReason

__all__ = ["QualityFilter", "Screened", "Verdict", "normalize_blocklist"]


def normalize_blocklist(names: Iterable[str]) -> set[str]:
    """Config entries are operator text: keep the valid ones, normalised like every username."""
    return {n for n in (try_normalize(x) for x in names) if n is not None}


@dataclass
class Screened:
    """Result of the free name check: valid candidates by normalised name, and invalid drops."""

    valid: dict[str, Candidate] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)


@dataclass
class Verdict:
    """What became of a round's fresh names. ``fatal`` is set when the provider became unusable
    (quota spent, bad key) mid-round: the verdict is still complete, but the crawl must stop."""

    accepted: list[str] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    calls: int = 0
    fatal: ProviderError | None = None


class QualityFilter:
    def __init__(
        self,
        *,
        db: Database,
        instagram: Any,
        budget: DailyBudget,
        min_followers: int,
        enrich_per_round: int,
        blocked: Iterable[str] = (),
    ) -> None:
        self.db = db
        self.instagram = instagram
        self.budget = budget
        self.min_followers = min_followers
        self.enrich_per_round = enrich_per_round
        self.blocked = normalize_blocklist(blocked)

    # ------------------------------------------------------------------ free checks
    @staticmethod
    def screen(candidates: Sequence[Candidate]) -> Screened:
        """Validate names. Names repeated within the list keep their position in ``order``."""
        out = Screened()
        for cand in candidates:
            name = try_normalize(cand.username)
            if name is None:
                out.drops.append(Drop(username=str(cand.username)[:60], reason=DropReason.INVALID_USERNAME))
                continue
            out.valid.setdefault(name, cand)
            out.order.append(name)
        return out

    # ------------------------------------------------------------------ the filter
    async def evaluate(self, names: Sequence[str], candidates: dict[str, Candidate], need: int) -> Verdict:
        """Judge fresh (valid, not duplicate) names; accept at most ``need`` of them.

        A quota or configuration error from an enrichment call does not raise: it is put on
        ``verdict.fatal`` so the round can still be accounted for before the crawl stops.
        """
        verdict = Verdict()
        passed: list[str] = []
        unknown: list[str] = []
        stored = await self.db.read(stored_followers_sync, list(names)) if self.min_followers > 0 else {}
        for name in names:
            cand = candidates[name]
            if name in self.blocked:
                verdict.drops.append(Drop(username=name, reason=DropReason.BLOCKED))
            elif cand.is_private:
                verdict.drops.append(Drop(username=name, reason=DropReason.PRIVATE))
            elif self.min_followers <= 0:
                passed.append(name)
            else:
                followers = cand.followers if cand.followers is not None else stored.get(name)
                if followers is None:
                    unknown.append(name)
                elif followers < self.min_followers:
                    verdict.drops.append(self._below(name, followers))
                else:
                    passed.append(name)
        await self._enrich(unknown, passed, verdict, need)
        order = {n: i for i, n in enumerate(names)}
        passed.sort(key=order.__getitem__)
        verdict.accepted = passed[: max(need, 0)]
        verdict.drops.extend(Drop(username=n, reason=DropReason.TARGET_REACHED) for n in passed[max(need, 0) :])
        return verdict

    def _below(self, name: str, followers: int) -> Drop:
        return Drop(username=name, reason=DropReason.BELOW_MIN_FOLLOWERS, detail=f"{followers} < {self.min_followers}")

    async def _enrich(self, unknown: list[str], passed: list[str], verdict: Verdict, need: int) -> None:
        """Look up missing counts in waves sized to what is still needed, within both budgets."""
        round_left = self.enrich_per_round
        pending = list(unknown)
        while pending and len(passed) < need and round_left > 0:
            wave = min(len(pending), need - len(passed), round_left)
            granted = await self.budget.reserve(wave)
            if granted <= 0:
                break
            batch, pending = pending[:granted], pending[granted:]
            round_left -= granted
            verdict.calls += granted
            outcomes = await asyncio.gather(*(self._lookup(n) for n in batch), return_exceptions=True)
            fatal: ProviderError | None = None
            for name, outcome in zip(batch, outcomes):
                if isinstance(outcome, (QuotaExhaustedError, ConfigurationError)):
                    fatal = fatal or outcome
                    verdict.drops.append(Drop(username=name, reason=DropReason.ENRICH_FAILED, detail=str(outcome)))
                elif isinstance(outcome, BaseException):
                    if not isinstance(outcome, Exception):
                        raise outcome
                    verdict.drops.append(
                        Drop(
                            username=name,
                            reason=DropReason.ENRICH_FAILED,
                            detail=f"{type(outcome).__name__}: {outcome}"[:200],
                        )
                    )
                elif isinstance(outcome, Drop):
                    verdict.drops.append(outcome)
                else:
                    passed.append(name)
            if fatal is not None:
                verdict.fatal = fatal
                self._drop_rest(pending, verdict, DropReason.UNKNOWN_FOLLOWERS, "provider unavailable")
                return
        reason = DropReason.TARGET_REACHED if len(passed) >= need else DropReason.UNKNOWN_FOLLOWERS
        self._drop_rest(
            pending,
            verdict,
            reason,
            None if reason is DropReason.TARGET_REACHED else "no profile call left in this round's or today's budget",
        )

    @staticmethod
    def _drop_rest(names: list[str], verdict: Verdict, reason: DropReason, detail: str | None) -> None:
        verdict.drops.extend(Drop(username=n, reason=reason, detail=detail) for n in names)
        names.clear()

    async def _lookup(self, name: str) -> Drop | None:
        """One profile call: a Drop, or None when the account passes."""
        try:
            profile = await self.instagram.profile(name)
        except NotFoundError:
            return Drop(username=name, reason=DropReason.NOT_FOUND)
        except PrivateProfileError:
            return Drop(username=name, reason=DropReason.PRIVATE)
        if profile.is_private:
            return Drop(username=name, reason=DropReason.PRIVATE)
        if profile.followers is None:
            return Drop(username=name, reason=DropReason.UNKNOWN_FOLLOWERS, detail="the profile has no follower count")
        if profile.followers < self.min_followers:
            return self._below(name, profile.followers)
        return None
