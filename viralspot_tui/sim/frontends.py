"""The two front doors: an in-process httpx transport and an ASGI app.

Both only translate between their HTTP world and ``SimRequest``/``SimResponse`` and leave
every decision to ``Simulator.handle``, so the loopback server and the in-process transport
cannot drift apart (a test compares their bytes).

*In-process*: code under test keeps its real HTTP client (httpx directly, or the openai SDK
built on it) and only swaps the transport, so request building, header handling, status-code
classification and JSON parsing all run for real — nothing in the code under test is patched.
A "timeout" fault becomes ``httpx.ReadTimeout`` after the normal latency, which is what the
client would see from a stalled server, without making tests wait for a real timeout.

*ASGI*: served by uvicorn on loopback it lets the real provider configuration (a base URL,
real sockets, real timeouts) run against the simulator — ``viralspot simulate``. No framework
is needed for five routes; "timeout" faults really stall there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .wire import SimRequest

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = ["SimulatorASGI", "SimulatorTransport"]

Scope = dict[str, Any]


class SimulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=SimulatorTransport(sim), base_url=...)``; any host works."""

    def __init__(self, simulator: Simulator) -> None:
        self._sim = simulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sim_request = SimRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("ascii"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        response = await self._sim.handle(sim_request)
        if response.timeout:
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        return httpx.Response(
            status_code=response.status,
            headers=response.header_list(),
            content=response.body,
            request=request,
        )


class SimulatorASGI:
    """ASGI 3 application; supports ``http`` and ``lifespan`` scopes."""

    def __init__(self, simulator: Simulator) -> None:
        self._sim = simulator

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request = SimRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
            body=b"".join(chunks),
        )
        response = await self._sim.handle(request, stall_timeouts=True)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.header_list()]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
