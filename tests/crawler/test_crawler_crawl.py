"""C2, C5, C6: multi-round crawls, strict per-round accounting, events, outcomes."""

from __future__ import annotations

from crawler_helpers import community, new_crawl, queue_rows

from viralspot_tui.core.crawler.models import CrawlOutcome, DropReason
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.sim import HTTP_500, QUOTA_EXHAUSTED


def _collect(runtime, kind="crawler.round"):
    events = []
    runtime.events.subscribe(lambda e: events.append(e) if e.kind == kind else None)
    return events


async def test_every_round_adds_up_and_is_an_event_and_a_row(runtime, sim):
    events = _collect(runtime)
    seeds = community(sim, 10)[:3]
    store = CrawlerStore(runtime.db, runtime.clock)
    request = await store.create_request(seeds, 1000, 3)
    report = await new_crawl(runtime, seeds=seeds, target=1000, max_rounds=3, request_id=request.id).run()
    assert len(report.rounds) == 3
    for r in report.rounds:
        assert r.found > 0
        assert r.found == sum(r.dropped.values()) + r.duplicates + len(r.queued)
        assert all(isinstance(d.reason, DropReason) for d in r.drops)
        assert len(r.drops) == r.dropped_total and len(r.duplicate_names) == r.duplicates
    assert [e.data["round"] for e in events] == [1, 2, 3]
    for event, r in zip(events, report.rounds):
        assert {k: event.data[k] for k in ("seed", "found", "dropped", "duplicates", "queued")} == {
            "seed": r.seed,
            "found": r.found,
            "dropped": r.dropped,
            "duplicates": r.duplicates,
            "queued": len(r.queued),
        }
    stored = await store.rounds_for(request.id)
    assert [s.summary() for s in stored] == [r.summary() for r in report.rounds]
    row = await store.get_request(request.id)
    assert row.rounds_done == 3 and row.queued == len(report.queued)


async def test_queued_at_low_with_source_crawler(runtime, sim):
    report = await new_crawl(runtime, seeds=community(sim, 11)[:1], target=1000, max_rounds=1).run()
    rows = await queue_rows(runtime)
    assert report.queued and [r[0] for r in rows] == report.queued
    assert {(r[1], r[2], r[3]) for r in rows} == {("PENDING", "LOW", "crawler")}


async def test_target_reached_across_several_rounds(runtime, sim):
    seeds = community(sim, 12)[:6]
    report = await new_crawl(runtime, seeds=seeds, target=25, max_rounds=5).run()
    assert report.outcome is CrawlOutcome.TARGET_REACHED and report.target_reached
    assert 2 <= len(report.rounds) <= 5
    assert len(report.queued) == 25 == len(set(report.queued))
    assert len(await queue_rows(runtime)) == 25
    assert "target reached" in report.describe()
    last = report.rounds[-1]
    assert last.found == last.dropped_total + last.duplicates + len(last.queued)


async def test_rounds_exhausted_before_target_is_reported_as_such(runtime, sim):
    report = await new_crawl(runtime, seeds=community(sim, 13)[:4], target=500, max_rounds=2).run()
    assert report.outcome is CrawlOutcome.ROUNDS_EXHAUSTED and not report.target_reached
    assert len(report.rounds) == 2 and 0 < len(report.queued) < 500
    assert "rounds ran out" in report.describe()
    assert sim.stats.count(endpoint="similar") == 2


async def test_delay_between_rounds_goes_through_the_clock(make_runtime, sim, clock):
    runtime = await make_runtime(round_delay_seconds=7)
    await new_crawl(runtime, seeds=community(sim, 14)[:3], target=1000, max_rounds=3).run()
    assert clock.sleeps.count(7) == 2  # between rounds only, not before the first or after the last


async def test_a_failing_seed_is_a_round_with_an_error_and_the_crawl_goes_on(runtime, sim):
    bad, good = community(sim, 15)[:2]
    sim.inject("similar", HTTP_500, count=10, match=bad)
    report = await new_crawl(runtime, seeds=[bad, good], target=1000, max_rounds=2).run()
    first, second = report.rounds
    assert first.seed == bad and first.error and first.found == 0 and first.queued == []
    assert second.seed == good and second.error is None and second.queued
    assert report.outcome is CrawlOutcome.ROUNDS_EXHAUSTED


async def test_exhausted_provider_quota_stops_the_crawl(runtime, sim):
    a, b = community(sim, 16)[:2]
    sim.inject("similar", QUOTA_EXHAUSTED, count=5)
    report = await new_crawl(runtime, seeds=[a, b], target=1000, max_rounds=2).run()
    assert report.outcome is CrawlOutcome.PROVIDER_UNAVAILABLE and report.error
    assert len(report.rounds) == 1 and sim.stats.count(endpoint="similar") == 1


async def test_blocked_accounts_are_dropped_from_store_and_config(make_runtime, sim):
    seed = community(sim, 17)[0]
    probe = await make_runtime(min_followers=0)
    names = [n for n in dict.fromkeys(sim.world.similar(seed)) if sim.world.profile(n).kind == "public"]
    by_store, by_config = names[:2]
    await CrawlerStore(probe.db, probe.clock).block(by_store)
    probe.settings.crawler.blocked = [by_config.upper()]
    report = await new_crawl(probe, seeds=[seed], target=1000, max_rounds=1).run()
    reasons = {d.username: d.reason for d in report.rounds[0].drops}
    assert reasons[by_store] is DropReason.BLOCKED and reasons[by_config] is DropReason.BLOCKED
    assert by_store not in report.queued and by_config not in report.queued


async def test_resumed_crawl_continues_from_its_recorded_rounds(runtime, sim):
    seeds = community(sim, 18)[:4]
    store = CrawlerStore(runtime.db, runtime.clock)
    request = await store.create_request(seeds, 1000, 4)
    first = await new_crawl(runtime, seeds=seeds, target=1000, max_rounds=2, request_id=request.id).run()
    previous = await store.rounds_for(request.id)
    resumed = await new_crawl(
        runtime, seeds=seeds, target=1000, max_rounds=4, request_id=request.id, previous=previous
    ).run()
    assert [r.round for r in resumed.rounds] == [1, 2, 3, 4]
    assert [r.seed for r in resumed.rounds] == seeds
    assert resumed.queued[: len(first.queued)] == first.queued
    assert sim.stats.keys(endpoint="similar") == seeds  # rounds 1-2 were not repeated
