"""The benchmarks' path arithmetic (benchmarks/bench_viral_job.py, bench_dispatch.py): what the
figures divide by must count the server's waits and the plan's rounds (docs/performance.md)."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.bench_dispatch import _busy_item_seconds, _rounds_time, item_figures
from benchmarks.bench_viral_job import critical_path, transcript_fetches


def call(endpoint: str, key: str, start: float, end: float) -> SimpleNamespace:
    return SimpleNamespace(endpoint=endpoint, key=key, status=200, started_at=start, finished_at=end)


def test_a_202_poll_and_its_retry_after_wait_are_one_transcript_fetch() -> None:
    calls = [call("transcript", "A", 0.0, 0.1), call("transcript", "A", 1.1, 1.2), call("transcript", "B", 0.0, 0.1)]
    spans = {c.key: (c.started_at, c.finished_at) for c in transcript_fetches(calls)}
    assert spans == {"A": (0.0, 1.2), "B": (0.0, 0.1)}


def test_competitor_transcripts_wait_for_the_slowest_competitor_fetch() -> None:
    owner = {"a1": "p", "b1": "c1", "c2r": "c2"}.get
    calls = [
        call("profile", "p", 0.0, 0.1),
        call("profile", "c1", 0.0, 0.1),
        call("reels", "c2", 0.0, 0.5),  # the slowest competitor fetch
        call("reel_detail", "c2r", 0.5, 0.6),  # its detail belongs to its fetch chain
        call("transcript", "a1", 0.7, 0.8),
        call("transcript", "b1", 0.7, 0.8),
        call("transcript", "b1", 1.8, 1.9),  # 202, then asked again after Retry-After
        call("chat", "x", 2.0, 2.3),
    ]
    r = critical_path(calls, ["p", "c1", "c2"], owner)
    assert r["plan"] == "competitors"
    assert abs(r["fetch"] - 0.6) < 1e-9  # slowest competitor, reel detail included
    assert abs(r["trans"] - 1.2) < 1e-9  # the poll wait counts
    assert abs(r["critical"] - (0.6 + 1.2 + 0.3)) < 1e-9
    assert abs(r["per_account"] - (0.1 + 1.2 + 0.3)) < 1e-9  # the old, too short, figure


def test_an_item_time_sums_its_rounds_without_the_client_gap_between_them() -> None:
    first = [call("profile", "u", 0.0, 1.0), call("reels", "u", 0.01, 1.0), call("similar", "u", 0.0, 1.0)]
    details = [call("reel_detail", f"s{i}", 1.2, 2.2) for i in range(3)]  # 0.2 s of client time before
    assert abs(_rounds_time(first + details) - 2.0) < 1e-9
    assert abs(_busy_item_seconds({"u": first + details}, 0.0, 3.0) - 2.0) < 1e-9


def test_ideal_is_concurrency_over_the_mean_item_time() -> None:
    names = [f"u{i}" for i in range(20)]
    calls = [call("profile", name, 0.0, 1.0) for name in names] + [call("reel_detail", "s", 1.0, 2.0)]
    r = item_figures(calls, names, {"s": "u0"}, [float(i) for i in range(20)], 4)
    assert abs(r["latency"] - 21 / 20) < 1e-9 and abs(r["ideal"] - 4 / (21 / 20)) < 1e-9
    assert r["unattributed"] == 0


def test_a_refill_after_a_reel_without_transcript_chains_after_it_even_beside_a_slow_202() -> None:
    """fill_plan offers an open slot to the next candidate at once: the refill's own 202 makes the
    plan's path reel → refill, longer than the batch's slow reel it overlaps."""
    owner = {"a": "p", "b": "p", "c": "p"}.get
    calls = [
        call("profile", "p", 0.0, 0.1),
        call("transcript", "a", 0.2, 0.3),  # no transcript: its slot goes to c at once
        call("transcript", "b", 0.2, 0.3),  # 202 ...
        call("transcript", "b", 1.3, 1.4),  # ... answered after Retry-After: span 1.2
        call("transcript", "c", 0.3, 0.4),  # the refill, a 202 too: span 0.3 → 1.5
        call("transcript", "c", 1.4, 1.5),
        call("chat", "x", 1.6, 1.7),
    ]
    r = critical_path(calls, ["p"], owner)
    assert abs(r["trans"] - (0.1 + 1.2)) < 1e-9  # a, then c; not max(b, a) = 1.2
    assert abs(r["critical"] - (0.1 + 1.3 + 0.1)) < 1e-9


def test_the_primary_plan_depends_on_the_primary_fetch_only() -> None:
    owner = {"a1": "p", "b1": "c1"}.get
    calls = [
        call("profile", "p", 0.0, 0.1),
        call("reels", "c1", 0.0, 0.5),  # the competitor is still being fetched ...
        call("transcript", "a1", 0.1, 1.2),  # ... while the primary's transcript (a 202) is asked
        call("transcript", "b1", 0.5, 0.6),
        call("chat", "x", 1.3, 1.4),
    ]
    r = critical_path(calls, ["p", "c1"], owner)
    assert r["plan"] == "primary" and abs(r["critical"] - (0.1 + 1.1 + 0.1)) < 1e-9
    assert abs(r["dependency"] - r["critical"]) < 1e-9  # not every fetch (0.5) before the primary's 1.1
