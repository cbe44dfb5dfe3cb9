"""The crawler as an engine processor: requests, schedule, pause, stop/resume, snapshot."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

from crawler_helpers import add_primaries, community

from viralspot_tui.core.crawler.models import RequestStatus
from viralspot_tui.core.crawler.processor import CrawlerProcessor
from viralspot_tui.core.processors.base import ProcessorControl, Stopping


async def _until(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def _stop(control, task):
    control.stop()
    try:
        await asyncio.wait_for(task, 5)
    except Stopping:
        pass


def _start(processor):
    control = ProcessorControl("crawler")
    return control, asyncio.create_task(processor.run(control))


async def test_runs_a_pending_request_and_reports_it_in_the_snapshot(runtime, sim):
    processor = CrawlerProcessor(runtime, poll_seconds=0.01)
    assert await processor.is_idle()
    seeds = community(sim, 24)[:3]
    request = await processor.store.create_request(seeds, 15, 3)
    assert not await processor.is_idle()
    control, task = _start(processor)
    try:
        await _until(lambda: _status(processor, request.id, RequestStatus.COMPLETED))
    finally:
        await _stop(control, task)
    snap = processor.snapshot()
    json.dumps(snap.to_json())  # JSON-serialisable for `status --json`
    assert snap.current is None
    assert (snap.queued, snap.target) == (15, 15)
    assert snap.last_outcome == "target_reached"
    assert [r.seed for r in snap.rounds] == seeds[: len(snap.rounds)]
    for r in snap.rounds:
        assert r.found == r.dropped_total + r.duplicates + r.queued
    assert snap.budget.used >= len(snap.rounds)
    assert await processor.is_idle()


async def _status(processor, request_id, status):
    row = await processor.store.get_request(request_id)
    return row is not None and row.status is status


async def test_history_survives_a_new_processor(runtime, sim):
    first = CrawlerProcessor(runtime, poll_seconds=0.01)
    request = await first.store.create_request(community(sim, 25)[:2], 1000, 2)
    control, task = _start(first)
    try:
        await _until(lambda: _status(first, request.id, RequestStatus.COMPLETED))
    finally:
        await _stop(control, task)
    second = CrawlerProcessor(runtime, poll_seconds=0.01)
    control, task = _start(second)
    try:
        await _until(lambda: _has_rounds(second))
    finally:
        await _stop(control, task)
    assert [r.round for r in second.snapshot().rounds] == [1, 2]


async def _has_rounds(processor):
    return len(processor.snapshot().rounds) > 0


async def test_pausable_between_rounds(runtime, sim):
    processor = CrawlerProcessor(runtime, poll_seconds=0.01)
    request = await processor.store.create_request(community(sim, 26)[:3], 1000, 3)
    control = ProcessorControl("crawler")
    runtime.events.subscribe(lambda e: control.pause() if e.kind == "crawler.round" and e.data["round"] == 1 else None)
    task = asyncio.create_task(processor.run(control))
    try:
        await _until(lambda: _state_is(processor, "paused"))
        await asyncio.sleep(0.1)
        assert sim.stats.count(endpoint="similar") == 1
        assert processor.snapshot().current.rounds_done == 1
        control.resume()
        await _until(lambda: _status(processor, request.id, RequestStatus.COMPLETED))
    finally:
        await _stop(control, task)
    assert sim.stats.count(endpoint="similar") == 3


async def _state_is(processor, state):
    current = processor.snapshot().current
    return current is not None and current.state == state


async def test_stop_between_rounds_hands_the_crawl_back_and_a_restart_resumes_it(runtime, sim):
    seeds = community(sim, 27)[:4]
    processor = CrawlerProcessor(runtime, poll_seconds=0.01)
    request = await processor.store.create_request(seeds, 1000, 4)
    control = ProcessorControl("crawler")
    runtime.events.subscribe(lambda e: control.stop() if e.kind == "crawler.round" and e.data["round"] == 2 else None)
    task = asyncio.create_task(processor.run(control))
    try:
        await asyncio.wait_for(task, 5)
    except Stopping:
        pass
    row = await processor.store.get_request(request.id)
    assert row.status is RequestStatus.PENDING and row.rounds_done == 2

    again = CrawlerProcessor(runtime, poll_seconds=0.01)
    control, task = _start(again)
    try:
        await _until(lambda: _status(again, request.id, RequestStatus.COMPLETED))
    finally:
        await _stop(control, task)
    rounds = await again.store.rounds_for(request.id)
    assert [r.round for r in rounds] == [1, 2, 3, 4] and [r.seed for r in rounds] == seeds
    assert sim.stats.keys(endpoint="similar") == seeds


async def test_a_crawl_left_running_by_a_dead_process_is_recovered(runtime, sim):
    processor = CrawlerProcessor(runtime, poll_seconds=0.01, lease_seconds=30)
    request = await processor.store.create_request(community(sim, 28)[:1], 1000, 1)
    assert await processor.store.claim("otherhost:1:dead:crawler") is not None
    runtime.clock.advance(seconds=31)  # its lease expires
    control, task = _start(processor)
    try:
        await _until(lambda: _status(processor, request.id, RequestStatus.COMPLETED))
    finally:
        await _stop(control, task)


async def test_scheduled_crawls_run_every_interval(make_runtime, sim, clock):
    runtime = await make_runtime(schedule_every_minutes=10, max_rounds=1, target_new_profiles=3)
    await add_primaries(runtime, community(sim, 29)[:5])
    processor = CrawlerProcessor(runtime, poll_seconds=0.01, rng=random.Random(4))
    control, task = _start(processor)
    try:
        await _until(lambda: _count_scheduled(processor, 1, done=True))
        await asyncio.sleep(0.1)
        assert await _count_scheduled(processor, 1)  # not due again yet
        assert await processor.is_idle()
        assert processor.snapshot().next_scheduled_at == clock.now() + timedelta(minutes=10)
        clock.advance(minutes=10)
        control.wake()
        await _until(lambda: _count_scheduled(processor, 2, done=True))
    finally:
        await _stop(control, task)
    assert sim.stats.count(endpoint="similar") == 2


async def _count_scheduled(processor, n, done=False):
    rows = [r for r in await processor.store.list_requests(50) if r.source == "schedule"]
    return len(rows) == n and (not done or all(r.status is RequestStatus.COMPLETED for r in rows))
