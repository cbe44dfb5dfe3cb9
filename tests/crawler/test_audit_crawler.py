"""Audit findings for the network crawler (docs/crawler.md): each test pins one defect that was fixed."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from crawler_helpers import community, new_crawl

from viralspot_tui.core.clock import to_iso
from viralspot_tui.core.crawler.models import RequestStatus
from viralspot_tui.core.crawler.processor import CrawlerProcessor
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.processors.base import ProcessorControl, Stopping


async def _until(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_running_processor_takes_over_a_crawl_whose_owner_died(runtime, sim, clock):
    # A `crawl --wait` in another shell is killed -9 mid-crawl: its request stays 'running'. The
    # engine used to recover leases only at its own start, so the crawl was never finished and
    # the engine never became idle (--exit-when-idle hung).
    processor = CrawlerProcessor(runtime, poll_seconds=0.01)
    control = ProcessorControl("crawler")
    task = asyncio.create_task(processor.run(control))
    try:
        await asyncio.sleep(0.05)  # the engine is up and idle
        # The dead CLI's request, already running under its lease (one statement: no race with
        # the engine's claim of pending work).
        lease = to_iso(clock.now() + timedelta(seconds=30))
        now = to_iso(clock.now())
        seeds = json.dumps(community(sim, 24)[:2])
        request_id = await runtime.db.write(
            lambda c: (
                c.execute(
                    "INSERT INTO crawler_requests (seeds, target, max_rounds, source, status, owner, lease_expires_at,"
                    " created_at, started_at, updated_at) VALUES (?, 3, 2, 'cli', 'running', 'deadhost:1:cli', ?, ?, ?, ?)",
                    (seeds, lease, now, now, now),
                ).lastrowid
            )
        )
        await asyncio.sleep(0.05)
        assert not await processor.is_idle()
        clock.advance(seconds=31)  # the dead owner's lease runs out

        async def done():
            row = await processor.store.get_request(request_id)
            return row.status is RequestStatus.COMPLETED

        await _until(done)
        assert await processor.is_idle()
    finally:
        control.stop()
        try:
            await asyncio.wait_for(task, 5)
        except Stopping:
            pass


async def test_a_live_crawl_is_not_taken_back_from_its_own_engine(runtime, sim, clock):
    store = CrawlerStore(runtime.db, runtime.clock, lease_seconds=30)
    request = await store.create_request([], 1, 1)
    await store.claim("thishost:1:crawler", request_id=request.id)
    assert await store.recover_expired() == 0
    clock.advance(seconds=31)
    assert await store.recover_expired() == 1
    assert (await store.get_request(request.id)).status is RequestStatus.PENDING


async def test_lease_is_renewed_during_a_long_delay_between_rounds(make_runtime, sim):
    # round_delay_seconds is configurable without bound; the crawl beat its lease only at round
    # starts, so a delay longer than the lease let another engine take over a live crawl.
    runtime = await make_runtime(round_delay_seconds=0.5, min_followers=0)
    beats = []

    async def beat():
        beats.append(asyncio.get_running_loop().time())

    seeds = community(sim, 24)[:2]
    crawl = new_crawl(
        runtime,
        seeds=seeds,
        target=1000,
        max_rounds=2,
        heartbeat=beat,
        beat_seconds=0.1,
        control=ProcessorControl("crawler"),
    )
    await crawl.run()
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert len(beats) >= 5 and max(gaps) < 0.35, gaps


async def test_failed_crawl_error_text_never_carries_a_secret(tmp_path, clock, sim):
    from viralspot_tui.config import load_settings
    from viralspot_tui.core.runtime import Runtime

    secret = "rapid-audit-0123456789abcdef"
    settings = load_settings(
        data_dir=tmp_path,
        simulate=True,
        rapidapi={"key": secret, "requests_per_second": 1000.0},
        crawler={"round_delay_seconds": 0},
    )
    runtime = await Runtime.open(settings, transport=sim.transport(), simulator=sim, clock=clock)
    try:

        async def broken(*_a, **_k):
            raise RuntimeError(f"unexpected: headers={{'x-rapidapi-key': '{secret}'}}")

        runtime.queue.enqueue = broken  # a bug below the crawl
        processor = CrawlerProcessor(runtime, poll_seconds=0.01)
        seen = []
        runtime.events.subscribe(lambda e: seen.append(e.message + repr(e.data)))
        request = await processor.store.create_request(community(sim, 24)[:1], 5, 1)
        control = ProcessorControl("crawler")
        task = asyncio.create_task(processor.run(control))

        async def failed():
            return (await processor.store.get_request(request.id)).status is RequestStatus.FAILED

        try:
            await _until(failed)
        finally:
            control.stop()
            try:
                await asyncio.wait_for(task, 5)
            except Stopping:
                pass
        row = await processor.store.get_request(request.id)
    finally:
        await runtime.close()
    assert "RuntimeError" in row.error
    for text in [row.error, *seen]:
        assert secret not in text


async def test_operator_block_during_a_crawl_applies_from_the_next_round(make_runtime, sim):
    # The blocklist is edited while the engine runs (`crawl block`), and a crawl can last a day
    # (waiting for the budget); it was read once at the crawl's start, so a block did not apply.
    from crawler_helpers import queue_rows, similar_of

    runtime = await make_runtime(min_followers=0)
    members = community(sim, 24)
    first, second = next(
        (a, b)
        for a in members
        for b in members
        if a != b and set(similar_of(sim, b)) - set(similar_of(sim, a)) - {a, b}
    )
    later = [n for n in similar_of(sim, second) if n not in similar_of(sim, first) and n not in (first, second)]
    store = CrawlerStore(runtime.db, runtime.clock)

    async def block_after_first(report):
        if report.round == 1:
            for name in later:
                await store.block(name)

    crawl = new_crawl(runtime, seeds=[first, second], target=1000, max_rounds=2, on_round=block_after_first)
    report = await crawl.run()
    queued = {r[0] for r in await queue_rows(runtime)}
    assert not queued & set(later)
    assert report.rounds[1].dropped.get("blocked", 0) >= len(later)
