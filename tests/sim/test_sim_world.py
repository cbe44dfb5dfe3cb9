"""The world model: determinism, test hooks, distributions, graph communities, time."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from viralspot_tui.sim import SimConfig, Simulator, format_followers
from viralspot_tui.sim.hashing import SHORTCODE_ALPHABET
from viralspot_tui.sim.names import is_valid_username
from viralspot_tui.sim.world import World

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NAMES = ["alice", "bob.builds", "chef_marco", "travel.with.kim", "zzz_99"]


def world(seed: int = 7, now: datetime = NOW) -> World:
    return World(seed, lambda: now)


def snapshot(w: World, name: str) -> tuple:
    return (w.profile(name), [(r.shortcode, r.play_count, r.like_count) for r in w.reels(name)], w.similar(name))


def test_same_seed_same_world_across_instances() -> None:
    a, b = world(7), world(7)
    for name in NAMES:
        assert snapshot(a, name) == snapshot(b, name)


def test_numbers_do_not_depend_on_request_order() -> None:
    a, b = world(7), world(7)
    forward = [snapshot(a, n) for n in NAMES]
    backward = [snapshot(b, n) for n in reversed(NAMES)][::-1]
    assert forward == backward


def test_different_seed_different_world() -> None:
    a, b = world(7), world(8)
    assert [a.profile(n).follower_count for n in NAMES] != [b.profile(n).follower_count for n in NAMES]
    assert a.similar("alice") != b.similar("alice")


def test_name_hooks() -> None:
    w = world()
    assert w.profile("missing_bob").kind == "missing"
    assert w.profile("private_bob").kind == "private"
    assert w.profile("private_bob").is_private
    assert w.reels("private_bob") == []
    assert w.profile("public_anything").kind == "public"
    assert w.profile("Invalid..Name").kind == "missing"
    reels = w.reels("notranscript_chef")
    assert reels and not any(r.has_transcript for r in reels)
    assert not any(w.has_transcript(r.shortcode) for r in reels)
    assert all(w.transcript(r.shortcode) is None for r in reels)


def test_kind_shares_are_roughly_as_specified() -> None:
    w = world()
    kinds = Counter(w.profile(f"creator{i}").kind for i in range(3000))
    assert 0.015 < kinds["missing"] / 3000 < 0.05
    assert 0.03 < kinds["private"] / 3000 < 0.08


def test_reels_shape_and_distributions() -> None:
    w = world()
    counts, ratios, zero = [], [], 0
    codes: set[str] = set()
    for i in range(60):
        name = f"public_creator{i}"
        reels = w.reels(name)
        counts.append(len(reels))
        assert [r.taken_at for r in reels] == sorted((r.taken_at for r in reels), reverse=True)
        assert all(r.taken_at <= NOW for r in reels)
        for r in reels:
            assert len(r.shortcode) == 11 and set(r.shortcode) <= set(SHORTCODE_ALPHABET)
            assert r.shortcode not in codes
            codes.add(r.shortcode)
            if r.play_count == 0:
                zero += 1
            elif r.play_count > 1000:
                ratios.append(r.like_count / r.play_count)
                assert r.comment_count / r.play_count <= 0.005
                if r.play_count > 20_000:
                    assert r.comment_count / r.play_count >= 0.0004
    assert min(counts) >= 5 and max(counts) <= 200
    assert all(0.009 <= x <= 0.08 for x in ratios)
    assert 0 < zero < 0.1 * len(codes)


def test_views_are_heavy_tailed_with_outliers() -> None:
    w = world()
    found_outlier = False
    for i in range(40):
        views = [r.play_count for r in w.reels(f"public_tail{i}") if r.play_count]
        if len(views) >= 10 and max(views) > 8 * statistics.median(views):
            found_outlier = True
    assert found_outlier


def test_clock_moving_forward_reveals_new_reels_and_grows_views() -> None:
    w = world()
    name = "public_poster"
    before = w.reels(name, NOW)
    later = NOW + timedelta(days=12)
    after = w.reels(name, later)
    new = {r.shortcode for r in after} - {r.shortcode for r in before}
    assert new, "12 days at a 1-5 day cadence must bring new reels"
    assert all(r.taken_at > NOW for r in after if r.shortcode in new)
    old = {r.shortcode: r for r in before}
    common = [r for r in after if r.shortcode in old and r.play_count]
    assert common and all(r.play_count >= old[r.shortcode].play_count for r in common)
    young = before[0]
    again = next(r for r in after if r.shortcode == young.shortcode)
    assert young.play_count == 0 or again.play_count > young.play_count


def test_reel_lookup_by_shortcode() -> None:
    w = world()
    reels = w.reels("public_lookup")
    assert w.reel(reels[3].shortcode) == reels[3]
    assert w.reel("AAAAAAAAAAA") is None
    assert world(8).reel(reels[3].shortcode) is None  # another seed never issued it


def test_transcript_share_and_hook() -> None:
    w = world()
    reels = [r for i in range(20) for r in w.reels(f"public_talker{i}")]
    share = sum(r.has_transcript for r in reels) / len(reels)
    assert 0.65 < share < 0.85
    segments = [w.transcript(r.shortcode) for r in reels if r.has_transcript]
    assert all(s and s[0]["text"] for s in segments)
    assert any(str(s[0]["text"]).startswith("Stop scrolling if you") for s in segments)


def test_similar_graph_has_overlapping_communities() -> None:
    w = world()
    first = w.similar("public_seed_account")
    assert 10 <= len(first) <= 20
    assert "public_seed_account" not in first
    assert all(is_valid_username(n) for n in first)
    overlaps = [len(set(first) & set(w.similar(n))) for n in first[:5]]
    assert max(overlaps) >= 3
    assert all(w.profile(n).exists for n in first)
    community = w.community_of("public_seed_account")
    assert sum(w.community_of(n) == community for n in first) >= len(first) - 2


def test_similar_includes_some_private_accounts() -> None:
    w = world()
    names = {n for i in range(30) for n in w.similar(f"public_graph{i}")}
    assert any(w.profile(n).is_private for n in names)


@pytest.mark.parametrize(
    ("count", "compact", "comma"),
    [
        (8431, "8.4K followers", "8,431 followers"),
        (12_500, "12.5K followers", "12,500 followers"),
        (1_234_567, "1.2M followers", "1,234,567 followers"),
        (999_960, "1.0M followers", "999,960 followers"),
        (640, "640 followers", "640 followers"),
    ],
)
def test_format_followers(count: int, compact: str, comma: str) -> None:
    assert format_followers(count, "compact") == compact
    assert format_followers(count, "comma") == comma


def test_simulator_advance_moves_default_clock() -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    sim.advance(timedelta(days=3))
    assert sim.now() == NOW + timedelta(days=3)
    with pytest.raises(ValueError):
        sim.advance(timedelta(seconds=-1))


def test_reel_is_rebuilt_from_its_shortcode_in_a_fresh_process() -> None:
    original = world().reels("public_restart")[5]
    fresh = world()  # a restarted process: it has never seen "public_restart"
    rebuilt = fresh.reel(original.shortcode)
    assert rebuilt is not None and rebuilt.owner == ""
    assert (rebuilt.play_count, rebuilt.like_count, rebuilt.comment_count, rebuilt.taken_at, rebuilt.caption) == (
        original.play_count,
        original.like_count,
        original.comment_count,
        original.taken_at,
        original.caption,
    )
    assert fresh.has_transcript(original.shortcode) == original.has_transcript
    fresh.profile("public_restart")
    assert fresh.reel(original.shortcode) == original
    assert fresh.reel(original.shortcode[:-1] + ("A" if original.shortcode[-1] != "A" else "B")) is None
