"""Three runner processes share one remote queue of 1,000 items (docs/supabase.md).

Each runner is its own OS process with its own data folder, as consoles on three machines would
be; they meet only in the shared ``public.queue``. Afterwards: every item COMPLETED exactly once
(the claims log), no item held by two runners at once (lease intervals from the claims log never
overlap), and no content fetched twice (each username is in exactly one runner's local
``primary_profiles``).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import enqueue  # noqa: E402
from supa_procs import (  # noqa: E402
    check_claims,
    claims_log,
    owner_pid,
    rest_counts,
    runner_env,
    scraped,
    start_runner,
    stop_runner,
)
from testkit import make_sim, public_names  # noqa: E402

ITEMS = 1000


async def test_three_runner_processes_drain_one_queue_each_item_once(tmp_path: Path, stack: Any, logged: Any, service):
    names = public_names(make_sim(), ITEMS, prefix="proc")
    await enqueue(service, names)
    env = runner_env(stack, latency_ms=1, VIRALSPOT_QUEUE__REELS_COUNT="6")
    dirs = [tmp_path / f"runner{i}" for i in range(3)]
    before = rest_counts(stack.api_url)
    procs = [start_runner(d, env, "--exit-when-idle", "--max-concurrent", "48") for d in dirs]
    errors = [stop_runner(p, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    calls = {k: n - before.get(k, 0) for k, n in rest_counts(stack.api_url).items()}
    assert 3 <= calls["POST /rpc/queue_complete"] <= ITEMS  # counted at the REST layer; each call completes >= 1

    rows = await logged.fetch("SELECT username, status::text AS status, attempts, lease_owner FROM public.queue")
    assert len(rows) == ITEMS
    assert Counter(r["status"] for r in rows) == {"COMPLETED": ITEMS}
    assert {r["attempts"] for r in rows} == {1}  # claimed once each: no retry, no takeover
    by_pid = Counter(owner_pid(r["lease_owner"]) for r in rows)
    assert set(by_pid) == {p.pid for p in procs}, by_pid  # each process completed part of the queue

    report = check_claims(await claims_log(logged))
    assert report.overlaps == [], report.overlaps[:3]  # never two holders of one item at once
    assert report.takeovers == []  # nothing ran out here: every lease ended with its holder
    assert report.completions == dict.fromkeys(names, 1)  # each item became COMPLETED exactly once
    assert all(len(h) == 1 for h in report.holders.values())

    per_runner = [scraped(d) for d in dirs]
    assert set().union(*per_runner) == set(names)
    assert sum(len(s) for s in per_runner) == ITEMS  # disjoint: no username fetched by two runners
    for data, proc, own in zip(dirs, procs, per_runner):
        completed_here = {r["username"] for r in rows if owner_pid(r["lease_owner"]) == proc.pid}
        assert own == completed_here, data  # the content is where the remote row says it was done


def test_the_claims_check_finds_two_holders_at_once() -> None:
    """The checker itself: a lease replaced before it ran out is an overlap, after it a takeover."""
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)

    def entry(name: str, owner: str, token: str, status: str, old: tuple[str | None, str | None], expires: Any) -> Any:
        return {
            "username": name,
            "lease_owner": owner,
            "lease_token": token,
            "status": status,
            "old_token": old[0],
            "old_status": old[1],
            "old_expires_at": expires,
            "at": t,
        }

    log = [
        entry("a", "h:1:x", "t1", "PROCESSING", (None, "PENDING"), None),
        entry("a", "h:2:y", "t2", "PROCESSING", ("t1", "PROCESSING"), t - timedelta(seconds=1)),  # ran out
        entry("a", "h:2:y", "t2", "COMPLETED", ("t2", "PROCESSING"), t + timedelta(seconds=5)),
        entry("b", "h:1:x", "t3", "PROCESSING", (None, "PENDING"), None),
        entry("b", "h:2:y", "t4", "PROCESSING", ("t3", "PROCESSING"), t + timedelta(seconds=5)),  # still live
    ]
    report = check_claims(log)
    assert [e["lease_token"] for e in report.takeovers] == ["t2"]
    assert [e["lease_token"] for e in report.overlaps] == ["t4"]
    assert report.completions == {"a": 1}
    assert report.holders == {"a": ["h:1:x", "h:2:y"], "b": ["h:1:x", "h:2:y"]}
