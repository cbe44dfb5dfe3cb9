"""The crawler's vocabulary: requests, drop reasons, per-round and per-crawl reports (docs/crawler.md).

They are pydantic models because they cross boundaries: a request is written by the CLI or the
console and read back by the engine; a round report becomes a database row, an event and a line
in the console's crawler pane. Keeping the accounting rule (``found = dropped + duplicates +
queued``) on the model itself means no caller can publish a report whose numbers do not add up.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..models.usernames import Username

__all__ = [
    "DropReason",
    "RequestStatus",
    "CrawlOutcome",
    "Candidate",
    "Drop",
    "CrawlRequest",
    "RoundReport",
    "CrawlReport",
]


class DropReason(StrEnum):
    """Why a similar account was not queued. Every dropped candidate carries exactly one.

    ``unknown_followers`` is the deliberate choice for a candidate whose follower count is given
    neither in the similar-account item nor in what we already store, when no profile call was
    left to look it up (the round's ``enrich_budget_per_round`` or the daily call budget is
    spent). Such an account is *not* queued on a guess — queueing it could send the queue
    processor after tiny accounts — and since it is only remembered for this crawl, a later
    crawl with budget left may still pick it up.

    ``target_reached`` marks candidates that passed every check but were not needed because the
    crawl's target was already met in this round: they are left for a later crawl rather than
    overshooting the operator's target.
    """

    INVALID_USERNAME = "invalid_username"
    BLOCKED = "blocked"
    PRIVATE = "private"
    BELOW_MIN_FOLLOWERS = "below_min_followers"
    UNKNOWN_FOLLOWERS = "unknown_followers"
    NOT_FOUND = "not_found"
    ENRICH_FAILED = "enrich_failed"
    TARGET_REACHED = "target_reached"


class RequestStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class CrawlOutcome(StrEnum):
    """How a crawl ended; the report and the request row both carry it."""

    TARGET_REACHED = "target_reached"
    ROUNDS_EXHAUSTED = "rounds_exhausted"
    SEEDS_EXHAUSTED = "seeds_exhausted"
    BUDGET_EXHAUSTED = "budget_exhausted"
    PROVIDER_UNAVAILABLE = "provider_unavailable"


class Candidate(BaseModel):
    """One similar account as the filter sees it. ``username`` is raw: it is validated here."""

    model_config = ConfigDict(frozen=True)

    username: str
    is_private: bool = False
    followers: int | None = None
    social_context: str | None = None


class Drop(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    reason: DropReason
    detail: str | None = None


class CrawlRequest(BaseModel):
    """One crawl asked for by an operator (CLI, console) or by the schedule."""

    id: int
    seeds: list[Username] = Field(default_factory=list)
    target: int = Field(ge=1)
    max_rounds: int = Field(ge=1)
    source: str = "cli"
    status: RequestStatus = RequestStatus.PENDING
    outcome: CrawlOutcome | None = None
    rounds_done: int = 0
    queued: int = 0
    error: str | None = None
    owner: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RoundReport(BaseModel):
    """One round: a seed, its similar accounts, and what became of each of them."""

    request_id: int | None = None
    round: int = Field(ge=1)
    seed: str
    found: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    drops: list[Drop] = Field(default_factory=list)
    duplicates: int = 0
    duplicate_names: list[str] = Field(default_factory=list)
    queued: list[str] = Field(default_factory=list)
    calls: int = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @model_validator(mode="after")
    def _accounting(self) -> "RoundReport":
        if self.drops and not self.dropped:
            counts: dict[str, int] = {}
            for drop in self.drops:
                counts[drop.reason.value] = counts.get(drop.reason.value, 0) + 1
            self.dropped = counts
        if self.found != self.dropped_total + self.duplicates + len(self.queued):
            raise ValueError(
                f"round {self.round}: found={self.found} but dropped={self.dropped_total} + "
                f"duplicates={self.duplicates} + queued={len(self.queued)} do not add up"
            )
        return self

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> dict[str, Any]:
        """The flat, JSON-ready form used by events, snapshots and the CLI.

        Here ``queued`` is a *count* (what a pane shows) and ``queued_names`` the list.
        """
        return {
            "request_id": self.request_id,
            "round": self.round,
            "seed": self.seed,
            "found": self.found,
            "dropped": dict(sorted(self.dropped.items())),
            "dropped_total": self.dropped_total,
            "duplicates": self.duplicates,
            "queued": len(self.queued),
            "queued_names": list(self.queued),
            "calls": self.calls,
            "error": self.error,
            "at": self.finished_at.isoformat() if self.finished_at else None,
        }

    def describe(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items()))
        text = (
            f"round {self.round} seed={self.seed} found={self.found} dropped={self.dropped_total}"
            f"{f' ({reasons})' if reasons else ''} duplicates={self.duplicates} queued={len(self.queued)}"
        )
        return text + (f" error: {self.error}" if self.error else "")


class CrawlReport(BaseModel):
    """A whole crawl: its rounds and whether the target was reached or rounds ran out."""

    request_id: int | None = None
    target: int
    max_rounds: int
    rounds: list[RoundReport] = Field(default_factory=list)
    outcome: CrawlOutcome
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def queued(self) -> list[str]:
        return [name for r in self.rounds for name in r.queued]

    @property
    def target_reached(self) -> bool:
        return self.outcome is CrawlOutcome.TARGET_REACHED

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rounds)

    def request_status(self) -> "RequestStatus":
        """How the crawl request ends: FAILED only when an error stopped it before any round ran.

        The one rule for the engine's crawls and a foreground ``crawl --wait`` (docs/cli.md)."""
        return RequestStatus.FAILED if self.error and not self.rounds else RequestStatus.COMPLETED

    def describe(self) -> str:
        n = len(self.queued)
        what = {
            CrawlOutcome.TARGET_REACHED: "target reached",
            CrawlOutcome.ROUNDS_EXHAUSTED: "rounds ran out before the target",
            CrawlOutcome.SEEDS_EXHAUSTED: "no unused seed left before the target",
            CrawlOutcome.BUDGET_EXHAUSTED: "daily API-call budget spent before the target",
            CrawlOutcome.PROVIDER_UNAVAILABLE: "the Instagram provider is unavailable",
        }[self.outcome]
        text = (
            f"{what}: queued {n}/{self.target} in {len(self.rounds)}/{self.max_rounds} rounds, {self.calls} API calls"
        )
        return text + (f" ({self.error})" if self.error else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "outcome": self.outcome.value,
            "target": self.target,
            "max_rounds": self.max_rounds,
            "queued": len(self.queued),
            "queued_names": self.queued,
            "calls": self.calls,
            "error": self.error,
            "rounds": [r.summary() for r in self.rounds],
        }
