"""Fencing: every write made for a worker is checked against its lease token, so an owner whose
lease was taken over changes nothing; and heartbeat/complete/fail/release answers."""

from __future__ import annotations

import asyncio
from typing import Any

from supa_helpers import claim, enqueue, expire_leases, row, rpc
from supa_stack import Stack, make_client


async def _taken_over(service: Any, db: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    await enqueue(service, [name])
    (old,) = await claim(service, "old-host:1:a", 1)
    await expire_leases(db, [old["id"]])
    (new,) = await claim(service, "new-host:2:b", 1)
    assert new["id"] == old["id"] and new["lease_token"] != old["lease_token"]
    return old, new


async def test_the_old_owner_changes_nothing_after_a_reclaim(service: Any, db: Any) -> None:
    old, new = await _taken_over(service, db, "contested")
    before = await row(db, "contested")
    token = old["lease_token"]

    beat = await rpc(service, "queue_heartbeat", p_tokens=[token])
    assert beat["renewed"] == [] and beat["lost"] == [token]
    done = await rpc(service, "queue_complete", p_tokens=[token])
    assert done["completed"] == [] and done["stale"] == [token]
    failed = await rpc(service, "queue_fail", p_token=token, p_error="late", p_permanent=True)
    assert failed["ok"] is False and failed["outcome"] == "stale"
    released = await rpc(service, "queue_release", p_tokens=[token], p_pause=True)
    assert released["released"] == [] and released["stale"] == [token]

    assert await row(db, "contested") == before, "not one column changed"
    ok = await rpc(service, "queue_complete", p_tokens=[new["lease_token"]])
    assert [c["id"] for c in ok["completed"]] == [new["id"]]


async def test_a_completion_racing_a_takeover_has_exactly_one_winner(stack: Stack, db: Any) -> None:
    a = await make_client(stack.api_url, stack.service_key)
    b = await make_client(stack.api_url, stack.service_key)
    try:
        names = [f"race_{i:02d}" for i in range(24)]
        await enqueue(a, names)
        held = await claim(a, "slow-owner", len(names))
        outcomes = {"completion": 0, "takeover": 0}
        for item in held:
            await expire_leases(db, [item["id"]])  # only this one is up for takeover
            done, taken = await asyncio.gather(
                rpc(a, "queue_complete", p_tokens=[item["lease_token"]]),
                claim(b, "rescuer", 1),
            )
            won_completion = bool(done["completed"])
            won_takeover = any(r["id"] == item["id"] for r in taken)
            assert won_completion != won_takeover, f"exactly one winner for {item['username']}"
            final = await db.fetchrow("SELECT status, lease_owner FROM public.queue WHERE id = $1", item["id"])
            if won_completion:
                outcomes["completion"] += 1
                assert final["status"] == "COMPLETED"
            else:
                outcomes["takeover"] += 1
                assert final["status"] == "PROCESSING" and final["lease_owner"] == "rescuer"
                assert done["stale"] == [item["lease_token"]]
                await rpc(b, "queue_release", p_tokens=[r["lease_token"] for r in taken])
                await db.execute("UPDATE public.queue SET status = 'COMPLETED' WHERE id = $1", item["id"])
        assert sum(outcomes.values()) == len(names)
    finally:
        await a.postgrest.aclose()
        await b.postgrest.aclose()


async def test_heartbeat_renews_and_reports_high_work(service: Any, db: Any) -> None:
    await enqueue(service, ["steady"], "LOW")
    (item,) = await claim(service, "w1", 1, lease_seconds=5)
    beat = await rpc(service, "queue_heartbeat", p_tokens=[item["lease_token"]], p_lease_seconds=120)
    assert beat["high_waiting"] is False
    assert beat["renewed"][0]["lease_expires_at"] > item["lease_expires_at"]
    await enqueue(service, ["vip"], "HIGH")
    beat = await rpc(service, "queue_heartbeat", p_tokens=[item["lease_token"]])
    assert beat["high_waiting"] is True, "the LOW holder learns it should pause"


async def test_complete_and_claim_next_in_one_call(service: Any, db: Any) -> None:
    await enqueue(service, ["one", "two", "three"])
    (first,) = await claim(service, "w1", 1)
    answer = await rpc(
        service,
        "queue_complete",
        p_tokens=[first["lease_token"]],
        p_owner="w1",
        p_claim_request_id="6f1f4c9e-0000-4000-8000-000000000001",
        p_claim_limit=2,
    )
    assert [c["username"] for c in answer["completed"]] == ["one"]
    assert [c["username"] for c in answer["claimed"]] == ["two", "three"]
    assert all(c["lease_owner"] == "w1" and c["attempts"] == 1 for c in answer["claimed"])
    # retrying the same call (its answer was lost) completes nothing twice and claims nothing more
    again = await rpc(
        service,
        "queue_complete",
        p_tokens=[first["lease_token"]],
        p_owner="w1",
        p_claim_request_id="6f1f4c9e-0000-4000-8000-000000000001",
        p_claim_limit=2,
    )
    assert again["completed"] == [] and [a["id"] for a in again["already"]] == [first["id"]]
    assert sorted(c["lease_token"] for c in again["claimed"]) == sorted(c["lease_token"] for c in answer["claimed"])
    assert (await row(db, "one"))["completed_at"] is not None


async def test_release_and_pause_give_the_attempt_back(service: Any, db: Any) -> None:
    await enqueue(service, ["a_item", "b_item"])
    a, b = await claim(service, "w1", 2)
    out = await rpc(service, "queue_release", p_tokens=[a["lease_token"]])
    assert out["released"][0]["status"] == "PENDING"
    out = await rpc(service, "queue_release", p_tokens=[b["lease_token"]], p_pause=True)
    assert out["released"][0]["status"] == "PAUSED"
    for name in ("a_item", "b_item"):
        r = await row(db, name)
        assert r["attempts"] == 0 and r["lease_owner"] is None and r["lease_expires_at"] is None


async def test_fail_is_permanent_or_retried_with_backoff_from_the_server_clock(service: Any, db: Any) -> None:
    await enqueue(service, ["gone", "flaky"])
    gone, flaky = sorted(await claim(service, "w1", 2), key=lambda r: r["username"] != "gone")
    out = await rpc(service, "queue_fail", p_token=gone["lease_token"], p_error="profile not found", p_permanent=True)
    assert out["outcome"] == "failed" and out["not_before"] is None
    assert (await row(db, "gone"))["error_message"] == "profile not found"

    out = await rpc(service, "queue_fail", p_token=flaky["lease_token"], p_error="timeout", p_backoff_base_seconds=10)
    delay = await db.fetchval(
        "SELECT extract(epoch FROM not_before - updated_at) FROM public.queue WHERE id = $1", flaky["id"]
    )
    assert 5 <= float(delay) <= 10, "attempt 1: base * 2^0 times a jitter factor in [0.5, 1]"
    retried = await rpc(service, "queue_fail", p_token=flaky["lease_token"], p_error="timeout")
    assert retried["ok"] is False and retried["outcome"] == "already", "a retried fail is answered, not applied twice"

    for attempt in (2, 3):
        await db.execute("UPDATE public.queue SET not_before = now() WHERE id = $1", flaky["id"])
        (again,) = await claim(service, "w1", 1)
        assert again["attempts"] == attempt
        out = await rpc(
            service, "queue_fail", p_token=again["lease_token"], p_error="timeout", p_retry_after_seconds=90
        )
    assert out["outcome"] == "failed", "out of attempts: FAILED, not retried"
    assert (await row(db, "flaky"))["status"] == "FAILED"


async def test_retry_after_is_a_floor_on_the_delay(service: Any, db: Any) -> None:
    await enqueue(service, ["limited"])
    (item,) = await claim(service, "w1", 1)
    await rpc(service, "queue_fail", p_token=item["lease_token"], p_error="429", p_retry_after_seconds=600)
    delay = await db.fetchval(
        "SELECT extract(epoch FROM not_before - updated_at) FROM public.queue WHERE id = $1", item["id"]
    )
    assert float(delay) >= 600


async def test_overlapping_batch_writes_in_any_order_do_not_deadlock(stack: Stack, db: Any) -> None:
    clients = [await make_client(stack.api_url, stack.service_key) for _ in range(3)]
    try:
        await enqueue(clients[0], [f"lock_{i:02d}" for i in range(16)])
        tokens = [r["lease_token"] for r in await claim(clients[0], "w1", 16)]
        orders = [tokens, tokens[::-1], tokens[1::2] + tokens[::2]]
        for _ in range(10):
            answers = await asyncio.gather(
                *(rpc(c, "queue_heartbeat", p_tokens=order) for c, order in zip(clients, orders))
            )
            assert all(len(a["renewed"]) == 16 for a in answers)
        done, released = await asyncio.gather(
            rpc(clients[0], "queue_complete", p_tokens=orders[1][:10]),
            rpc(clients[1], "queue_release", p_tokens=orders[2]),
        )
        assert len(done["completed"]) + len(released["released"]) == 16, "each token applied exactly once"
    finally:
        for c in clients:
            await c.postgrest.aclose()
