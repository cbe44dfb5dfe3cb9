"""Enqueue (Q3 rules, concurrent duplicates, re-adding while leased), the operator commands and the
registry of consoles, all through rpc() on the real client."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from postgrest.exceptions import APIError
from supa_helpers import claim, enqueue, row, rpc
from supa_stack import Stack, make_client


async def test_enqueue_rules(service: Any, db: Any) -> None:
    (added,) = await enqueue(service, ["@Some.Body"], "LOW")
    assert (added["username"], added["outcome"], added["priority"]) == ("some.body", "added", "LOW")
    (same,) = await enqueue(service, ["some.body"], "LOW")
    assert same["outcome"] == "already-queued" and same["item_id"] == added["item_id"]
    (up,) = await enqueue(service, ["some.body"], "HIGH")
    assert up["outcome"] == "upgraded" and up["priority"] == "HIGH" and up["item_id"] == added["item_id"]
    (down,) = await enqueue(service, ["some.body"], "LOW")
    assert down["outcome"] == "already-queued" and down["priority"] == "HIGH", "never downgraded by an add"
    (item,) = await claim(service, "w1", 1)
    await rpc(service, "queue_complete", p_tokens=[item["lease_token"]])
    (refresh,) = await enqueue(service, ["some.body"], "LOW")
    assert refresh["outcome"] == "refreshed" and refresh["item_id"] != added["item_id"]
    assert await db.fetchval("SELECT count(*) FROM public.queue WHERE username = 'some.body'") == 2


async def test_a_request_id_seen_before_answers_with_its_row(service: Any, db: Any) -> None:
    (first,) = await enqueue(service, ["with_req"], request_id="req-123")
    (again,) = await enqueue(service, ["with_req"], request_id="req-123")
    assert again["outcome"] == "already-queued" and again["item_id"] == first["item_id"]
    with pytest.raises(APIError, match="request_id 'req-123' already belongs to with_req"):
        await enqueue(service, ["someone_else"], request_id="req-123")


async def test_re_adding_while_leased_is_not_lost(service: Any, db: Any) -> None:
    await enqueue(service, ["busy"], "LOW")
    (held,) = await claim(service, "w1", 1)
    (same,) = await enqueue(service, ["busy"], "LOW")
    assert same["outcome"] == "already-queued" and same["status"] == "PROCESSING"
    (up,) = await enqueue(service, ["busy"], "HIGH")
    assert up["outcome"] == "upgraded" and up["status"] == "PROCESSING"
    beat = await rpc(service, "queue_heartbeat", p_tokens=[held["lease_token"]])
    assert beat["renewed"][0]["priority"] == "HIGH", "the holder learns of the upgrade"
    await rpc(service, "queue_release", p_tokens=[held["lease_token"]])
    r = await row(db, "busy")
    assert (r["status"], r["priority"]) == ("PENDING", "HIGH"), "the upgrade survives the holder's release"


async def test_concurrent_duplicate_enqueue_leaves_one_active_row(stack: Stack, db: Any) -> None:
    clients = [await make_client(stack.api_url, stack.service_key) for _ in range(8)]
    try:
        for name in ("twin_a", "twin_b", "twin_c"):
            answers = await asyncio.gather(
                *(enqueue(c, [name], "HIGH" if i % 3 == 0 else "LOW") for i, c in enumerate(clients * 2))
            )
            outcomes = Counter(a[0]["outcome"] for a in answers)
            assert outcomes["added"] == 1, outcomes
            assert await db.fetchval("SELECT count(*) FROM public.queue WHERE username = $1", name) == 1
            assert (await row(db, name))["priority"] == "HIGH", "the HIGH add wins whatever the order"
    finally:
        for c in clients:
            await c.postgrest.aclose()


async def test_invalid_usernames_are_refused_and_nothing_is_added(service: Any, db: Any) -> None:
    for bad in ("", "a..b", ".lead", "trail.", "x" * 31, "spa ce", "ünï"):
        with pytest.raises(APIError) as info:
            await enqueue(service, ["fine_name", bad])
        assert info.value.code == "22023" and "invalid username" in info.value.message
    assert await db.fetchval("SELECT count(*) FROM public.queue") == 0
    with pytest.raises(APIError, match="priority must be HIGH or LOW"):
        await enqueue(service, ["fine_name"], "URGENT")


async def test_bump_retry_remove_list_and_summary(service: Any, db: Any) -> None:
    await enqueue(service, ["p_one", "p_two", "p_three"])
    bumped = await rpc(service, "queue_bump", p_usernames=["p_two"], p_priority="HIGH")
    assert [b["username"] for b in bumped] == ["p_two"] and bumped[0]["priority"] == "HIGH"
    (item,) = await claim(service, "w1", 1)
    assert item["username"] == "p_two"
    await rpc(service, "queue_fail", p_token=item["lease_token"], p_error="private", p_permanent=True)
    assert (await row(db, "p_two"))["status"] == "FAILED"
    retried = await rpc(service, "queue_retry", p_usernames=None)
    assert [r["username"] for r in retried] == ["p_two"] and retried[0]["attempts"] == 0
    assert await rpc(service, "queue_retry", p_usernames=None) == [], "nothing FAILED is left"

    listed = await rpc(service, "queue_list", p_statuses=["PENDING"], p_limit=10)
    assert [r["username"] for r in listed] == ["p_two", "p_one", "p_three"], "dispatch order: HIGH, then oldest"
    summary = await rpc(service, "queue_summary")
    counts = {(c["status"], c["priority"]): c["count"] for c in summary["counts"]}
    assert counts == {("PENDING", "HIGH"): 1, ("PENDING", "LOW"): 2}
    assert summary["high_waiting"] is True

    removed = await rpc(service, "queue_remove", p_usernames=["p_one", "never_added"])
    assert sorted((r["username"], r["removed"]) for r in removed) == [("never_added", 0), ("p_one", 1)]
    assert await db.fetchval("SELECT count(*) FROM public.queue") == 2


async def test_removing_a_running_item_fences_its_holder_off(service: Any, db: Any) -> None:
    await enqueue(service, ["doomed"])
    (held,) = await claim(service, "w1", 1)
    await rpc(service, "queue_remove", p_usernames=["doomed"])
    done = await rpc(service, "queue_complete", p_tokens=[held["lease_token"]])
    assert done["stale"] == [held["lease_token"]]
    assert await db.fetchval("SELECT count(*) FROM public.queue") == 0


async def test_consoles_sharing_a_key_see_each_other(service: Any, db: Any) -> None:
    a = await rpc(
        service, "console_beat", p_console_id="host-a:1:x", p_host="host-a", p_key_hash="k1", p_ttl_seconds=15
    )
    b = await rpc(
        service, "console_beat", p_console_id="host-b:2:y", p_host="host-b", p_key_hash="k1", p_ttl_seconds=15
    )
    other = await rpc(service, "console_beat", p_console_id="host-c:3:z", p_key_hash="k2")
    assert (a["live"], b["live"], other["live"]) == (1, 2, 1)
    assert b["index"] == 1 and [c["console_id"] for c in b["consoles"]] == ["host-a:1:x", "host-b:2:y"]
    # a console that stops beating drops out once its ttl has passed
    await db.execute(
        "UPDATE public.viralspot_consoles SET expires_at = now() - interval '1 second' WHERE console_id = 'host-a:1:x'"
    )
    b = await rpc(service, "console_beat", p_console_id="host-b:2:y", p_host="host-b", p_key_hash="k1")
    assert b["live"] == 1 and b["index"] == 0
    assert await rpc(service, "console_leave", p_console_id="host-b:2:y") is True
    assert [c["console_id"] for c in await rpc(service, "console_list")] == ["host-c:3:z"]


async def test_shared_switches_reach_every_console_in_its_beat(service: Any, db: Any) -> None:
    await db.execute("DELETE FROM public.viralspot_controls")
    answer = await rpc(service, "control_set", p_name="queue.paused", p_value=True, p_by="host-a:1:x")
    assert answer["queue.paused"]["value"] is True and answer["queue.paused"]["updated_by"] == "host-a:1:x"
    beat = await rpc(service, "console_beat", p_console_id="host-b:2:y", p_key_hash="k")
    assert beat["controls"]["queue.paused"]["value"] is True, "another console sees the pause in its next beat"
    await rpc(service, "control_set", p_name="queue.paused", p_value=None)
    assert await rpc(service, "control_get") == {}
    with pytest.raises(APIError) as info:
        await rpc(service, "control_set", p_name="Bad Name!", p_value=1)
    assert info.value.code == "22023"
