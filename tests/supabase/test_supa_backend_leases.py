"""The Supabase backend's lease side on the real stack: failures go back to the server, a lease
lost remotely stops the local worker, HIGH work added remotely pauses LOW work here, and a stop
gives unfinished items back. The lease is short (3 s, renewed every second) so nothing waits long;
no test sleeps for a lease to run out."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import enqueue, rpc  # noqa: E402
from test_supa_backend import local_usernames, supa_settings  # noqa: E402
from testkit import make_sim, public_names, wait_for  # noqa: E402

from viralspot_tui.core.engine import open_engine  # noqa: E402
from viralspot_tui.core.headless import run_headless  # noqa: E402


def fast_lease(tmp_path: Path, stack: Any, name: str, **queue: Any) -> Any:
    settings = supa_settings(tmp_path, stack, name, **queue)
    settings.supabase.lease_seconds = 3.0
    return settings


async def remote(db: Any) -> dict[str, dict[str, Any]]:
    rows = await db.fetch(
        "SELECT username, status::text, priority::text, attempts, max_attempts, lease_token FROM queue"
    )
    return {r["username"]: dict(r) for r in rows}


async def test_failures_are_pushed_and_retried_by_the_server(tmp_path, stack, db, service):
    sim = make_sim(fault_rate=0.35, seed=3)
    names = public_names(sim, 20, prefix="flaky")
    await enqueue(service, names)
    settings = fast_lease(tmp_path, stack, "flaky")
    settings.rapidapi.retries = 0  # every fault fails the item's attempt: the server schedules the retry
    # local retry times later than the next push (0.5 s), so the retry is the server's, not a local re-run
    settings.queue.retry_base_seconds = settings.queue.retry_max_seconds = 2.0
    code = await asyncio.wait_for(
        run_headless(settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)),
        timeout=120,
    )
    rows = await remote(db)
    assert code == 0
    assert {r["status"] for r in rows.values()} <= {"COMPLETED", "FAILED"}, rows
    assert all(r["attempts"] <= r["max_attempts"] for r in rows.values())
    assert any(r["attempts"] > 1 for r in rows.values()), "no item was retried: the test did not fail any attempt"
    completed = sorted(n for n, r in rows.items() if r["status"] == "COMPLETED")
    assert completed and sorted(await local_usernames(settings)) == completed


async def test_a_lease_lost_remotely_stops_the_local_worker(tmp_path, stack, db, service):
    sim = make_sim(latency_ms=400)
    [name] = public_names(sim, 1, prefix="slow")
    await enqueue(service, [name])
    settings = fast_lease(tmp_path, stack, "lost", reels_count=48)
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        lost: list[str] = []
        sup.runtime.events.subscribe(lambda e: lost.append(e.message) if e.kind == "supabase.note" else None)
        await sup.start()
        queue = sup.slots["queue"].processor
        await wait_for(lambda: queue.running, what="the item running here")
        await rpc(service, "queue_remove", p_usernames=[name])  # an operator elsewhere removed it
        await wait_for(lambda: not queue.running, timeout=15, what="the worker stopped")
        assert any("lost the lease" in m for m in lost), lost
        await sup.stop(grace_seconds=0)
    assert await remote(db) == {}
    assert await local_usernames(settings) == []  # its result was never stored


async def test_high_added_remotely_pauses_low_running_here(tmp_path, stack, db, service):
    sim = make_sim(latency_ms=700)  # a LOW item runs several seconds: several lease beats
    low = public_names(sim, 2, prefix="lowslow", min_reels=100)
    [high] = public_names(sim, 1, prefix="urgent")
    await enqueue(service, low)
    settings = fast_lease(tmp_path, stack, "prio", max_concurrent=2, reels_count=150)
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        paused: list[str] = []
        sup.runtime.events.subscribe(lambda e: paused.append(e.message) if e.kind == "queue.paused" else None)
        await sup.start()
        queue = sup.slots["queue"].processor
        await wait_for(lambda: len(queue.running) == 2, what="both LOW items running")
        await enqueue(service, [high], priority="HIGH")  # added on another machine
        await wait_for(
            lambda: any("HIGH" in m for m in paused),
            timeout=20,
            what=lambda: f"a LOW item paused for HIGH; queue {queue.snapshot()}",
        )
        rows: dict[str, Any] = {}

        async def high_done() -> bool:
            rows.update(await remote(db))
            return rows[high]["status"] == "COMPLETED"

        await wait_for(high_done, timeout=30, what="the HIGH item completed")
        assert any(rows[n]["status"] != "COMPLETED" for n in low)  # it overtook LOW work already running
        await sup.stop(grace_seconds=0)


async def test_stop_gives_unfinished_items_back(tmp_path, stack, db, service):
    sim = make_sim(latency_ms=300)
    names = public_names(sim, 6, prefix="unfinished")
    await enqueue(service, names)
    settings = fast_lease(tmp_path, stack, "stop", max_concurrent=3, reels_count=48)
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        await sup.start()
        queue = sup.slots["queue"].processor
        await wait_for(lambda: len(queue.running) == 3, what="three items running")
        await sup.stop(grace_seconds=0)
    rows = await remote(db)
    assert {r["status"] for r in rows.values()} <= {"PENDING", "COMPLETED"}, rows
    given_back = [r for r in rows.values() if r["status"] == "PENDING"]
    assert len(given_back) >= 3 and all(r["attempts"] == 0 for r in given_back)  # the attempt given back
    assert await db.fetchval("SELECT count(*) FROM queue WHERE lease_expires_at > now()") == 0
