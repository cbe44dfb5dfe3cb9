"""A connection pool split into shards, because httpcore's pool costs O(connections) per request.

httpcore (1.0.x) re-scans every pooled connection — and polls every idle socket — each time a
request is queued or a response is closed, and its scan is quadratic with many requests
waiting (encode/httpcore#1035, pydantic/httpx2#1169). At concurrency 64 with three calls per
item in flight, that bookkeeping was most of the client's CPU (see docs/performance.md).
Splitting one pool of N connections into K independent pools of N/K keeps every scan short;
each request goes to the shard with the fewest requests in flight, so the connections stay
evenly used and a shard's keep-alive connections are reused. Behaviour is otherwise that of
``httpx.AsyncHTTPTransport``: same timeouts, limits per shard summing to the requested total.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

__all__ = ["ShardedTransport"]


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, *, shard_size: int = 16) -> None:
        shards = max(1, -(-max_connections // shard_size))
        per_shard = max(1, -(-max_connections // shards))
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        ssl_context = httpx.create_ssl_context()  # built once (loading CA certificates is slow), shared
        self._shards = [httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits) for _ in range(shards)]
        self._in_flight = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        load = self._in_flight
        index = load.index(min(load))
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
