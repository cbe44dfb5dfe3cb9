"""The sharded connection pool (core/providers/pool.py) over real loopback HTTP."""

from __future__ import annotations

import asyncio

import httpx

from viralspot_tui.config import INSTAGRAM_HOST
from viralspot_tui.core.providers.pool import ShardedTransport
from viralspot_tui.sim import SimConfig, Simulator, running_server


async def test_concurrent_requests_spread_over_shards_and_free_their_slots() -> None:
    sim = Simulator(SimConfig(seed=3, latency_ms=50.0, jitter=0.0))
    transport = ShardedTransport(40, shard_size=10)
    assert len(transport._shards) == 4
    async with running_server(sim) as base_url:
        async with httpx.AsyncClient(
            transport=transport, headers={"x-rapidapi-key": "k", "x-rapidapi-host": INSTAGRAM_HOST}
        ) as client:

            async def one(i: int) -> int:
                response = await client.post(f"{base_url}/ig_get_fb_profile.php", data={"username_or_url": f"user{i}"})
                await response.aread()
                return response.status_code

            first = asyncio.gather(*(one(i) for i in range(24)))
            await asyncio.sleep(0.02)  # all in flight (latency 50 ms): spread evenly
            assert sorted(transport._in_flight) == [6, 6, 6, 6]
            statuses = await first
            assert transport._in_flight == [0, 0, 0, 0]
            again = await asyncio.gather(*(one(i) for i in range(24)))
    assert set(statuses) | set(again) <= {200, 404}  # existing or unknown users, never a refused request
    assert sim.stats.count(endpoint="profile") == 48


async def test_a_failed_request_frees_its_slot() -> None:
    transport = ShardedTransport(4, shard_size=2)
    async with httpx.AsyncClient(transport=transport) as client:
        try:
            await client.get("http://127.0.0.1:9/")  # discard port: connection refused
        except httpx.ConnectError:
            pass
    assert transport._in_flight == [0, 0]


async def test_a_growing_pool_opens_a_shard_instead_of_queueing_requests() -> None:
    """Every shard full: a growing pool adds a shard, so no request waits inside httpcore."""
    sim = Simulator(SimConfig(seed=3, latency_ms=50.0, jitter=0.0))
    transport = ShardedTransport(4, shard_size=2, grow=True)
    fixed = ShardedTransport(4, shard_size=2)
    async with running_server(sim) as base_url:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            httpx.AsyncClient(transport=fixed) as capped,
        ):

            async def one(c: httpx.AsyncClient, i: int) -> int:
                response = await c.post(
                    f"{base_url}/ig_get_fb_profile.php",
                    data={"username_or_url": f"user{i}"},
                    headers={"x-rapidapi-key": "k", "x-rapidapi-host": INSTAGRAM_HOST},
                )
                await response.aread()
                return response.status_code

            first = asyncio.gather(*(one(client, i) for i in range(9)))
            await asyncio.sleep(0.02)
            assert len(transport._shards) == 5  # 9 requests, 2 per shard
            assert sorted(transport._in_flight) == [1, 2, 2, 2, 2]
            await first
            assert sum(transport._in_flight) == 0
            held = asyncio.gather(*(one(capped, i) for i in range(9)))
            await asyncio.sleep(0.02)
            assert len(fixed._shards) == 2  # a fixed pool never grows: the rest wait in httpcore
            assert sorted(fixed._in_flight) == [4, 5]
            await held
    assert sim.stats.count(endpoint="profile") == 18
