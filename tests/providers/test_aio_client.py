"""The RapidAPI clients over real sockets (core/providers/aio_client.py): loopback HTTP only.

The providers must not notice which client they have: the same calls against the simulator
served over loopback give the same parsed answers as through the in-process transport, and
transport failures arrive as the errors the policy classified before.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from viralspot_tui.config import INSTAGRAM_HOST, load_settings
from viralspot_tui.core.providers.aio_client import ACCEPT_ENCODING, AioHttpClient
from viralspot_tui.core.providers.errors import ConfigurationError, PermanentError, TransientError
from viralspot_tui.core.providers.factory import Providers
from viralspot_tui.core.providers.policy import OutboundPolicy
from viralspot_tui.sim import SimConfig, Simulator, running_server


def _settings(root: Path, base_url: str | None) -> object:
    rapid: dict[str, object] = {"key": "test-key", "requests_per_second": 1000}
    if base_url is not None:
        rapid |= {"instagram_base_url": base_url, "transcript_base_url": base_url}
    return load_settings(data_dir=root, simulate=base_url is None, rapidapi=rapid, openai={"api_key": "k"})


async def _answers(providers: Providers, name: str) -> tuple[object, ...]:
    ig = providers.instagram
    profile = await ig.profile(name)
    page = await ig.reels_page(name)
    detail = await ig.reel_detail(page.reels[0].shortcode)
    similar = await ig.similar(name)
    return profile, page, detail, similar


async def test_the_providers_answer_the_same_over_loopback_as_in_process(tmp_path: Path) -> None:
    in_process, served = Simulator(SimConfig(seed=5)), Simulator(SimConfig(seed=5))
    name = next(
        f"u{i}" for i in range(500) if in_process.world.profile(f"u{i}").exists and in_process.world.reels(f"u{i}")
    )
    async with Providers.create(_settings(tmp_path, None), transport=in_process.transport()) as local:  # type: ignore[arg-type]
        expected = await _answers(local, name)
    async with running_server(served) as base_url:
        async with Providers.create(_settings(tmp_path, base_url)) as remote:  # type: ignore[arg-type]
            assert isinstance(remote.instagram._client, AioHttpClient)
            got = await _answers(remote, name)
    assert got == expected
    sent = [(c.endpoint, c.key, c.status) for c in served.stats.calls]
    assert sent == [(c.endpoint, c.key, c.status) for c in in_process.stats.calls]


async def test_calls_side_by_side_are_all_in_flight_at_once() -> None:
    """The pool grows with what is in flight: no call waits for another's connection."""
    sim = Simulator(SimConfig(seed=3, latency_ms=300.0, jitter=0.0))
    async with (
        running_server(sim) as base_url,
        AioHttpClient(headers={"x-rapidapi-key": "k", "x-rapidapi-host": INSTAGRAM_HOST}, timeout=10) as client,
    ):

        async def one(i: int) -> int:
            response = await client.request(
                "GET", f"{base_url}/get_ig_similar_accounts.php", params={"username_or_url": f"u{i}"}
            )
            return response.status_code

        statuses = await asyncio.gather(*(one(i) for i in range(40)))
    assert set(statuses) <= {200, 404}
    calls = sim.stats.calls
    first_finish = min(c.finished_at for c in calls)
    assert sum(c.started_at < first_finish for c in calls) == 40  # every call started before any answered


@pytest.fixture
async def odd_server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A loopback server with the answers the simulator never gives: gzip, redirects, cookies, silence."""
    seen: list[dict[str, str]] = []

    async def gz(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        body = gzip.compress(json.dumps({"ok": True, "form": dict(await request.post())}).encode())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/gz"}, text="moved")

    async def cookie(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        response = web.json_response({"ok": True})
        response.set_cookie("session", "abc")
        return response

    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    app = web.Application()
    app.add_routes(
        [web.post("/gz", gz), web.get("/moved", moved), web.get("/cookie", cookie), web.get("/silent", silent)]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_bodies_headers_redirects_and_cookies_as_httpx_had_them(
    odd_server: tuple[str, list[dict[str, str]]],
) -> None:
    base, seen = odd_server
    async with AioHttpClient(headers={"x-rapidapi-key": "k"}, timeout=5) as client:
        response = await client.request("POST", f"{base}/gz", data={"username_or_url": "a b"})
        assert response.json() == {"ok": True, "form": {"username_or_url": "a b"}}  # gzip decoded once
        assert seen[0]["x-rapidapi-key"] == "k" and seen[0]["Accept-Encoding"] == ACCEPT_ENCODING
        redirect = await client.request("GET", f"{base}/moved")
        assert redirect.status_code == 302 and redirect.headers["location"] == "/gz"  # not followed
        await client.request("GET", f"{base}/cookie")
        await client.request("GET", f"{base}/cookie")
    assert "Cookie" not in seen[1] and seen[2]["Cookie"] == "session=abc"  # a server's cookie is sent back


async def test_transport_failures_become_the_policys_classified_errors(
    odd_server: tuple[str, list[dict[str, str]]],
) -> None:
    base, _ = odd_server
    policy = OutboundPolicy("instagram", requests_per_second=1000, retries=0)
    async with AioHttpClient(headers={}, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.request("GET", f"{base}/silent")
        with pytest.raises(TransientError, match=r"timed out \(ReadTimeout\)"):
            await policy.run("x", lambda: policy.send(client, "GET", f"{base}/silent", endpoint="x"))
        with pytest.raises(TransientError, match=r"connection failed \(ConnectError\)"):
            await policy.run("x", lambda: policy.send(client, "GET", "http://127.0.0.1:9/", endpoint="x"))
        for bad in ("ftp://example.com/x", "not a url", "http://"):
            with pytest.raises(ConfigurationError, match="bad base URL"):
                await policy.run("x", lambda bad=bad: policy.send(client, "GET", bad, endpoint="x"))
        with pytest.raises(PermanentError):  # a 3xx is neither data nor retried
            await policy.run("x", lambda: policy.send(client, "GET", f"{base}/moved", endpoint="x"))
    with pytest.raises(RuntimeError, match="closed"):
        await client.request("GET", f"{base}/cookie")
