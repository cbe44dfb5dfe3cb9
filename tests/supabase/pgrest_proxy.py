"""Proxies for the Supabase tests.

``make_proxy``: the ``/rest/v1`` prefix-stripping proxy put in front of a real PostgREST binary.
The supabase client calls ``<url>/rest/v1/...``; PostgREST serves at its root (Supabase's gateway
strips the prefix in production). Run through ``pgrest_server.py --proxy-to URL``.

Both this proxy and the compat server count what they serve (``request_counter``): ``GET
/_viralspot/requests`` answers ``{"METHOD /path": n}`` with the ``/rest/v1`` prefix dropped
(``POST /rpc/queue_claim``), so a benchmark can count REST calls where they arrive.

``LossyProxy``: an in-process proxy in front of a whole REST layer that forwards every request
and, for the calls a test picks, lets the server answer and then drops the answer (the
connection is cut): the "applied, but the client never heard back" case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from pgrest_sql import ApiError

__all__ = ["make_proxy", "request_counter", "COUNTER_PATH", "LossyProxy"]

COUNTER_PATH = "/_viralspot/requests"
_PREFIX = "/rest/v1"


def request_counter(app: web.Application) -> None:
    """Count every request ``app`` serves by method and path; serve the counts at COUNTER_PATH.

    Must be called before the app's catch-all routes are added (aiohttp matches in order)."""
    counts: dict[str, int] = {}

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if path != COUNTER_PATH:
            key = f"{request.method} {path[len(_PREFIX) :] if path.startswith(_PREFIX + '/') else path}"
            counts[key] = counts.get(key, 0) + 1
        return await handler(request)

    async def report(_: web.Request) -> web.Response:
        return web.json_response(counts)

    app.middlewares.append(count)
    app.router.add_get(COUNTER_PATH, report)


def make_proxy(upstream: str) -> web.Application:
    """Strip ``/rest/v1`` and forward to a real PostgREST (which serves at its root)."""
    session: dict[str, aiohttp.ClientSession] = {}

    async def forward(request: web.Request) -> web.StreamResponse:
        if "s" not in session:
            session["s"] = aiohttp.ClientSession(auto_decompress=False)
        url = upstream.rstrip("/") + "/" + request.match_info.get("path", "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            async with session["s"].request(
                request.method, url, params=request.query, headers=headers, data=await request.read()
            ) as resp:
                body = await resp.read()
                out = {
                    k: v for k, v in resp.headers.items() if k.lower() not in ("transfer-encoding", "content-length")
                }
                return web.Response(status=resp.status, body=body, headers=out)
        except aiohttp.ClientError as exc:
            error = ApiError(503, "PGRST001", "the REST layer behind the proxy is unreachable", details=str(exc))
            return web.json_response(error.body(), status=503)

    async def close(_: web.Application) -> None:
        if "s" in session:
            await session["s"].close()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    request_counter(app)
    app.on_cleanup.append(close)
    app.router.add_route("*", "/rest/v1/{path:.*}", forward)
    return app


class LossyProxy:
    """Forward to ``upstream`` (a REST layer's base URL); drop the answers ``drop(path)`` picks.

    ``await start()`` gives its own base URL; ``dropped`` lists the paths whose answer was lost
    (after the upstream had answered them, so their effect happened)."""

    def __init__(self, upstream: str, drop: Callable[[str], bool]) -> None:
        self.upstream = upstream.rstrip("/")
        self.drop = drop
        self.dropped: list[str] = []
        self.forwarded: list[str] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        path = request.match_info.get("path", "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, f"{self.upstream}/{path}", params=request.query, headers=headers, data=await request.read()
        ) as resp:
            body = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        self.forwarded.append(path)
        if self.drop(path):
            self.dropped.append(path)
            assert request.transport is not None
            request.transport.abort()  # the server answered; the client never hears it
        return web.Response(status=resp.status, body=body, headers=out)

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
