"""The loopback server answers exactly like the in-process transport."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, datetime

import httpx
import pytest

from viralspot_tui.sim import SimConfig, Simulator, running_server, serve_simulator

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SCRAPER = "instagram-scraper-stable-api.p.rapidapi.com"
HEADERS = {"x-rapidapi-key": "k", "x-rapidapi-host": SCRAPER}


async def _requests(c: httpx.AsyncClient, code: str) -> list[httpx.Response]:
    chat = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": f"shortcode={code} crust"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "x",
                "schema": {
                    "type": "object",
                    "properties": {"source_shortcode": {"type": "string"}},
                    "required": ["source_shortcode"],
                },
            },
        },
    }
    return [
        await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_loop"}),
        await c.post("/ig_get_fb_profile.php", data={"username_or_url": "missing_loop"}),
        await c.post("/get_ig_user_reels.php", data={"username_or_url": "public_loop", "count": "12"}),
        await c.get("/get_media_data.php", params={"reel_post_code_or_url": code, "type": "reel"}),
        await c.get("/get_ig_similar_accounts.php", params={"username_or_url": "public_loop"}),
        await c.get(
            "/transcript",
            params={"url": f"https://www.instagram.com/reel/{code}/", "chunkSize": "500", "text": "false"},
        ),
        await c.post("/v1/chat/completions", json=chat, headers={"authorization": "Bearer sk-test"}),
    ]


@pytest.mark.parametrize("quirks", ["off", "real"])
async def test_loopback_server_serves_same_bytes_as_transport(quirks: str) -> None:
    sim = Simulator(SimConfig(latency_ms=0, quirks=quirks), clock=lambda: NOW)
    remote_sim = Simulator(SimConfig(latency_ms=0, quirks=quirks), clock=lambda: NOW)  # fresh 202 state
    code = sim.world.reels("public_loop")[0].shortcode
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim", headers=HEADERS) as c:
        local = await _requests(c, code)
    async with running_server(remote_sim) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS) as c:
            remote = await _requests(c, code)
    missing = 404 if quirks == "off" else 200  # the real host says "does not exist" with a 200
    assert [r.status_code for r in local][:2] == [200, missing]
    for a, b in zip(local, remote, strict=True):
        assert a.status_code == b.status_code
        assert a.content == b.content
        assert a.headers.get("server") == b.headers.get("server")
        assert a.headers["content-type"] == b.headers["content-type"]
    assert sim.stats.count() + remote_sim.stats.count() == 14


async def test_server_timeout_fault_stalls_past_client_timeout() -> None:
    sim = Simulator(SimConfig(latency_ms=0, timeout_after_s=0.6), clock=lambda: NOW)
    sim.inject("profile", "timeout")
    async with running_server(sim) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=0.2) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_slow"})
            ok = await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_slow"})
    assert ok.status_code == 200


async def test_serve_simulator_runs_until_cancelled() -> None:
    sim = Simulator(SimConfig(latency_ms=0), clock=lambda: NOW)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    task = asyncio.create_task(serve_simulator(sim, "127.0.0.1", port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=HEADERS) as c:
            for _ in range(100):
                try:
                    response = await c.post("/ig_get_fb_profile.php", data={"username_or_url": "public_srv"})
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            else:
                raise AssertionError("server never came up")
        assert response.status_code == 200
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            await c.get("/transcript")
