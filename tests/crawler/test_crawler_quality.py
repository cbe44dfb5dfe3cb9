"""C4: follower counts from text, enrichment by profile call, and a reason for every drop."""

from __future__ import annotations

import pytest
from crawler_helpers import community, context_followers, new_crawl, similar_of

from viralspot_tui.core.crawler.budget import DailyBudget
from viralspot_tui.core.crawler.models import Candidate, DropReason
from viralspot_tui.core.crawler.quality import QualityFilter
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.models.instagram import SimilarAccount, parse_follower_text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12.5K followers", 12_500),
        ("1.2M followers", 1_200_000),
        ("8,431 followers", 8_431),
        ("678 followers", 678),
        ("1 follower", 1),
        ("Followed by zoe + 3 more", None),
        ("Followed by zoe", None),
        ("", None),
        (None, None),
    ],
)
def test_follower_text_parsing(text, expected):
    assert parse_follower_text(text) == expected


def test_similar_item_takes_its_count_from_social_context_only_when_present():
    assert SimilarAccount.model_validate({"username": "a_b", "social_context": "3.0K followers"}).followers == 3_000
    assert (
        SimilarAccount.model_validate({"username": "a_b", "social_context": "Followed by x + 2 more"}).followers is None
    )
    assert SimilarAccount.model_validate({"username": "a_b"}).followers is None


def _filter(runtime, sim, *, min_followers=1000, enrich=10, blocked=(), limit=0):
    store = CrawlerStore(runtime.db, runtime.clock)
    return QualityFilter(
        db=runtime.db,
        instagram=runtime.providers.instagram,
        budget=DailyBudget(store, runtime.clock, limit),
        min_followers=min_followers,
        enrich_per_round=enrich,
        blocked=blocked,
    )


async def _judge(qf, candidates, need=100):
    screened = qf.screen(candidates)
    verdict = await qf.evaluate(list(dict.fromkeys(screened.order)), screened.valid, need)
    reasons = {d.username: d.reason for d in screened.drops + verdict.drops}
    return verdict, reasons


async def test_each_check_drops_with_its_reason(runtime, sim):
    qf = _filter(runtime, sim, blocked=["@Blocked_One"])
    verdict, reasons = await _judge(
        qf,
        [
            Candidate(username="not valid!", followers=50_000),
            Candidate(username="blocked_one", followers=50_000),
            Candidate(username="hidden_acct", is_private=True, followers=50_000),
            Candidate(username="small_acct", followers=999, social_context="999 followers"),
            Candidate(username="big_acct", followers=12_500, social_context="12.5K followers"),
            Candidate(username="exact_min", followers=1000),
        ],
    )
    assert verdict.accepted == ["big_acct", "exact_min"]
    assert reasons == {
        "not valid!": DropReason.INVALID_USERNAME,
        "blocked_one": DropReason.BLOCKED,
        "hidden_acct": DropReason.PRIVATE,
        "small_acct": DropReason.BELOW_MIN_FOLLOWERS,
    }
    assert verdict.calls == 0 and sim.stats.count() == 0


async def test_missing_count_is_enriched_with_a_profile_call(runtime, sim):
    pool = [f"public_acct{i}" for i in range(200)]
    big = next(n for n in pool if sim.world.profile(n).follower_count >= 1000)
    small = next(n for n in pool if sim.world.profile(n).follower_count < 1000)
    qf = _filter(runtime, sim)
    verdict, reasons = await _judge(
        qf,
        [
            Candidate(username=big),
            Candidate(username=small, social_context="Followed by zoe + 8 more"),
            Candidate(username="missing_nobody"),
            Candidate(username="private_quiet"),
        ],
    )
    assert verdict.accepted == [big]
    assert reasons == {
        small: DropReason.BELOW_MIN_FOLLOWERS,
        "missing_nobody": DropReason.NOT_FOUND,
        "private_quiet": DropReason.PRIVATE,
    }
    assert verdict.calls == 4
    for name in (big, small, "missing_nobody", "private_quiet"):
        assert sim.stats.count(endpoint="profile", key=name) == 1


async def test_enrichment_respects_the_round_budget(runtime, sim):
    qf = _filter(runtime, sim, enrich=1)
    names = ["public_aaa", "public_bbb", "public_ccc"]
    verdict, reasons = await _judge(qf, [Candidate(username=n) for n in names])
    assert verdict.calls == 1 and sim.stats.count(endpoint="profile") == 1
    assert [reasons.get(n) for n in names[1:]] == [DropReason.UNKNOWN_FOLLOWERS] * 2


async def test_enrichment_respects_the_daily_budget(runtime, sim):
    qf = _filter(runtime, sim, enrich=10, limit=2)
    verdict, reasons = await _judge(qf, [Candidate(username=f"public_n{i}") for i in range(4)])
    assert verdict.calls == 2 and sim.stats.count(endpoint="profile") == 2
    assert sum(r is DropReason.UNKNOWN_FOLLOWERS for r in reasons.values()) == 2


async def test_enrichment_stops_when_the_target_needs_no_more(runtime, sim):
    qf = _filter(runtime, sim)
    big = [n for n in (f"public_big{i}" for i in range(40)) if sim.world.profile(n).follower_count >= 1000][:3]
    verdict, reasons = await _judge(qf, [Candidate(username=n) for n in big], need=1)
    assert verdict.accepted == big[:1] and verdict.calls == 1
    assert reasons == {big[1]: DropReason.TARGET_REACHED, big[2]: DropReason.TARGET_REACHED}


async def test_stored_secondary_count_saves_the_profile_call(runtime, sim):
    from viralspot_tui.core.clock import to_iso

    now = to_iso(runtime.clock.now())
    await runtime.db.write(
        lambda c: c.execute(
            "INSERT INTO secondary_profiles (username, followers, discovered_by, first_seen_at, updated_at)"
            " VALUES ('public_known', 500, 'x', ?, ?)",
            (now, now),
        )
    )
    verdict, reasons = await _judge(_filter(runtime, sim), [Candidate(username="public_known")])
    assert reasons == {"public_known": DropReason.BELOW_MIN_FOLLOWERS} and verdict.calls == 0
    assert sim.stats.count(endpoint="profile") == 0


async def test_crawl_round_matches_the_world_candidate_by_candidate(make_runtime, sim):
    runtime = await make_runtime(min_followers=1000, enrich_budget_per_round=50)
    seed = community(sim, 0)[0]
    report = await new_crawl(runtime, seeds=[seed], target=1000, max_rounds=1).run()
    (r,) = report.rounds
    expected: dict[str, str] = {}
    for name in similar_of(sim, seed):
        profile = sim.world.profile(name)
        count = context_followers(sim, seed, name)
        if profile.is_private:
            expected[name] = "private"
        elif (count if count is not None else profile.follower_count) < 1000:
            expected[name] = "below_min_followers"
        else:
            expected[name] = "queued"
    actual = {d.username: d.reason.value for d in r.drops} | {n: "queued" for n in r.queued}
    assert actual == expected
    assert r.found == len(expected) == r.dropped_total + r.duplicates + len(r.queued)
    needs_call = [
        n for n in expected if context_followers(sim, seed, n) is None and not sim.world.profile(n).is_private
    ]
    assert sorted(sim.stats.keys(endpoint="profile")) == sorted(needs_call)
    assert r.calls == 1 + len(needs_call)


async def test_a_round_past_its_target_drops_the_rest_as_target_reached(make_runtime, sim):
    """The world check again with a target of 3: exactly three good candidates are queued, every
    other good one is dropped as target_reached, and nothing is paid for once the target is met."""
    runtime = await make_runtime(min_followers=1000, enrich_budget_per_round=50)
    seed = community(sim, 0)[0]
    report = await new_crawl(runtime, seeds=[seed], target=3, max_rounds=1).run()
    (r,) = report.rounds
    reasons = {d.username: d.reason.value for d in r.drops}
    good, unknown = set(), set()
    for name in similar_of(sim, seed):
        profile = sim.world.profile(name)
        count = context_followers(sim, seed, name)
        if profile.is_private:
            assert reasons[name] == "private", name
        elif count is not None and count < 1000:
            assert reasons[name] == "below_min_followers", name
        elif count is None:
            unknown.add(name)  # good or not is known only after a paid profile call
            if profile.follower_count >= 1000:
                good.add(name)
        else:
            good.add(name)
    assert len(r.queued) == 3 and set(r.queued) <= good
    assert all(reasons[n] == "target_reached" for n in good - set(r.queued))
    assert all(reasons.get(n) in ("below_min_followers", "target_reached") for n in unknown - good)
    assert r.found == len(similar_of(sim, seed)) == r.dropped_total + r.duplicates + len(r.queued)
    # More than three good candidates came with their follower counts, so the six whose count is
    # unknown were never looked up: no paid call once the target is met.
    assert len(good - unknown) > 3 and len(unknown) == 6 and sim.stats.keys(endpoint="profile") == []
    assert report.target_reached
