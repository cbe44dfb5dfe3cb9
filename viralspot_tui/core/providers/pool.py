"""A connection pool split into shards, because httpcore's pool costs O(connections) per request.

httpcore (1.0.x) re-scans every pooled connection — and polls every idle socket — each time a
request is queued or a response is closed, and its scan is quadratic with many requests
waiting (encode/httpcore#1035, pydantic/httpx2#1169). At concurrency 64 with three calls per
item in flight, that bookkeeping was most of the client's CPU (see docs/performance.md).
Splitting one pool of N connections into K independent pools of N/K keeps every scan short;
each request goes to the shard with the fewest requests in flight, so the connections stay
evenly used and a shard's keep-alive connections are reused. Behaviour is otherwise that of
``httpx.AsyncHTTPTransport``: same timeouts, limits per shard summing to the requested total.

**Growing.** A fixed total is a hidden concurrency cap: an item's reel-detail round sends up
to twelve calls at once, so at concurrency 64 a pool of 256 held calls waiting inside httpcore
(slots the dispatch figure counts as idle, and the waiting made httpcore's scans quadratic).
With ``grow=True`` a request that finds every shard full opens one more shard instead of
waiting; what is in flight stays bounded by the callers (the queue's concurrency, the rate
limiter), which is where the limit belongs (see docs/performance.md).

**One connection per shard** (``shard_size=1``, what the factory uses): httpcore's per-request
clean-up is quadratic in the connections of a pool (it lists every connection once per idle
connection) and polls every idle socket, so the smallest shard is the cheapest. Measured over
loopback at 1 s and concurrency 64, client CPU per item went from 17.7/18.5 ms (shards of 16)
to 15.4/13.9 ms (4) and 14.2/12.6 ms (1); picking the least-loaded shard is one C-level
``min`` over a list of ints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

__all__ = ["ShardedTransport"]


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, *, shard_size: int = 16, grow: bool = False) -> None:
        shards = max(1, -(-max_connections // shard_size))
        self._per_shard = max(1, -(-max_connections // shards))
        self._grow = grow
        self._limits = httpx.Limits(max_connections=self._per_shard, max_keepalive_connections=self._per_shard)
        self._ssl_context = httpx.create_ssl_context()  # built once (loading CA certificates is slow), shared
        self._shards: list[httpx.AsyncHTTPTransport] = []
        self._in_flight: list[int] = []
        for _ in range(shards):
            self._add_shard()

    def _add_shard(self) -> int:
        self._shards.append(httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self._limits))
        self._in_flight.append(0)
        return len(self._shards) - 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        load = self._in_flight
        least = min(load)
        index = self._add_shard() if self._grow and least >= self._per_shard else load.index(least)
        load[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            load[index] -= 1
            raise
        response.stream = _Released(response.stream, self, index)  # type: ignore[arg-type]
        return response

    def _release(self, index: int) -> None:
        self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Released(httpx.AsyncByteStream):
    """The shard's response body; closing it frees the shard's slot (once)."""

    def __init__(self, inner: httpx.AsyncByteStream, owner: ShardedTransport, index: int) -> None:
        self._inner = inner
        self._owner = owner
        self._index: int | None = index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._index is not None:
                self._owner._release(self._index)
                self._index = None
