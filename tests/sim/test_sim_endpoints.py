"""Each endpoint's request/response shape through the in-process httpx transport (docs/real-apis.md)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from viralspot_tui.sim import SimConfig, Simulator, format_followers
from viralspot_tui.sim.payloads import similar_shape

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SCRAPER = "instagram-scraper-stable-api.p.rapidapi.com"
TRANSCRIPTS = "instagram-transcripts.p.rapidapi.com"
HEADERS = {"x-rapidapi-key": "test-key", "x-rapidapi-host": SCRAPER}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def sim(clock: Clock) -> Simulator:
    # The idealised shapes; the real hosts' shapes are tested in test_sim_quirks.py.
    return Simulator(SimConfig(seed=7, latency_ms=0, quirks="off"), clock=clock)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=f"https://{SCRAPER}", headers=HEADERS) as c:
        yield c


async def reels_page(
    client: httpx.AsyncClient, name: str, max_id: str | None = None, count: int = 12
) -> httpx.Response:
    data = {"username_or_url": name, "count": str(count)}
    if max_id:
        data["max_id"] = max_id
    return await client.post("/get_ig_user_reels.php", data=data)


async def test_profile_shape_accepts_name_and_url(client: httpx.AsyncClient, sim: Simulator) -> None:
    by_name = await client.post("/ig_get_fb_profile.php", data={"username_or_url": "alice"})
    by_url = await client.post("/ig_get_fb_profile.php", data={"username_or_url": "https://www.instagram.com/alice/"})
    assert by_name.status_code == by_url.status_code == 200
    assert by_name.content == by_url.content
    body = by_name.json()
    for field in (
        "username",
        "full_name",
        "biography",
        "follower_count",
        "following_count",
        "media_count",
        "is_verified",
        "is_business",
        "is_private",
        "profile_pic_url",
        "hd_profile_pic_url",
        "pk",
        "category",
    ):
        assert field in body
    assert isinstance(body["pk"], str)
    assert body["follower_count"] == sim.world.profile("alice").follower_count
    assert by_name.headers["server"] == "RapidAPI-1.2.8"
    assert by_name.headers["x-ratelimit-requests-limit"] == "100000"


async def test_missing_and_private_profiles(client: httpx.AsyncClient) -> None:
    missing = await client.post("/ig_get_fb_profile.php", data={"username_or_url": "missing_person"})
    assert missing.status_code == 404 and missing.json() == {"error": "User not found"}
    private = await client.post("/ig_get_fb_profile.php", data={"username_or_url": "private_person"})
    assert private.status_code == 200 and private.json()["is_private"] is True
    reels = await reels_page(client, "private_person")
    assert reels.status_code == 200
    assert reels.json() == {"data": {"reels": [], "pagination_token": None}, "message": "This account is private"}
    assert (await reels_page(client, "missing_person")).status_code == 404


async def test_reels_item_shape(client: httpx.AsyncClient) -> None:
    body = (await reels_page(client, "public_shape")).json()
    assert set(body["data"]) == {"reels", "pagination_token"}
    media = body["data"]["reels"][0]["node"]["media"]
    for field in ("code", "pk", "id", "play_count", "like_count", "comment_count", "taken_at", "video_duration"):
        assert field in media
    assert isinstance(media["taken_at"], int)
    assert isinstance(media["caption"]["text"], str)
    assert media["image_versions2"]["candidates"][0]["url"].startswith("https://")
    assert media["user"]["username"] == "public_shape"


async def test_pagination_covers_all_reels_without_duplicates(client: httpx.AsyncClient, sim: Simulator) -> None:
    name = next(f"public_pager{i}" for i in range(50) if len(sim.world.reels(f"public_pager{i}")) > 40)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = (await reels_page(client, name, token, count=50)).json()["data"]
        assert len(page["reels"]) <= 12
        seen += [item["node"]["media"]["code"] for item in page["reels"]]
        token = page["pagination_token"]
        pages += 1
        if token is None:
            break
    assert len(seen) == len(set(seen))
    assert seen == [r.shortcode for r in sim.world.reels(name)]
    assert pages == -(-len(seen) // 12)


async def test_new_reels_between_pages_do_not_shift_pages(
    client: httpx.AsyncClient, clock: Clock, sim: Simulator
) -> None:
    name = "public_shifty"
    first = (await reels_page(client, name)).json()["data"]
    clock.now = NOW + timedelta(days=10)
    second = (await reels_page(client, name, first["pagination_token"])).json()["data"]
    codes = [i["node"]["media"]["code"] for i in first["reels"] + second["reels"]]
    assert len(codes) == len(set(codes))
    fresh = (await reels_page(client, name)).json()["data"]["reels"]
    newest = fresh[0]["node"]["media"]
    assert newest["code"] not in codes and newest["taken_at"] > int(NOW.timestamp())


async def test_bad_pagination_token_is_400(client: httpx.AsyncClient) -> None:
    response = await reels_page(client, "public_shape", "garbage-token")
    assert response.status_code == 400


async def test_reel_detail(client: httpx.AsyncClient, sim: Simulator) -> None:
    reel = sim.world.reels("public_detail")[2]
    for ref in (reel.shortcode, f"https://www.instagram.com/reel/{reel.shortcode}/"):
        response = await client.get("/get_media_data.php", params={"reel_post_code_or_url": ref, "type": "reel"})
        assert response.status_code == 200
        body = response.json()
        assert body["shortcode"] == reel.shortcode
        assert body["video_view_count"] == reel.play_count
        assert body["edge_media_preview_like"]["count"] == reel.like_count
        assert body["edge_media_to_parent_comment"]["count"] == reel.comment_count
        assert body["edge_media_to_caption"]["edges"][0]["node"]["text"] == reel.caption
        assert body["taken_at_timestamp"] == reel.taken_at_ts
        assert body["owner"]["username"] == "public_detail"
        assert body["is_video"] is True and body["display_url"]
    unknown = await client.get("/get_media_data.php", params={"reel_post_code_or_url": "AAAAAAAAAAA", "type": "reel"})
    assert unknown.status_code == 404 and unknown.json() == {"error": "Media not found"}


def _items(body: object) -> list[dict]:
    if isinstance(body, list):
        return body
    assert isinstance(body, dict)
    if "data" in body:
        return body["data"]
    assert list(body) == [str(i) for i in range(len(body))]
    return [body[k] for k in body]


async def test_similar_three_shapes_and_follower_text(client: httpx.AsyncClient, sim: Simulator) -> None:
    names = {similar_shape(7, f"public_sim{i}"): f"public_sim{i}" for i in range(40)}
    assert set(names) == {"list", "data", "keyed"}
    kinds = set()
    for _shape, name in names.items():
        response = await client.get("/get_ig_similar_accounts.php", params={"username_or_url": name})
        assert response.status_code == 200
        body = response.json()
        kinds.add(type(body).__name__ + ("-data" if isinstance(body, dict) and "data" in body else ""))
        items = _items(body)
        assert [i["username"] for i in items] == sim.world.similar(name)
        for item in items:
            assert {"username", "full_name", "profile_pic_url", "is_verified", "is_private", "pk"} <= set(item)
            assert "follower_count" not in item and "followers" not in item
            text = item.get("social_context")
            if text and re.match(r"^[\d.,]+[KM]? followers?$", text):
                count = sim.world.profile(item["username"]).follower_count
                assert text in (format_followers(count, "compact"), format_followers(count, "comma"))
    assert kinds == {"list", "dict-data", "dict"}
    missing = await client.get("/get_ig_similar_accounts.php", params={"username_or_url": "missing_x"})
    assert missing.status_code == 404


async def test_similar_social_context_varieties(client: httpx.AsyncClient) -> None:
    contexts: list[str | None] = []
    for i in range(6):
        body = (await client.get("/get_ig_similar_accounts.php", params={"username_or_url": f"public_ctx{i}"})).json()
        contexts += [item.get("social_context") for item in _items(body)]
    assert any(c and c.endswith("K followers") for c in contexts)
    assert any(c and "," in c for c in contexts)
    assert any(c and c.startswith("Followed by") for c in contexts)
    assert None in contexts and "" in contexts


async def test_transcript_endpoint(client: httpx.AsyncClient, sim: Simulator) -> None:
    reels = sim.world.reels("public_speaker")
    with_t = next(r for r in reels if r.has_transcript)
    without = next(r for r in reels if not r.has_transcript)
    headers = {"x-rapidapi-host": TRANSCRIPTS}
    params = {"chunkSize": "500", "text": "false"}
    ok = await client.get("/transcript", params={"url": with_t.url, **params}, headers=headers)
    body = ok.json()
    assert ok.status_code == 200 and body["lang"] == "en" and body["availableLangs"] == ["en"]
    assert body["content"] and {"text", "offset", "duration"} <= set(body["content"][0])
    none = await client.get("/transcript", params={"url": without.url, **params}, headers=headers)
    assert none.status_code == 200 and none.json() == {"lang": None, "availableLangs": [], "content": []}
    for reel in sim.world.reels("notranscript_speaker")[:5]:
        answer = await client.get("/transcript", params={"url": reel.url, **params}, headers=headers)
        assert answer.json()["content"] == []


async def test_auth_method_and_route_errors(sim: Simulator) -> None:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="https://anything") as bare:
        no_key = await bare.post(
            "/ig_get_fb_profile.php", data={"username_or_url": "alice"}, headers={"x-rapidapi-host": SCRAPER}
        )
        assert no_key.status_code == 401
        assert no_key.json() == {"message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."}
        wrong_method = await bare.get("/ig_get_fb_profile.php", params={"username_or_url": "alice"}, headers=HEADERS)
        assert wrong_method.status_code == 405
        unknown = await bare.get("/nope.php", headers=HEADERS)
        assert unknown.status_code == 404
    assert sim.stats.count(outcome="unauthorized") == 1
    assert sim.stats.count(endpoint="unknown") == 1
