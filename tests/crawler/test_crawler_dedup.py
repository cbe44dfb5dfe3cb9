"""C3: dedup against the queue (any status), primary_profiles and this crawl — not secondaries."""

from __future__ import annotations

from crawler_helpers import add_primaries, community, new_crawl, queue_rows, similar_of

from viralspot_tui.core.clock import to_iso
from viralspot_tui.core.crawler.dedup import Deduplicator


async def test_duplicates_against_each_source_and_secondaries_stay_eligible(make_runtime, sim):
    runtime = await make_runtime(min_followers=0)  # isolate dedup from the follower filter
    seed = community(sim, 6)[0]
    names = [n for n in similar_of(sim, seed) if sim.world.profile(n).kind == "public"]
    pending, completed, failed, scraped, secondary = names[:5]
    await runtime.queue.enqueue([pending, completed, failed], source="manual")
    await runtime.db.write(
        lambda c: c.execute(
            "UPDATE queue SET status = CASE username WHEN ? THEN 'COMPLETED' WHEN ? THEN 'FAILED' ELSE status END",
            (completed, failed),
        )
    )
    await add_primaries(runtime, [scraped])
    now = to_iso(runtime.clock.now())
    await runtime.db.write(
        lambda c: c.execute(
            "INSERT INTO secondary_profiles (username, discovered_by, first_seen_at, updated_at) VALUES (?, ?, ?, ?)",
            (secondary, "someone", now, now),
        )
    )

    report = await new_crawl(runtime, seeds=[seed], target=1000, max_rounds=1).run()
    (round1,) = report.rounds
    assert {pending, completed, failed, scraped} <= set(round1.duplicate_names)
    assert secondary in round1.queued
    assert not {pending, completed, failed, scraped} & set(round1.queued)
    rows = await queue_rows(runtime)
    assert [r for r in rows if r[0] in (pending, completed, failed)] == [
        (pending, "PENDING", "LOW", "manual"),
        (completed, "COMPLETED", "LOW", "manual"),
        (failed, "FAILED", "LOW", "manual"),
    ]


async def test_seen_earlier_in_the_crawl_counts_as_duplicate(runtime, sim):
    a, b = community(sim, 8)[:2]
    overlap = set(similar_of(sim, a)) & set(similar_of(sim, b))
    assert overlap, "the simulator's communities should make neighbours overlap"
    report = await new_crawl(runtime, seeds=[a, b], target=1000, max_rounds=2).run()
    r1, r2 = report.rounds
    judged_in_r1 = set(r1.queued) | set(r1.duplicate_names) | {d.username for d in r1.drops}
    assert overlap <= judged_in_r1
    assert overlap <= set(r2.duplicate_names) | {a}
    assert not set(r1.queued) & set(r2.queued)
    assert r2.duplicates >= len(overlap - {a})


async def test_deduplicator_marks_everything_it_sees(runtime):
    await runtime.queue.enqueue(["in_queue"], source="manual")
    dedup = Deduplicator(runtime.db, seen=["seed_x"])
    first = await dedup.split(["a_one", "in_queue", "a_one", "seed_x", "b_two"])
    assert first.fresh == ["a_one", "b_two"]
    assert first.duplicates == ["in_queue", "a_one", "seed_x"]
    second = await dedup.split(["b_two", "c_three"])
    assert second.fresh == ["c_three"] and second.duplicates == ["b_two"]
