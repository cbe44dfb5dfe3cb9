"""Smart reel selection (docs/viral.md) on hand-built reels: ranking, fairness, fallback, widening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from viralspot_tui.core.viral.selection import ReelCandidate, SelectionPlan, fair_order

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def reel(user: str, code: str, score: float, views: int = 1000, days_ago: float = 1.0, **kw: object) -> ReelCandidate:
    return ReelCandidate(
        username=user, shortcode=code, views=views, outlier_score=score, taken_at=NOW - timedelta(days=days_ago), **kw
    )  # type: ignore[arg-type]


def drive(plan: SelectionPlan, no_transcript: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Play the transcript service: every reel has one except those in ``no_transcript``."""
    tried: list[str] = []
    while not plan.done:
        batch = plan.next_batch()
        if not batch:
            break
        for choice in batch:
            tried.append(choice.candidate.shortcode)
            if choice.candidate.has_transcript:
                plan.accept(choice, reused=True)
            elif choice.candidate.shortcode in no_transcript:
                plan.reject(choice, "no transcript")
            else:
                plan.accept(choice, reused=False)
    return tried


def test_ranking_is_outlier_score_then_views() -> None:
    reels = [
        reel("a", "low", 1.0, 9_000),
        reel("a", "top", 5.0, 10),
        reel("a", "tie_more", 2.0, 500),
        reel("a", "tie_less", 2.0, 400),
    ]
    plan = SelectionPlan(reels, NOW, target=4, max_candidates=10)
    drive(plan)
    assert [s.candidate.shortcode for s in plan.selected] == ["top", "tie_more", "tie_less", "low"]
    assert [s.rank for s in plan.selected] == [1, 2, 3, 4]
    assert all("fallback" not in s.reason and "posted within 30 days" in s.reason for s in plan.selected)


def test_one_big_competitor_cannot_take_every_slot() -> None:
    big = [reel("big", f"big{i}", 50.0 - i, 10_000_000) for i in range(10)]
    small = [reel(name, f"{name}{i}", 1.5 - i / 10, 2_000) for name in ("s1", "s2", "s3", "s4") for i in range(3)]
    plan = SelectionPlan(big + small, NOW, target=5, max_candidates=20)
    drive(plan)
    owners = [s.candidate.username for s in plan.selected]
    assert len(owners) == 5
    assert owners.count("big") == 1, owners
    assert set(owners) == {"big", "s1", "s2", "s3", "s4"}
    # the big account's best reel still leads its round
    assert plan.selected[0].candidate.shortcode == "big0"


def test_fair_order_is_round_robin_by_rank() -> None:
    reels = [reel("a", "a1", 9), reel("a", "a2", 8), reel("a", "a3", 7), reel("b", "b1", 2), reel("b", "b2", 1)]
    ordered = [(r.shortcode, rank) for r, rank in fair_order(reels)]
    assert ordered == [("a1", 1), ("b1", 1), ("a2", 2), ("b2", 2), ("a3", 3)]


def test_reels_without_transcript_are_skipped_until_target_met() -> None:
    reels = [reel("p", f"r{i}", 10.0 - i) for i in range(8)]
    plan = SelectionPlan(reels, NOW, target=3, max_candidates=10)
    tried = drive(plan, no_transcript={"r0", "r2"})
    assert [s.candidate.shortcode for s in plan.selected] == ["r1", "r3", "r4"]
    assert tried == ["r0", "r1", "r2", "r3", "r4"]
    assert "fallback: 1 higher-ranked" in plan.selected[0].reason  # r1 stands in for r0
    assert "fallback: 2 higher-ranked" in plan.selected[1].reason  # r3 for r0 and r2


def test_candidate_cap_is_respected() -> None:
    reels = [reel("p", f"r{i}", 10.0 - i) for i in range(30)]
    plan = SelectionPlan(reels, NOW, target=3, max_candidates=10)
    tried = drive(plan, no_transcript={f"r{i}" for i in range(30)})
    assert len(tried) == 10
    assert plan.selected == [] and plan.missing == 3


def test_window_widens_when_too_few_recent_reels() -> None:
    reels = [
        reel("p", "recent", 1.0, days_ago=2),
        reel("p", "older", 9.0, days_ago=45),
        reel("p", "old", 8.0, days_ago=100),
        reel("p", "ancient", 7.0, days_ago=900),
    ]
    plan = SelectionPlan(reels, NOW, target=3, max_candidates=10, lookback_days=30)
    drive(plan)
    codes = [s.candidate.shortcode for s in plan.selected]
    # the recent reel is ranked first (it is in the original window), then the widened windows
    assert codes == ["recent", "older", "old"]
    assert plan.widened_to[:2] == [60, 120]
    assert "posted within 30 days" in plan.selected[0].reason
    assert "window widened to 60 days" in plan.selected[1].reason
    assert "window widened to 120 days" in plan.selected[2].reason


def test_widening_stops_after_the_limit() -> None:
    reels = [reel("p", "ancient", 9.0, days_ago=5000)]
    plan = SelectionPlan(reels, NOW, target=1, max_candidates=10, lookback_days=30, max_widenings=3)
    drive(plan)
    assert plan.selected == [] and plan.widened_to == [60, 120, 240]


def test_stored_transcript_is_reused_and_counts() -> None:
    reels = [reel("p", "known", 9.0, has_transcript=True), reel("p", "new", 5.0)]
    plan = SelectionPlan(reels, NOW, target=2, max_candidates=10)
    drive(plan)
    reused = {s.candidate.shortcode: s.transcript_reused for s in plan.selected}
    assert reused == {"known": True, "new": False}
    assert "reused" in plan.selected[0].reason


def test_no_window_for_recurring_runs_and_duplicates_ignored() -> None:
    reels = [reel("p", "x", 3.0, days_ago=400), reel("p", "x", 3.0, days_ago=400), reel("p", "y", 2.0)]
    plan = SelectionPlan(reels, NOW, target=5, max_candidates=10, lookback_days=None)
    drive(plan)
    assert [s.candidate.shortcode for s in plan.selected] == ["x", "y"]
    assert all("new since the last run" in s.reason for s in plan.selected)
    assert plan.done and plan.missing == 3


def test_ranks_and_reasons_continue_across_a_widened_window() -> None:
    """After widening, an account's older reels are its next ranks (not a second "#1"), the
    overall rank keeps counting, and every reel gets one reason that names its own window."""
    reels = [
        reel("bob", "bob_new1", 5.0, days_ago=3),
        reel("bob", "bob_new2", 4.0, days_ago=5),
        reel("amy", "amy_new", 3.0, days_ago=4),
        reel("bob", "bob_old", 9.0, days_ago=50),
        reel("amy", "amy_old", 8.0, days_ago=55),
    ]
    plan = SelectionPlan(reels, NOW, target=4, max_candidates=10, lookback_days=30)
    drive(plan, no_transcript={"bob_new2"})
    by_code = {s.candidate.shortcode: s for s in plan.selected}
    assert set(by_code) == {"bob_new1", "amy_new", "bob_old", "amy_old"} and plan.widened_to == [60]
    assert "#3 for @bob" in by_code["bob_old"].reason and "#2 for @amy" in by_code["amy_old"].reason
    assert "window widened to 60 days" in by_code["bob_old"].reason
    assert [s.rank for s in plan.selected] == sorted({s.rank for s in plan.selected})  # one rank per reel
    account_ranks = [(s.candidate.username, s.reason.split("#")[1].split(" ")[0]) for s in plan.selected]
    assert len(account_ranks) == len(set(account_ranks))  # no two reels share an account rank
    assert len(plan.selected) == len({s.candidate.shortcode for s in plan.selected})  # one reason per reel
