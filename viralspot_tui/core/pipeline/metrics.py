"""Reel and profile metrics (docs/queue.md) as pure functions, so they are trivially testable.

The outlier score compares a reel with its *own* creator's typical reel: views divided by the
median of the profile's non-zero views over every reel stored for the profile (not only the
latest batch), so a re-scrape that sees only the newest page does not shift the baseline.
Zero views are left out of the median because a zero almost always means "not reported yet",
and including them would inflate every other reel's score.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "engagement_rate",
    "median_nonzero",
    "outlier_score",
    "outlier_scores",
    "ProfileAggregates",
    "profile_aggregates",
]


def engagement_rate(likes: int | None, comments: int | None, views: int | None) -> float | None:
    """``(likes + comments) / views``; None when there are no views to divide by."""
    if not views or views <= 0:
        return None
    return ((likes or 0) + (comments or 0)) / views


def median_nonzero(views: Iterable[int | None]) -> float | None:
    """Median of the positive view counts, or None when there are none."""
    positive = [v for v in views if v is not None and v > 0]
    return float(statistics.median(positive)) if positive else None


def outlier_score(views: int | None, baseline: float | None) -> float | None:
    """``views / baseline``; None when the baseline is unknown (no reel has views yet)."""
    if baseline is None or baseline <= 0:
        return None
    return (views or 0) / baseline


def outlier_scores(views: Sequence[int | None]) -> list[float | None]:
    """Scores for a profile's whole set of reels, in the given order."""
    baseline = median_nonzero(views)
    return [outlier_score(v, baseline) for v in views]


@dataclass(frozen=True)
class ProfileAggregates:
    reels_count: int = 0
    total_views: int = 0
    median_views: float = 0.0
    mean_views: float = 0.0
    std_views: float = 0.0
    total_likes: int = 0
    total_comments: int = 0


def profile_aggregates(rows: Iterable[tuple[int | None, int | None, int | None]]) -> ProfileAggregates:
    """Aggregates over ``(views, likes, comments)`` of every stored reel of a profile.

    Standard deviation is the population one: the stored reels *are* the population we
    describe, not a sample of it.
    """
    views: list[int] = []
    likes = comments = 0
    for v, lk, cm in rows:
        views.append(v or 0)
        likes += lk or 0
        comments += cm or 0
    if not views:
        return ProfileAggregates()
    return ProfileAggregates(
        reels_count=len(views),
        total_views=sum(views),
        median_views=float(statistics.median(views)),
        mean_views=float(statistics.fmean(views)),
        std_views=_pstdev(views),
        total_likes=likes,
        total_comments=comments,
    )


def _pstdev(values: list[int]) -> float:
    """Population standard deviation of integers, from exact integer sums: ``statistics.pstdev``
    goes through ``Fraction`` arithmetic, ~0.3 ms per stored profile on the database thread."""
    n = len(values)
    if n < 2:
        return 0.0
    total = sum(values)
    spread = n * sum(v * v for v in values) - total * total  # n² × variance, exact
    return math.sqrt(spread) / n
