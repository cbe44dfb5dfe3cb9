"""HIGH added on one machine pauses LOW work running on another (docs/supabase.md, docs/priority.md).

Runner A is its own process working two slow LOW items (every slot taken). A HIGH item is added
from "another machine": a ``viralspot --backend supabase queue add NAME --priority high`` process
with a data folder of its own. A learns of it from the server (a lease renewal or a console beat
says HIGH work waits), claims it for a LOW slot, and a LOW item pauses at its next step boundary
(its local row PAUSED, its remote lease kept); the HIGH item completes while LOW work is still
unfinished. Nothing is timed against a bar; the delay seen is printed (``-s``).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import enqueue  # noqa: E402
from supa_procs import cli, local_rows, owner_pid, runner_env, start_runner, stop_runner  # noqa: E402
from testkit import make_sim, public_names, wait_for  # noqa: E402

LEASE = 3.0  # renewed every second; the console beat (every second) also says whether HIGH work waits


async def _remote(db: Any) -> dict[str, dict[str, Any]]:
    rows = await db.fetch("SELECT username, status::text AS status, priority::text AS priority, lease_owner FROM queue")
    return {r["username"]: dict(r) for r in rows}


def _local(data: Path) -> dict[str, tuple[str, str]]:
    return {n: (s, p) for n, s, p in local_rows(data, "SELECT username, status, priority FROM queue")}


async def test_high_added_from_another_machine_pauses_low_in_a_runner_process(
    tmp_path: Path, stack: Any, db: Any, service: Any
) -> None:
    sim = make_sim()
    low = public_names(sim, 2, prefix="lowproc", min_reels=100)
    [high] = public_names(sim, 1, prefix="urgentproc")
    await enqueue(service, low)
    env = runner_env(stack, latency_ms=700, lease_seconds=LEASE, VIRALSPOT_QUEUE__REELS_COUNT="150")
    data_a = tmp_path / "a"
    a = start_runner(data_a, env, "--max-concurrent", "2")
    try:

        async def both_running() -> bool:
            remote = await _remote(db)
            local = _local(data_a)
            return all(
                remote[n]["status"] == "PROCESSING"
                and owner_pid(remote[n]["lease_owner"]) == a.pid
                and local.get(n, ("", ""))[0] == "PROCESSING"
                for n in low
            )

        await wait_for(both_running, timeout=30, what="both LOW items running in runner A")
        added = cli(
            tmp_path / "elsewhere", "--backend", "supabase", "queue", "add", high, "--priority", "high", env=env
        )
        assert added.returncode == 0, added.stderr
        added_at = time.monotonic()  # the HIGH row is in the shared queue

        def low_paused() -> bool:
            return any(_local(data_a).get(n, ("", ""))[0] == "PAUSED" for n in low)

        await wait_for(low_paused, timeout=20, what=lambda: f"a LOW item paused in A; local {_local(data_a)}")
        delay = time.monotonic() - added_at
        print(
            f"HIGH added -> LOW paused in the other runner: {delay:.2f} s (lease {LEASE:g} s, renewed every {LEASE / 3:g} s)"
        )
        shown = cli(data_a, "--backend", "supabase", "status", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["queue"]["LOW"].get("PAUSED", 0) >= 1  # the operator's view of A

        remote: dict[str, dict[str, Any]] = {}

        async def high_done() -> bool:
            remote.update(await _remote(db))
            return remote[high]["status"] == "COMPLETED"

        await wait_for(high_done, timeout=40, what="the HIGH item completed")
        assert owner_pid(remote[high]["lease_owner"]) == a.pid  # A ran it, in a LOW item's slot
        assert any(remote[n]["status"] != "COMPLETED" for n in low)  # it overtook LOW work already running
        paused = [n for n in low if _local(data_a)[n][0] in ("PAUSED", "PENDING", "PROCESSING")]
        assert all(remote[n]["status"] == "PROCESSING" for n in paused)  # the paused item kept its lease here
    finally:
        a.send_signal(signal.SIGTERM)
        err = stop_runner(a, timeout=30)
    assert a.returncode == 0, err
