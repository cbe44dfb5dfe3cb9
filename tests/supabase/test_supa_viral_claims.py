"""Fenced claims of web-form viral jobs: viral_job_claim / viral_job_heartbeat / viral_job_finish.

Through the REST layer with the service key. Lease expiry is simulated by moving the lease
deadline into the past with SQL (the functions read only the database clock).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from supa_helpers import rpc

from viralspot_tui.core.backends.supabase_mapping import local_job_from_remote


@pytest.fixture
async def jobs(db: Any) -> AsyncIterator[Any]:
    """The direct connection, with no viral jobs (the web form's or the consoles') before or after:
    a pending job left behind would be taken by another test's engine."""
    await db.execute("TRUNCATE public.viral_ideas_queue CASCADE")
    yield db
    await db.execute("TRUNCATE public.viral_ideas_queue CASCADE")


async def submit(db: Any, session: str, priority: int = 5, competitors: tuple[str, ...] = ("rival_one",)) -> str:
    qid = await db.fetchval(
        "INSERT INTO public.viral_ideas_queue (session_id, primary_username, priority, content_strategy)"
        " VALUES ($1, 'creator_a', $2, '{\"contentType\": \"reels\"}') RETURNING id",
        session,
        priority,
    )
    for name in competitors:
        await db.execute(
            "INSERT INTO public.viral_ideas_competitors (queue_id, competitor_username) VALUES ($1, $2)", qid, name
        )
    return str(qid)


async def status(db: Any, session: str) -> tuple[Any, ...]:
    r = await db.fetchrow(
        "SELECT status, error_message, total_runs, progress_percentage FROM public.viral_ideas_queue"
        " WHERE session_id = $1",
        session,
    )
    return tuple(r)


async def test_claim_takes_pending_web_jobs_in_priority_order_once(service: Any, jobs: Any) -> None:
    await submit(jobs, "web-low", priority=5)
    await submit(jobs, "web-high", priority=1, competitors=("rival_one", "rival_two"))
    await submit(jobs, f"console-{uuid.uuid4()}-job-1", priority=1)  # a console's own job: never claimed
    first = await rpc(service, "viral_job_claim", p_owner="c1", p_limit=1, p_lease_seconds=60)
    assert [c["job"]["session_id"] for c in first] == ["web-high"]
    assert sorted(x["competitor_username"] for x in first[0]["competitors"]) == ["rival_one", "rival_two"]
    args = local_job_from_remote(first[0]["job"], first[0]["competitors"])
    assert (args.session_id, args.primary, sorted(args.competitors)) == (
        "web-high",
        "creator_a",
        ["rival_one", "rival_two"],
    )
    assert (await status(jobs, "web-high"))[0] == "processing"
    second = await rpc(service, "viral_job_claim", p_owner="c2", p_limit=5, p_lease_seconds=60)
    assert [c["job"]["session_id"] for c in second] == ["web-low"]
    assert await rpc(service, "viral_job_claim", p_owner="c3", p_limit=5, p_lease_seconds=60) == []


async def test_finish_is_fenced_and_a_repeat_answers_already(service: Any, jobs: Any) -> None:
    await submit(jobs, "web-1")
    token = (await rpc(service, "viral_job_claim", p_owner="c1", p_limit=1, p_lease_seconds=60))[0]["token"]
    beat = await rpc(service, "viral_job_heartbeat", p_tokens=[token, str(uuid.uuid4())], p_lease_seconds=60)
    assert beat["renewed"] == [token] and len(beat["lost"]) == 1
    done = await rpc(service, "viral_job_finish", p_token=token, p_status="completed")
    assert (done["ok"], done["outcome"]) == (True, "finished")
    assert await status(jobs, "web-1") == ("completed", None, 1, 100)
    again = await rpc(service, "viral_job_finish", p_token=token, p_status="completed")
    assert (again["ok"], again["outcome"]) == (True, "already")
    assert await status(jobs, "web-1") == ("completed", None, 1, 100)  # counted once
    assert (await rpc(service, "viral_job_heartbeat", p_tokens=[token], p_lease_seconds=60))["lost"] == [token]
    unknown = await rpc(service, "viral_job_finish", p_token=str(uuid.uuid4()), p_status="failed")
    assert unknown["outcome"] == "stale"


async def test_an_expired_lease_is_taken_over_and_the_old_holder_is_stale(service: Any, jobs: Any) -> None:
    await submit(jobs, "web-2")
    old = (await rpc(service, "viral_job_claim", p_owner="c1", p_limit=1, p_lease_seconds=60))[0]["token"]
    assert await rpc(service, "viral_job_claim", p_owner="c2", p_limit=1, p_lease_seconds=60) == []  # still held
    await jobs.execute("UPDATE public.viralspot_viral_leases SET lease_expires_at = now() - interval '1 second'")
    taken = await rpc(service, "viral_job_claim", p_owner="c2", p_limit=1, p_lease_seconds=60)
    assert [c["job"]["session_id"] for c in taken] == ["web-2"] and taken[0]["token"] != old
    late = await rpc(service, "viral_job_finish", p_token=old, p_status="completed")
    assert (late["ok"], late["outcome"]) == (False, "stale")
    assert (await rpc(service, "viral_job_heartbeat", p_tokens=[old], p_lease_seconds=60))["lost"] == [old]
    failed = await rpc(service, "viral_job_finish", p_token=taken[0]["token"], p_status="failed", p_error="no reels")
    assert failed["ok"] and await status(jobs, "web-2") == ("failed", "no reels", 0, 0)


async def test_a_given_back_job_is_claimable_again(service: Any, jobs: Any) -> None:
    await submit(jobs, "web-3")
    token = (await rpc(service, "viral_job_claim", p_owner="c1", p_limit=1, p_lease_seconds=60))[0]["token"]
    back = await rpc(service, "viral_job_finish", p_token=token, p_status="pending")
    assert back["ok"] and (await status(jobs, "web-3"))[0] == "pending"
    again = await rpc(service, "viral_job_claim", p_owner="c2", p_limit=1, p_lease_seconds=60)
    assert [c["job"]["session_id"] for c in again] == ["web-3"] and again[0]["token"] != token


async def test_bad_arguments_and_the_anon_key_are_refused(service: Any, anon: Any, jobs: Any) -> None:
    from postgrest.exceptions import APIError

    for name, args in (
        ("viral_job_claim", {"p_owner": "", "p_limit": 1, "p_lease_seconds": 60}),
        ("viral_job_claim", {"p_owner": "c", "p_limit": -1, "p_lease_seconds": 60}),
        ("viral_job_finish", {"p_token": str(uuid.uuid4()), "p_status": "exploded"}),
    ):
        with pytest.raises(APIError) as info:
            await service.rpc(name, args).execute()
        assert info.value.code == "22023"
    with pytest.raises(APIError) as info:
        await anon.rpc("viral_job_claim", {"p_owner": "c", "p_limit": 1, "p_lease_seconds": 60}).execute()
    assert info.value.code == "42501"


async def test_concurrent_claimers_get_disjoint_jobs(stack: Any, service: Any, jobs: Any) -> None:
    import asyncio

    from supa_stack import make_client

    for i in range(6):
        await submit(jobs, f"web-c{i}")
    other = await make_client(stack.api_url, stack.service_key)
    try:
        a, b = await asyncio.gather(
            rpc(service, "viral_job_claim", p_owner="c1", p_limit=4, p_lease_seconds=60),
            rpc(other, "viral_job_claim", p_owner="c2", p_limit=4, p_lease_seconds=60),
        )
    finally:
        await other.postgrest.aclose()
    got = [c["job"]["session_id"] for c in a + b]
    assert len(got) == len(set(got)) == 6
    assert await jobs.fetchval("SELECT count(*) FROM public.viralspot_viral_leases") == 6
