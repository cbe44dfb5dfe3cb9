"""Smart reel selection (docs/viral.md) as pure code: no I/O, no clock, no providers.

Selection is a loop with I/O in the middle (is there a transcript for this reel?), so it is
written as a small state machine the caller drives: :meth:`SelectionPlan.next_batch` says which
candidates to try now, :meth:`accept` / :meth:`reject` report what happened. Keeping the rules
here — look-back window, ranking by outlier score then views, fair round-robin across
competitors, fallback to the next candidate, widening the window, the candidate cap — makes each
of them a unit test with hand-built reels instead of a simulator run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["ReelCandidate", "Choice", "Selected", "SelectionPlan", "rank_key", "fair_order"]


@dataclass(frozen=True, slots=True)
class ReelCandidate:
    """A stored reel as selection sees it (numbers as of now)."""

    username: str
    shortcode: str
    views: int = 0
    likes: int = 0
    comments: int = 0
    outlier_score: float | None = None
    engagement_rate: float | None = None
    taken_at: datetime | None = None
    has_transcript: bool = False
    """A transcript is already stored: reuse it, no call (V4)."""
    transcript_missing: bool = False
    """The transcript service was asked before and had none."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A candidate handed to the caller to try, with its place in the ranking."""

    candidate: ReelCandidate
    rank: int
    """1-based position in the whole candidate order of this selection."""
    account_rank: int
    """1-based position among the same account's candidates (the round it belongs to)."""
    window_days: int | None


@dataclass(frozen=True, slots=True)
class Selected:
    candidate: ReelCandidate
    rank: int
    reason: str
    transcript_reused: bool


def rank_key(c: ReelCandidate) -> tuple[float, int, str]:
    """Outlier score first, then views; the shortcode makes ties deterministic."""
    return (-(c.outlier_score or 0.0), -c.views, c.shortcode)


def fair_order(reels: Iterable[ReelCandidate]) -> list[tuple[ReelCandidate, int]]:
    """Round-robin by rank: every account's best reel, then every account's second best, ...

    Within a round the reels are ordered by :func:`rank_key`, so the round's strongest reel
    still comes first, but no account gets a second slot before every account had its first.
    Returns (reel, rank within its account).
    """
    by_account: dict[str, list[ReelCandidate]] = {}
    for reel in reels:
        by_account.setdefault(reel.username, []).append(reel)
    ranked = {name: sorted(items, key=rank_key) for name, items in by_account.items()}
    ordered: list[tuple[ReelCandidate, int]] = []
    depth = max((len(items) for items in ranked.values()), default=0)
    for r in range(depth):
        round_ = [items[r] for items in ranked.values() if len(items) > r]
        ordered.extend((reel, r + 1) for reel in sorted(round_, key=rank_key))
    return ordered


@dataclass
class SelectionPlan:
    """Pick ``target`` reels with transcripts from at most ``max_candidates`` candidates.

    ``lookback_days=None`` means no window (a recurring run already narrowed the reels to the
    new ones). Otherwise the window starts at ``lookback_days`` and doubles, up to
    ``max_widenings`` times, whenever it runs out of untried candidates before the target is met.
    """

    reels: Sequence[ReelCandidate]
    now: datetime
    target: int
    max_candidates: int
    lookback_days: int | None = 30
    max_widenings: int = 4
    selected: list[Selected] = field(default_factory=list)
    rejected: list[tuple[Choice, str]] = field(default_factory=list)
    widened_to: list[int] = field(default_factory=list)
    _order: list[Choice] = field(default_factory=list)
    _cursor: int = 0
    _in_flight: int = 0
    _window: int | None = None
    _seen: set[str] = field(default_factory=set)
    _undated_added: bool = False
    _per_account: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unique: dict[str, ReelCandidate] = {}
        for reel in self.reels:
            unique.setdefault(reel.shortcode, reel)
        self.reels = list(unique.values())
        self._window = self.lookback_days
        self._extend()

    # ------------------------------------------------------------------ window handling
    def _in_window(self, reel: ReelCandidate, days: int | None) -> bool:
        if days is None:
            return True
        return reel.taken_at is not None and reel.taken_at >= self.now - timedelta(days=days)

    def _extend(self) -> None:
        """Append the window's not-yet-ranked reels to the candidate order, fairly ordered."""
        self._append(
            [r for r in self.reels if r.shortcode not in self._seen and self._in_window(r, self._window)], self._window
        )

    def _append(self, reels: list[ReelCandidate], window: int | None) -> None:
        """Rank the reels after those already ranked: a widened window continues the overall and
        the per-account ranks (an account's best older reel is its #3, not a second #1)."""
        for reel, _ in fair_order(reels):
            self._seen.add(reel.shortcode)
            account_rank = self._per_account[reel.username] = self._per_account.get(reel.username, 0) + 1
            self._order.append(Choice(reel, len(self._order) + 1, account_rank, window))

    def _widen(self) -> bool:
        """Double the window while older reels exist; then, as a last resort, take the reels whose
        posting date is unknown (the reels endpoint only usually has one). False when nothing is left."""
        while self._window is not None and len(self.widened_to) < self.max_widenings:
            if all(r.shortcode in self._seen or r.taken_at is None for r in self.reels):
                break
            self._window *= 2
            self.widened_to.append(self._window)
            before = len(self._order)
            self._extend()
            if len(self._order) > before:
                return True
        if self._window is None or self._undated_added:
            return False
        self._undated_added = True
        before = len(self._order)
        self._append([r for r in self.reels if r.shortcode not in self._seen and r.taken_at is None], None)
        return len(self._order) > before

    # ------------------------------------------------------------------ driving
    @property
    def tried(self) -> int:
        return self._cursor

    @property
    def missing(self) -> int:
        return max(0, self.target - len(self.selected))

    @property
    def done(self) -> bool:
        """Target met, or nothing more may be tried (cap reached or candidates exhausted).

        Asking may widen the window: running out of candidates is exactly when it should.
        """
        if self.missing == 0:
            return True
        if self._in_flight:
            return False
        if self._cursor >= self.max_candidates:
            return True
        return self._cursor >= len(self._order) and not self._widen()

    def next_batch(self) -> list[Choice]:
        """The next candidates to try: as many as slots are still open, within the cap."""
        want = min(self.missing - self._in_flight, self.max_candidates - self._cursor)
        batch: list[Choice] = []
        while len(batch) < want:
            if self._cursor >= len(self._order) and not self._widen():
                break
            batch.append(self._order[self._cursor])
            self._cursor += 1
        self._in_flight += len(batch)
        return batch

    def accept(self, choice: Choice, *, reused: bool) -> Selected:
        self._in_flight -= 1
        picked = Selected(choice.candidate, choice.rank, self._reason(choice, reused), reused)
        self.selected.append(picked)
        self.selected.sort(key=lambda s: s.rank)
        return picked

    def reject(self, choice: Choice, why: str) -> None:
        self._in_flight -= 1
        self.rejected.append((choice, why))

    # ------------------------------------------------------------------ explanation
    def _reason(self, choice: Choice, reused: bool) -> str:
        c = choice.candidate
        score = f"outlier {c.outlier_score:.2f}x" if c.outlier_score is not None else "no outlier score"
        parts = [f"rank {choice.rank} overall, #{choice.account_rank} for @{c.username}", f"{score}, {c.views:,} views"]
        if choice.window_days is None:
            parts.append(
                "new since the last run"
                if self.lookback_days is None
                else "posting date unknown: tried after every dated reel"
            )
        elif choice.window_days != self.lookback_days:
            parts.append(f"window widened to {choice.window_days} days")
        else:
            parts.append(f"posted within {choice.window_days} days")
        skipped = sum(1 for rej, _ in self.rejected if rej.rank < choice.rank)
        if skipped:
            parts.append(f"fallback: {skipped} higher-ranked candidate(s) skipped for want of a transcript")
        if reused:
            parts.append("transcript reused from an earlier run")
        return "; ".join(parts)
