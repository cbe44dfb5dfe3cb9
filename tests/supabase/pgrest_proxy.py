"""The ``/rest/v1`` prefix-stripping proxy put in front of a real PostgREST binary.

The supabase client calls ``<url>/rest/v1/...``; PostgREST serves at its root (Supabase's gateway
strips the prefix in production). Run through ``pgrest_server.py --proxy-to URL``.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from pgrest_sql import ApiError

__all__ = ["make_proxy"]


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
    app.on_cleanup.append(close)
    app.router.add_route("*", "/rest/v1/{path:.*}", forward)
    return app
