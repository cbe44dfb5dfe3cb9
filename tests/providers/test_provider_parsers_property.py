"""Property tests: any malformed or truncated answer gives a clear provider error, nothing else.

Bodies start from real simulator answers (in the idealised shapes and in the real hosts'
shapes), then are truncated at every kind of position or have parts replaced by arbitrary
JSON, and are fed to the parse functions directly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import json_paths

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.instagram import (
    ProfileData,
    ReelDetail,
    ReelsPage,
    Transcript,
    parse_json,
    parse_profile,
    parse_reel_detail,
    parse_reels_page,
    parse_similar,
    parse_transcript,
)
from viralspot_tui.core.providers.errors import MalformedResponseError, NotFoundError
from viralspot_tui.sim import SimConfig, Simulator

PARSERS = {
    "profile": parse_profile,
    "reels": parse_reels_page,
    "reel_detail": parse_reel_detail,
    "similar": parse_similar,
    "transcript": parse_transcript,
}


def _real_bodies(quirks: str) -> dict[str, bytes]:
    """One genuine body per endpoint, from the simulator's in-process transport."""
    clock = FakeClock()
    sim = Simulator(SimConfig(seed=7, latency_ms=0, quirks=quirks), clock=clock.now)

    async def fetch() -> dict[str, bytes]:
        headers = {"x-rapidapi-key": "k", "x-rapidapi-host": "h"}
        async with httpx.AsyncClient(transport=sim.transport(), base_url="https://h", headers=headers) as c:
            reel = sim.world.reels("alice")[0]
            with_text = next(r for r in sim.world.reels("alice") if sim.world.has_transcript(r.shortcode))
            return {
                "profile": (await c.post("/ig_get_fb_profile.php", data={"username_or_url": "alice"})).content,
                "reels": (
                    await c.post("/get_ig_user_reels.php", data={"username_or_url": "alice", "count": "12"})
                ).content,
                "reel_detail": (
                    await c.get("/get_media_data.php", params={"reel_post_code_or_url": reel.url, "type": "reel"})
                ).content,
                "similar": (await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "alice"})).content,
                "transcript": (
                    await c.get("/transcript", params={"url": with_text.url, "chunkSize": "500", "text": "false"})
                ).content,
            }

    return asyncio.run(fetch())


BODIES = _real_bodies("off")
REAL_SHAPES = _real_bodies("real")
ENDPOINTS = sorted(BODIES)
SHAPES = {"off": BODIES, "real": REAL_SHAPES}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _parse_or_clear_error(endpoint: str, payload: Any) -> None:
    try:
        result = PARSERS[endpoint](payload)
    except MalformedResponseError as exc:
        assert exc.endpoint == endpoint and exc.kind == "transient"
        assert str(exc).startswith(("instagram/", "transcripts/"))
    except NotFoundError as exc:
        assert endpoint == "profile" and exc.kind == "permanent"
    else:
        expected = {"profile": ProfileData, "reels": ReelsPage, "reel_detail": ReelDetail, "transcript": Transcript}
        if endpoint == "similar":
            assert isinstance(result, list)
        else:
            assert isinstance(result, expected[endpoint])


def test_real_bodies_parse():
    for bodies in SHAPES.values():
        for endpoint, body in bodies.items():
            _parse_or_clear_error(endpoint, parse_json(endpoint, body))
        assert parse_reels_page(json.loads(bodies["reels"])).reels


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), cut=st.floats(min_value=0.0, max_value=0.999))
def test_truncated_bodies_raise_malformed(endpoint, cut):
    body = BODIES[endpoint]
    truncated = body[: int(len(body) * cut)]
    try:
        payload = parse_json(endpoint, truncated)
    except MalformedResponseError as exc:
        assert exc.endpoint == endpoint and "JSON" in str(exc)
    else:  # a prefix that happens to be valid JSON must still fail or parse cleanly
        _parse_or_clear_error(endpoint, payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), shape=st.sampled_from(sorted(SHAPES)), data=st.data(), new=json_values)
def test_mutated_bodies_give_model_or_clear_error(endpoint, shape, data, new):
    payload = json.loads(SHAPES[shape][endpoint])
    path = data.draw(st.sampled_from(json_paths(payload)))
    _parse_or_clear_error(endpoint, _replace(payload, path, new))


@settings(max_examples=150, deadline=None)
@given(endpoint=st.sampled_from(ENDPOINTS), shape=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_deleted_fields_give_model_or_clear_error(endpoint, shape, data):
    payload = json.loads(SHAPES[shape][endpoint])
    dict_paths = [p for p in json_paths(payload) if p and isinstance(p[-1], str)]
    path = data.draw(st.sampled_from(dict_paths))
    parent_path, key = path[:-1], path[-1]
    parent = payload
    for part in parent_path:
        parent = parent[part]
    parent = {k: v for k, v in parent.items() if k != key}
    _parse_or_clear_error(endpoint, _replace(payload, parent_path, parent))


@settings(max_examples=200, deadline=None)
@given(endpoint=st.sampled_from(ENDPOINTS), garbage=json_values)
def test_arbitrary_json_gives_model_or_clear_error(endpoint, garbage):
    _parse_or_clear_error(endpoint, garbage)


@given(raw=st.binary(max_size=64))
@settings(max_examples=150, deadline=None)
def test_arbitrary_bytes_never_escape(raw):
    try:
        payload = parse_json("profile", raw)
    except MalformedResponseError:
        return
    _parse_or_clear_error("profile", payload)


def test_error_names_the_field():
    payload = json.loads(BODIES["reels"])
    payload["data"]["reels"][2]["node"]["media"]["like_count"] = "lots"
    try:
        parse_reels_page(payload)
    except MalformedResponseError as exc:
        assert exc.field == "data.reels[2].node.media.like_count"
        assert "reels" in str(exc) and "like_count" in str(exc)
    else:
        raise AssertionError("a non-numeric like_count must be refused")
    profile = json.loads(BODIES["profile"])
    del profile["username"]
    try:
        parse_profile(profile)
    except MalformedResponseError as exc:
        assert exc.field == "username" and exc.endpoint == "profile"
    else:
        raise AssertionError("a profile without username must be refused")
