"""A runner killed with ``kill -9`` mid-batch (docs/supabase.md, "Fencing").

Runner A (its own process and data folder) holds every item of the queue when it is killed.
After its 3 s leases run out, runner B takes them over and works them. A restarted on the same
data folder (same host) while B still works them cannot revive its old leases: its old tokens are
fenced, its local mirror rows for them go, it fetches nothing, changes nothing remotely, and
each item completes once, by B, with the attempts of both claims counted.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import enqueue  # noqa: E402
from supa_procs import (  # noqa: E402
    check_claims,
    claims_log,
    kill9,
    local_rows,
    owner_pid,
    runner_env,
    scraped,
    start_runner,
    stop_runner,
)
from testkit import make_sim, public_names, wait_for  # noqa: E402

ITEMS = 4
LEASE = 3.0


async def _holders(db: Any) -> dict[str, tuple[str, int | None]]:
    rows = await db.fetch("SELECT username, status::text AS status, lease_owner FROM public.queue")
    return {r["username"]: (r["status"], owner_pid(r["lease_owner"])) for r in rows}


async def test_a_killed_runner_is_taken_over_and_cannot_revive_its_leases(
    tmp_path: Path, stack: Any, logged: Any, service: Any
) -> None:
    names = public_names(make_sim(), ITEMS, prefix="killed")
    await enqueue(service, names)
    # slow items (each takes several seconds of simulated calls), short leases renewed every second
    slow = runner_env(stack, latency_ms=1000, lease_seconds=LEASE, VIRALSPOT_QUEUE__REELS_COUNT="48")
    data_a, data_b = tmp_path / "a", tmp_path / "b"
    a = start_runner(data_a, slow, "--max-concurrent", str(ITEMS))
    b = a2 = None
    try:

        async def all_held_by(pid: int) -> bool:
            return set((await _holders(logged)).values()) == {("PROCESSING", pid)}

        await wait_for(lambda: all_held_by(a.pid), timeout=30, what="runner A holding every item")
        kill9(a)  # mid-batch: every item PROCESSING remotely under A
        assert scraped(data_a) == set()  # it finished nothing

        b = start_runner(data_b, slow)  # no --exit-when-idle: A's items are not claimable until its leases run out
        await wait_for(lambda: all_held_by(b.pid), timeout=30, what="runner B taking every item over")

        a2 = start_runner(data_a, slow, "--max-concurrent", str(ITEMS), "--exit-when-idle")  # same host, same folder
        err = stop_runner(a2, timeout=60)
        assert a2.returncode == 0, err  # nothing claimable for it: B holds everything
        assert local_rows(data_a, "SELECT * FROM supabase_mirror") == []  # its old tokens are gone here
        assert local_rows(data_a, "SELECT username FROM queue WHERE status = 'COMPLETED'") == []
        assert scraped(data_a) == set()  # it fetched nothing for the items B holds

        async def all_completed() -> bool:
            return {s for s, _ in (await _holders(logged)).values()} == {"COMPLETED"}

        await wait_for(all_completed, timeout=60, what="runner B completing the items")
        b.send_signal(signal.SIGTERM)
        err = stop_runner(b, timeout=30)
        assert b.returncode == 0, err
    finally:
        for proc in (a, b, a2):
            if proc is not None and proc.poll() is None:
                kill9(proc)

    rows = await logged.fetch("SELECT username, attempts, lease_owner FROM public.queue")
    assert {r["attempts"] for r in rows} == {2}  # A's claim and B's takeover; A's restart counted nothing
    assert {owner_pid(r["lease_owner"]) for r in rows} == {b.pid}
    log = await claims_log(logged)
    report = check_claims(log)
    assert report.overlaps == []  # never taken over before the lease ran out
    assert len(report.takeovers) == ITEMS
    assert report.completions == dict.fromkeys(names, 1)
    assert {n: [owner_pid(o) for o in h] for n, h in report.holders.items()} == dict.fromkeys(names, [a.pid, b.pid])
    assert all(owner_pid(e["lease_owner"]) != a2.pid for e in log)  # the restarted A changed no row
    assert [e["status"] for e in log if e["username"] == names[0]] == [
        "PENDING",
        "PROCESSING",
        "PROCESSING",
        "COMPLETED",
    ]
    assert scraped(data_b) == set(names)
