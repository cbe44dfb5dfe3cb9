"""bench_dispatch's dead-time split: where an item's slot time without a call in flight goes."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.bench_dispatch import dead_time


def call(key: str, start: float, end: float) -> SimpleNamespace:
    return SimpleNamespace(endpoint="x", key=key, status=200, started_at=start, finished_at=end)


def test_claim_between_rounds_store_and_handoff_are_told_apart() -> None:
    calls = [
        call("a", 0.1, 1.0),
        call("a", 0.12, 1.1),  # round 1 ends at 1.1
        call("a1", 1.3, 2.0),  # a detail of a: 0.2 s between rounds
        call("b", 2.25, 3.0),  # b claimed at 2.2, when a's slot freed
    ]
    started = {"a": 0.0, "b": 2.2}
    stored = {"a": 2.15, "b": 3.05}
    r = dead_time(calls, ["a", "b"], {"a1": "a"}, started, stored)
    assert abs(r["to_first"] - (0.1 + 0.05) / 2) < 1e-9
    assert abs(r["between"] - 0.2 / 2) < 1e-9  # b had one round
    assert abs(r["to_stored"] - (0.15 + 0.05) / 2) < 1e-9
    assert abs(r["handoff"] - 0.05) < 1e-9  # the first 3/4 of completions: a's, then b started
