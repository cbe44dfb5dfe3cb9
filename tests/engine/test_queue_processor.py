"""The Queue Processor against the simulator: priority, pre-emption, retries, shutdown (docs/queue.md, "Priority")."""

from __future__ import annotations

import asyncio
from collections import Counter

from testkit import make_settings, make_sim, public_names, wait_for

from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Priority, Status


async def _statuses(sup, names):
    items = {n: await sup.runtime.queue.get(n) for n in names}
    return {n: i.status for n, i in items.items()}


def _ok_calls(sim):
    return [c for c in sim.stats.calls if c.outcome == "ok"]


async def test_high_items_run_before_low(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path, queue={"max_concurrent": 1, "reels_count": 12})
    low = public_names(sim, 3, prefix="low")
    high = public_names(sim, 2, prefix="high")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(low, Priority.LOW)
        await sup.runtime.queue.enqueue(high, Priority.HIGH)
        await sup.start()
        await wait_for(lambda: _all_done(sup, low + high))
        items = [await sup.runtime.queue.get(n) for n in low + high]
    order = [i.username for i in sorted(items, key=lambda i: i.completed_at)]
    assert order[:2] == high and order[2:] == low


async def _all_done(sup, names):
    return all(s == Status.COMPLETED for s in (await _statuses(sup, names)).values())


async def test_high_pauses_running_low_which_resumes_without_repeating_calls(tmp_path):
    sim = make_sim(latency_ms=25)
    settings = make_settings(tmp_path, queue={"max_concurrent": 2, "reels_count": 72})
    low = public_names(sim, 2, prefix="lowlane", min_reels=80)
    high = public_names(sim, 2, prefix="highlane")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        paused: list[str] = []
        sup.runtime.events.subscribe(lambda e: paused.append(e.data["username"]) if e.kind == "queue.paused" else None)
        await sup.runtime.queue.enqueue(low, Priority.LOW)
        await sup.start()
        await wait_for(lambda: sum(1 for c in sim.stats.calls if c.endpoint == "reels" and c.key in low) >= 3)
        await sup.runtime.queue.enqueue(high, Priority.HIGH)
        sup.wake("queue")
        await wait_for(lambda: len(set(paused)) == 2)
        assert {(await sup.runtime.queue.get(n)).status for n in low} <= {Status.PAUSED, Status.PROCESSING}
        await wait_for(lambda: _all_done(sup, low + high))
        items = {n: await sup.runtime.queue.get(n) for n in low + high}
    assert set(paused) == set(low)
    assert max(items[n].completed_at for n in high) < min(items[n].completed_at for n in low)
    # resumed from the checkpoint: every (endpoint, subject, page) was fetched exactly once
    repeats = {k: v for k, v in Counter((c.endpoint, c.key, c.detail) for c in _ok_calls(sim)).items() if v > 1}
    assert repeats == {}
    # pre-emption is not a failed attempt
    assert all(items[n].attempts == 1 for n in low)


async def test_permanent_errors_fail_at_once_with_a_clear_error(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(["missing_someone", "private_someone"], Priority.HIGH)
        await sup.start()
        await wait_for(lambda: _all_settled(sup, ["missing_someone", "private_someone"]))
        missing = await sup.runtime.queue.get("missing_someone")
        private = await sup.runtime.queue.get("private_someone")
    assert missing.status is Status.FAILED and missing.attempts == 1 and "not found" in missing.last_error.lower()
    assert private.status is Status.FAILED and "private" in private.last_error
    assert sim.stats.count(endpoint="profile") == 2 + 0  # one call each, no retries


async def _all_settled(sup, names):
    return all(s in (Status.COMPLETED, Status.FAILED) for s in (await _statuses(sup, names)).values())


async def test_transient_errors_retry_with_backoff_then_fail_within_bounds(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path, queue={"max_attempts": 3}, rapidapi={"retries": 2})
    [name] = public_names(sim, 1, prefix="flaky")
    sim.inject("profile", "http_503", count=1000, match=name)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        retries: list[str] = []
        sup.runtime.events.subscribe(lambda e: retries.append(e.message) if e.kind == "queue.retry" else None)
        await sup.runtime.queue.enqueue([name], Priority.HIGH)
        await sup.start()
        await wait_for(lambda: _all_settled(sup, [name]))
        item = await sup.runtime.queue.get(name)
    assert item.status is Status.FAILED and item.attempts == 3
    assert "503" in item.last_error
    assert len(retries) == 2  # attempts 1 and 2 were rescheduled, attempt 3 was final
    # 3 queue attempts x (1 call + 2 in-call retries), never more
    assert sim.stats.count(endpoint="profile", outcome="http_503") == 9


async def test_transient_error_then_success_completes(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path, rapidapi={"retries": 0})
    [name] = public_names(sim, 1, prefix="blip")
    sim.inject("reels", "http_500", count=1, match=name)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue([name], Priority.LOW)
        await sup.start()
        await wait_for(lambda: _all_settled(sup, [name]))
        item = await sup.runtime.queue.get(name)
    assert item.status is Status.COMPLETED and item.attempts == 2
    assert sim.stats.count(endpoint="profile") == 1  # the finished profile step was not repeated


async def test_quota_exhausted_parks_items_without_burning_attempts(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path)
    [name] = public_names(sim, 1, prefix="quota")
    sim.inject("profile", "quota_exhausted", count=1, match=name)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue([name], Priority.HIGH)
        await sup.start()
        await wait_for(lambda: sim.stats.count(endpoint="profile", outcome="quota") == 1)
        await wait_for(lambda: _status_is(sup, name, Status.PENDING))
        item = await sup.runtime.queue.get(name)
        calls_before = len(sim.stats.calls)
        assert await sup.processor("queue").is_idle()
    assert item.attempts == 0 and item.not_before is not None and item.not_before > sup.runtime.clock.now()
    assert "quota" in item.last_error.lower()
    assert len(sim.stats.calls) == calls_before


async def _status_is(sup, name, status):
    return (await sup.runtime.queue.get(name)).status is status


async def test_not_subscribed_pauses_the_queue_and_keeps_the_item(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path)
    [name] = public_names(sim, 1, prefix="sub")
    sim.inject("profile", "not_subscribed", count=1, match=name)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue([name], Priority.HIGH)
        await sup.start()
        await wait_for(lambda: sup.is_paused("queue"))
        await wait_for(lambda: _status_is(sup, name, Status.PENDING))
        item = await sup.runtime.queue.get(name)
        assert item.attempts == 0 and "not subscribed" in item.last_error
        assert sim.stats.count(endpoint="profile") == 1
        sup.resume("queue")
        await wait_for(lambda: _status_is(sup, name, Status.COMPLETED))


async def test_graceful_shutdown_releases_in_flight_items_and_gives_attempts_back(tmp_path):
    sim = make_sim(latency_ms=150)
    settings = make_settings(tmp_path, queue={"max_concurrent": 4, "reels_count": 120})
    names = public_names(sim, 4, prefix="slow", min_reels=120)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(names, Priority.LOW)
        await sup.start()
        await wait_for(lambda: sup.snapshot().queue.in_flight == 4 or sup.processor("queue").running.__len__() == 4)
        await sup.stop(grace_seconds=0.05)
        items = [await sup.runtime.queue.get(n) for n in names]
    assert all(i.status is Status.PENDING for i in items)
    assert all(i.attempts == 0 and i.lease_owner is None for i in items)


async def test_graceful_shutdown_lets_short_work_finish_within_grace(tmp_path):
    sim = make_sim(latency_ms=30)
    settings = make_settings(tmp_path, queue={"max_concurrent": 2, "reels_count": 12})
    names = public_names(sim, 2, prefix="quick")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(names, Priority.LOW)
        await sup.start()
        await wait_for(lambda: len(sup.processor("queue").running) == 2)
        await sup.stop(grace_seconds=10)
        items = [await sup.runtime.queue.get(n) for n in names]
    assert all(i.status is Status.COMPLETED for i in items)


async def test_concurrency_caps_change_at_run_time(tmp_path):
    sim = make_sim(latency_ms=20)
    settings = make_settings(tmp_path, queue={"max_concurrent": 1, "reels_count": 24})
    names = public_names(sim, 8, prefix="cap")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        proc = sup.processor("queue")
        peak = 0

        def watch(_e):
            nonlocal peak
            peak = max(peak, len(proc.running))

        sup.runtime.events.subscribe(watch)
        await sup.runtime.queue.enqueue(names, Priority.LOW)
        await sup.start()
        await wait_for(lambda: len(proc.running) == 1)
        assert peak == 1
        await sup.apply_command("set_concurrency", {"max_concurrent": 4})
        await wait_for(lambda: len(proc.running) == 4)
        await wait_for(lambda: _all_done(sup, names))
    assert peak == 4


async def test_processor_pause_and_resume_stop_and_restart_claiming(tmp_path):
    sim = make_sim()
    settings = make_settings(tmp_path)
    names = public_names(sim, 3, prefix="pz")
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.start()
        sup.pause("queue")
        await sup.runtime.queue.enqueue(names, Priority.HIGH)
        await asyncio.sleep(0.6)
        assert sim.stats.count() == 0
        assert sup.snapshot().processors["queue"].state == "paused"
        sup.resume("queue")
        await wait_for(lambda: _all_done(sup, names))


async def test_a_batch_run_stopped_by_a_configuration_error_exits_1_instead_of_hanging(tmp_path):
    from viralspot_tui.core.headless import run_headless

    sim = make_sim(unsubscribed_keys=frozenset({"simulator-key"}))
    settings = make_settings(tmp_path)
    async with open_engine(
        settings, transport=sim.transport(), simulator=sim, processors=("queue",), local_only=True
    ) as sup:
        await sup.runtime.queue.enqueue(public_names(sim, 2, prefix="cfg"), Priority.HIGH)
    code = await asyncio.wait_for(
        run_headless(settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)),
        timeout=30,
    )
    assert code == 1
    assert sim.stats.count(outcome="not_subscribed") >= 1
