"""Typed views of the viral ideas and crawler processors, as the console and ``status`` read them.

The queue's part of the engine snapshot was typed from the start; these are the other two
panes' inputs. Widgets read attributes, so renaming a field in the core is a type error and a
failing render test, not a silently blank pane. ``to_json`` gives the stable ``--json`` shape
(docs field names, times in ISO 8601 UTC; see docs/cli.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .crawler.models import RoundReport
    from .viral.models import Job

__all__ = ["JobView", "ViralSnapshot", "RoundView", "CrawlView", "BudgetView", "CrawlerSnapshot", "to_json"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class JobView:
    """One analysis job as a pane row and a ``jobs list --json`` entry."""

    id: int
    primary_username: str
    competitors: tuple[str, ...]
    status: str
    stage: str
    progress: int
    runs: int
    auto_rerun: bool
    next_run_at: datetime | None
    error: str | None
    rerun_every_hours: float = 24.0

    @classmethod
    def of(cls, job: "Job") -> "JobView":
        return cls(
            id=job.id,
            primary_username=job.primary_username,
            competitors=tuple(job.competitors),
            status=job.status.value,
            stage=job.stage,
            progress=job.progress,
            runs=job.runs,
            auto_rerun=job.auto_rerun,
            next_run_at=job.next_run_at,
            error=job.error,
            rerun_every_hours=job.rerun_every_hours,
        )

    def with_progress(self, stage: str, progress: int, status: str) -> "JobView":
        from dataclasses import replace

        return replace(self, stage=stage, progress=progress, status=status)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "competitors": list(self.competitors), "next_run_at": _iso(self.next_run_at)}


@dataclass(frozen=True)
class ViralSnapshot:
    jobs: tuple[JobView, ...] = ()
    running: int = 0
    max_concurrent_jobs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": [j.to_json() for j in self.jobs],
            "running": self.running,
            "max_concurrent_jobs": self.max_concurrent_jobs,
        }


@dataclass(frozen=True)
class RoundView:
    request_id: int | None
    round: int
    seed: str
    found: int
    dropped: dict[str, int]
    duplicates: int
    queued: int
    calls: int
    error: str | None

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @classmethod
    def of(cls, report: "RoundReport") -> "RoundView":
        return cls(
            request_id=report.request_id,
            round=report.round,
            seed=report.seed,
            found=report.found,
            dropped=dict(sorted(report.dropped.items())),
            duplicates=report.duplicates,
            queued=len(report.queued),
            calls=report.calls,
            error=report.error,
        )


@dataclass(frozen=True)
class CrawlView:
    """The crawl in progress (``state`` is what it does now: ``round``, ``waiting``, …)."""

    request_id: int
    source: str
    seeds: tuple[str, ...]
    target: int
    max_rounds: int
    state: str = "starting"
    rounds_done: int = 0
    queued: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetView:
    """The crawler's daily API-call budget."""

    used: int
    limit: int
    unlimited: bool
    day: str
    resets_at: str


@dataclass(frozen=True)
class CrawlerSnapshot:
    rounds: tuple[RoundView, ...] = ()
    current: CrawlView | None = None
    queued: int = 0
    target: int = 0
    budget: BudgetView | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    schedule_every_minutes: float | None = None
    next_scheduled_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_scheduled_at"] = _iso(self.next_scheduled_at)
        return data


def to_json(value: Any) -> Any:
    """The ``--json`` form of a view (or ``None``)."""
    return value.to_json() if value is not None and hasattr(value, "to_json") else value
