"""queue_claim through the real supabase client and REST layer: exactly-once claims under
concurrency, priority, not_before, lease takeover, attempts, retried claims, rolled-back claims."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Any

import pytest
from postgrest.exceptions import APIError
from supa_helpers import claim, enqueue, expire_leases, make_due, row, rpc
from supa_stack import Stack, make_client


@pytest.mark.parametrize("claimers", [1, 4, 16])
@pytest.mark.parametrize("items", [1, 64, 1000])
async def test_every_item_is_claimed_exactly_once(stack: Stack, db: Any, claimers: int, items: int) -> None:
    k = 8
    # claimers share up to four clients (each has its own connection pool); every claimer is a
    # separate coroutine with its own owner name and request ids
    clients = [await make_client(stack.api_url, stack.service_key) for _ in range(min(claimers, 4))]
    try:
        await enqueue(clients[0], [f"user_{i:04d}" for i in range(items)])
        seen: list[dict[str, Any]] = []
        batches: list[int] = []

        async def worker(n: int, client: Any) -> None:
            while True:
                got = await claim(client, f"host:{n}:{uuid.uuid4()}", k)
                batches.append(len(got))
                if not got:
                    return
                seen.extend(got)

        await asyncio.gather(*(worker(n, clients[n % len(clients)]) for n in range(claimers)))
    finally:
        for c in clients:
            await c.postgrest.aclose()
    ids = Counter(r["id"] for r in seen)
    assert len(ids) == items and set(ids.values()) == {1}, "each item claimed exactly once"
    assert max(batches) <= k
    assert all(r["attempts"] == 1 <= r["max_attempts"] for r in seen)
    assert len({r["lease_token"] for r in seen}) == items, "a fresh lease token per item"
    assert await db.fetchval("SELECT count(*) FROM public.queue WHERE status = 'PROCESSING'") == items


async def test_high_before_low_and_no_low_while_high_is_claimable(service: Any, db: Any) -> None:
    await enqueue(service, ["low_a", "low_b"], "LOW")
    await enqueue(service, ["high_a", "high_b", "high_c"], "HIGH")
    first = await claim(service, "w1", 2)
    assert {r["username"] for r in first} == {"high_a", "high_b"}, "HIGH first although LOW is older"
    # high_c is claimable but row-locked by another claimer's open transaction: this claim skips
    # it (SKIP LOCKED) and still takes no LOW, because a HIGH is claimable.
    tr = db.transaction()
    await tr.start()
    await db.execute("SELECT 1 FROM public.queue WHERE username = 'high_c' FOR UPDATE")
    assert await claim(service, "w2", 3) == []
    await tr.rollback()
    rest = await claim(service, "w3", 5)
    assert [r["username"] for r in rest] == ["high_c", "low_a", "low_b"]


async def test_low_limit_caps_low_items_only(service: Any, db: Any) -> None:
    await enqueue(service, [f"low_{i}" for i in range(5)], "LOW")
    assert len(await claim(service, "w1", 5, low_limit=2)) == 2


async def test_a_paused_item_resumes_before_new_work(service: Any, db: Any) -> None:
    await enqueue(service, ["older"], "LOW")
    await enqueue(service, ["paused_one"], "LOW")
    got = await claim(service, "w1", 2)
    paused = next(r for r in got if r["username"] == "paused_one")
    older = next(r for r in got if r["username"] == "older")
    await rpc(service, "queue_release", p_tokens=[paused["lease_token"]], p_pause=True)
    await rpc(service, "queue_release", p_tokens=[older["lease_token"]])
    again = await claim(service, "w2", 1)
    assert [r["username"] for r in again] == ["paused_one"]


async def test_not_before_is_respected(service: Any, db: Any) -> None:
    await enqueue(service, ["later"])
    (item,) = await claim(service, "w1", 1)
    answer = await rpc(service, "queue_fail", p_token=item["lease_token"], p_error="timeout")
    assert answer["outcome"] == "pending" and answer["not_before"] > answer["now"]
    assert await claim(service, "w1", 1) == []
    await make_due(db)
    (again,) = await claim(service, "w1", 1)
    assert again["username"] == "later" and again["attempts"] == 2 and again["not_before"] is None


async def test_a_stale_high_lease_beats_fresh_low_work(service: Any, db: Any) -> None:
    await enqueue(service, ["urgent"], "HIGH")
    (held,) = await claim(service, "crashed-host:1:a", 1)
    await enqueue(service, [f"fresh_{i}" for i in range(10)], "LOW")
    await expire_leases(db, [held["id"]])
    (taken,) = await claim(service, "w2", 1)
    assert taken["username"] == "urgent" and taken["lease_owner"] == "w2"
    assert taken["attempts"] == 2 and taken["lease_token"] != held["lease_token"]


async def test_expired_leases_are_taken_over_in_the_claim_itself(service: Any, db: Any) -> None:
    await enqueue(service, [f"u{i}" for i in range(4)])
    held = await claim(service, "dead", 4)
    await expire_leases(db, [r["id"] for r in held[:2]])
    taken = await claim(service, "alive", 4)
    assert {r["id"] for r in taken} == {r["id"] for r in held[:2]}


async def test_attempts_never_exceed_max_attempts(service: Any, db: Any) -> None:
    await enqueue(service, ["fragile"], max_attempts=2)
    for attempt in (1, 2):
        (item,) = await claim(service, f"w{attempt}", 1)
        assert item["attempts"] == attempt
        await expire_leases(db)
    assert await claim(service, "w3", 1) == []
    final = await row(db, "fragile")
    assert final["status"] == "FAILED" and final["attempts"] == 2
    assert "lease expired during the last attempt (2 of 2)" in final["error_message"]


async def test_a_retried_claim_returns_the_same_rows(service: Any, db: Any) -> None:
    await enqueue(service, [f"r{i}" for i in range(6)])
    request = str(uuid.uuid4())
    first = await claim(service, "w1", 4, request_id=request)
    again = await claim(service, "w1", 4, request_id=request)
    assert sorted((r["id"], r["lease_token"]) for r in again) == sorted((r["id"], r["lease_token"]) for r in first)
    assert await db.fetchval("SELECT count(*) FROM public.queue WHERE status = 'PROCESSING'") == 4
    assert all(r["attempts"] == 1 for r in again), "the retry counted no attempt"


async def test_a_claim_in_a_rolled_back_transaction_leaves_the_item_claimable(service: Any, db: Any) -> None:
    await enqueue(service, ["rollback_me"])
    tr = db.transaction()
    await tr.start()
    got = await db.fetch("SELECT * FROM public.queue_claim('w1', $1, 1, 60)", uuid.uuid4())
    assert [r["username"] for r in got] == ["rollback_me"]
    await tr.rollback()
    assert (await row(db, "rollback_me"))["status"] == "PENDING"
    (item,) = await claim(service, "w2", 1)
    assert item["username"] == "rollback_me" and item["attempts"] == 1


async def test_bad_claim_arguments_are_clear_errors(service: Any, db: Any) -> None:
    with pytest.raises(APIError) as info:
        await claim(service, "w1", 5000)
    assert info.value.code == "22023" and "between 0 and 1000" in info.value.message
    with pytest.raises(APIError) as info:
        await claim(service, "", 1)
    assert info.value.code == "22023"


async def _claim_buffers(db: Any) -> int:
    """Buffers one claim of 8 touches (its nested statements included), in a rolled-back transaction."""
    tr = db.transaction()
    await tr.start()
    plan = await db.fetchval(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM public.queue_claim('w1', $1, 8, 60)", uuid.uuid4()
    )
    await tr.rollback()
    top = json.loads(plan)[0]["Plan"]
    assert top["Actual Rows"] == 8
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


async def _add_rows(db: Any, first: int, last: int) -> None:
    await db.execute(
        "INSERT INTO public.queue (username, priority, status, attempts)"
        " SELECT 'bulk_' || g, 'LOW', CASE WHEN g % 2 = 0 THEN 'COMPLETED' ELSE 'PENDING' END::public.queue_status, 0"
        " FROM generate_series($1::int, $2::int) g",
        first,
        last,
    )
    await db.execute("ANALYZE public.queue")


async def test_a_claim_costs_the_same_on_a_small_and_a_large_queue(db: Any) -> None:
    """Regression guard on the plan, not on time: the claim reads its candidates in index order
    and stops at the limit, so its buffer count does not grow with the queue (a scan or sort of
    the whole queue would grow with it)."""
    await _add_rows(db, 1, 4000)
    await _claim_buffers(db)  # the session's first call also reads catalogs and plans
    small = await _claim_buffers(db)
    await _add_rows(db, 4001, 40000)
    await _claim_buffers(db)
    large = await _claim_buffers(db)
    pages = await db.fetchval("SELECT relpages FROM pg_class WHERE oid = 'public.queue'::regclass")
    assert large < small * 1.5 + 50, f"{small} buffers at 4,000 rows, {large} at 40,000 ({pages} pages)"
