"""The Supabase client wrapper: answers validated into models, every failure one clear error type
(transient or not), and the service key never in a message. Real HTTP throughout: the local
stack, a port nobody listens on, and tiny loopback servers that answer 500 or never answer."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import supabase_local  # noqa: E402
from testkit import make_settings  # noqa: E402

from viralspot_tui.config import ConfigError  # noqa: E402
from viralspot_tui.core.backends.supabase_client import SupabaseError, SupabaseQueue  # noqa: E402


@pytest.fixture
async def queue(stack, db) -> AsyncIterator[SupabaseQueue]:
    client = SupabaseQueue(stack.api_url, stack.service_key, timeout=5)
    try:
        yield client
    finally:
        await client.close()


class _Server:
    """A loopback HTTP server that answers every request with ``answer`` (None: never answers)."""

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        if self.answer is not None:
            writer.write(self.answer)
            await writer.drain()
            writer.close()


async def test_a_full_cycle_is_parsed_into_models(queue):
    added = await queue.enqueue([{"username": "alice", "priority": "HIGH"}, {"username": "bob"}])
    assert [(r.username, r.outcome) for r in added] == [("alice", "added"), ("bob", "added")]
    rows = await queue.claim("me:1:a", str(uuid.uuid4()), 2, 30)
    assert [r.username for r in rows] == ["alice", "bob"] and all(r.lease_token for r in rows)
    beat = await queue.heartbeat([r.lease_token for r in rows], 30)
    assert len(beat.renewed) == 2 and beat.lost == []
    done = await queue.complete([rows[0].lease_token])
    assert len(done.completed) == 1
    again = await queue.complete([rows[0].lease_token])
    assert len(again.already) == 1  # a retried completion is recognised
    failed = await queue.fail(rows[1].lease_token, "boom", permanent=True, backoff_base=1, backoff_max=2)
    assert failed.outcome == "failed"
    assert {(r.username, r.status) for r in await queue.list()} == {("alice", "COMPLETED"), ("bob", "FAILED")}
    assert [r.username for r in await queue.retry(["bob"])] == ["bob"]
    assert [(r.username, r.removed) for r in await queue.remove(["bob"])] == [("bob", 1)]


async def test_a_wrong_key_is_a_permanent_error_without_the_key(stack, db):
    bad_key = supabase_local.sign_key("service_role") + "x"
    client = SupabaseQueue(stack.api_url, bad_key)
    try:
        with pytest.raises(SupabaseError) as info:
            await client.list()
    finally:
        await client.close()
    assert not info.value.transient and "SUPABASE_SERVICE_ROLE_KEY" in str(info.value)
    assert bad_key not in str(info.value) and bad_key[-20:] not in str(info.value)


async def test_a_missing_function_says_to_migrate(queue):
    with pytest.raises(SupabaseError) as info:
        await queue.call("queue_no_such_function")
    assert info.value.code == "PGRST202" and not info.value.transient
    assert "viralspot supabase migrate" in str(info.value)


async def test_bad_arguments_are_permanent(queue):
    with pytest.raises(SupabaseError) as info:
        await queue.enqueue([{"username": "not a name!"}])
    assert not info.value.transient


async def test_refused_connection_5xx_and_timeout_are_transient():
    port = supabase_local.free_port()
    refused = SupabaseQueue(f"http://127.0.0.1:{port}", "k")
    with pytest.raises(SupabaseError) as info:
        await refused.list()
    assert info.value.transient and "cannot reach" in str(info.value)
    await refused.close()

    bad_gateway = b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad"
    async with _Server(bad_gateway) as url:
        client = SupabaseQueue(url, "k")
        with pytest.raises(SupabaseError) as info:
            await client.list()
        assert info.value.transient and info.value.code == "502"
        await client.close()

    async with _Server(None) as url:
        client = SupabaseQueue(url, "k", timeout=0.3)
        with pytest.raises(SupabaseError) as info:
            await client.list()
        assert info.value.transient and "timed out" in str(info.value)
        await client.close()


def test_missing_settings_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="SUPABASE_URL"):
        SupabaseQueue.from_settings(make_settings(tmp_path))
    settings = make_settings(tmp_path, supabase={"url": "http://127.0.0.1:1"})
    with pytest.raises(ConfigError, match="SUPABASE_SERVICE_ROLE_KEY"):
        SupabaseQueue.from_settings(settings)
    settings = make_settings(tmp_path, supabase={"url": "db.example.com", "service_role_key": "k"})
    with pytest.raises(ConfigError, match="SUPABASE_URL"):
        SupabaseQueue.from_settings(settings)
