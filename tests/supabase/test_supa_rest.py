"""The REST layer and the keys: who may do what, PostgREST's errors as clear client errors, the
schema cache, the table subset the console uses, and the /rest/v1 proxy used with real PostgREST."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import supabase_local
from postgrest.exceptions import APIError
from supa_helpers import enqueue, rpc
from supa_stack import Stack, make_client


async def test_anon_can_neither_read_nor_write_the_queue(anon: Any, service: Any, db: Any) -> None:
    await enqueue(service, ["secret_user"])
    for attempt in (
        anon.table("queue").select("*"),
        anon.table("queue").insert({"username": "intruder"}),
        anon.table("queue").update({"status": "COMPLETED"}).eq("username", "secret_user"),
        anon.table("queue").delete().eq("username", "secret_user"),
        anon.table("queue_stats").select("*"),
        anon.table("viralspot_consoles").select("*"),
        anon.rpc("queue_claim", {"p_owner": "x", "p_request_id": str(uuid.uuid4()), "p_limit": 1}),
        anon.rpc("queue_enqueue", {"p_items": [{"username": "intruder"}]}),
        anon.rpc("queue_summary", {}),
    ):
        with pytest.raises(APIError) as info:
            await attempt.execute()
        assert info.value.code == "42501", info.value.message
    assert await db.fetchval("SELECT count(*) FROM public.queue") == 1
    assert (await db.fetchrow("SELECT status FROM public.queue"))["status"] == "PENDING"


async def test_http_statuses_match_postgrest(stack: Stack, db: Any) -> None:
    base = stack.api_url + "/rest/v1"
    anon = {"apikey": stack.anon_key, "Authorization": f"Bearer {stack.anon_key}"}
    service = {"apikey": stack.service_key, "Authorization": f"Bearer {stack.service_key}"}
    expired = jwt.encode({"role": "service_role", "exp": 1000}, supabase_local.JWT_SECRET, "HS256")
    forged = jwt.encode({"role": "service_role"}, "not-the-secret-but-long-enough-for-hs256!!", "HS256")
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{base}/queue", headers=anon)
        assert r.status_code == 401 and r.json()["code"] == "42501"
        r = await http.get(f"{base}/queue", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.json()["code"] == "PGRST301"
        r = await http.get(f"{base}/queue", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401 and r.json()["code"] == "PGRST303"
        r = await http.post(f"{base}/rpc/no_such_function", headers=service, json={"a": 1})
        assert r.status_code == 404 and r.json()["code"] == "PGRST202"
        r = await http.get(f"{base}/no_such_table", headers=service)
        assert r.status_code == 404 and r.json()["code"] == "PGRST205"
        r = await http.post(f"{base}/rpc/queue_enqueue", headers=service, json={"p_items": [{"username": "a..b"}]})
        assert r.status_code == 400 and r.json()["code"] == "22023"
        r = await http.get(
            f"{base}/queue?select=id", headers={**service, "Accept": "application/vnd.pgrst.object+json"}
        )
        assert r.status_code == 406 and r.json()["code"] == "PGRST116"
        r = await http.post(f"{base}/rpc/queue_list", headers=service, json={})
        assert r.status_code == 200 and r.json() == []
        # GET runs READ ONLY, so a volatile function called by GET is refused, as in PostgREST
        r = await http.get(f"{base}/rpc/queue_summary", headers=service)
        assert r.status_code == 200 and "counts" in r.json()
        r = await http.get(f"{base}/rpc/queue_enqueue", headers=service, params={"p_items": '[{"username": "x"}]'})
        assert r.status_code == 405 and r.json()["code"] == "25006"
        assert await db.fetchval("SELECT count(*) FROM public.queue") == 0


async def test_rest_errors_reach_the_client_as_clear_errors(stack: Stack, service: Any, db: Any) -> None:
    bad = await make_client(stack.api_url, "not-a-jwt")
    try:
        with pytest.raises(APIError) as info:
            await bad.rpc("queue_summary", {}).execute()
        assert info.value.code == "PGRST301"
    finally:
        await bad.postgrest.aclose()
    with pytest.raises(APIError) as info:
        await service.rpc("queue_claim_typo", {"p_owner": "w"}).execute()
    assert info.value.code == "PGRST202" and "queue_claim_typo(p_owner)" in info.value.message
    with pytest.raises(APIError) as info:
        await service.table("queue").insert({"username": "x", "no_such_column": 1}).execute()
    assert info.value.code == "PGRST204"
    with pytest.raises(APIError) as info:
        await service.table("queue").select("id").eq("username", "nobody").single().execute()
    assert info.value.code == "PGRST116"
    assert stack.service_key not in str(info.value), "the key is never echoed in an error"


async def test_authenticated_users_keep_the_original_access_but_not_the_functions(
    stack: Stack, service: Any, db: Any
) -> None:
    await enqueue(service, ["front_end_sees_me"])
    user = await make_client(stack.api_url, supabase_local.sign_key("authenticated"))
    try:
        rows = (await user.table("queue").select("username,status").execute()).data
        assert rows == [{"username": "front_end_sees_me", "status": "PENDING"}], "the original's RLS policy"
        with pytest.raises(APIError) as info:
            await user.rpc("queue_claim", {"p_owner": "x", "p_request_id": str(uuid.uuid4()), "p_limit": 1}).execute()
        assert info.value.code == "42501"
    finally:
        await user.postgrest.aclose()


async def test_schema_cache_reloads_only_on_notify(service: Any, db: Any) -> None:
    await db.execute("DROP FUNCTION IF EXISTS public.vs_probe(integer)")
    await db.execute("CREATE FUNCTION public.vs_probe(p_n integer) RETURNS integer LANGUAGE sql AS 'SELECT p_n + 1'")
    with pytest.raises(APIError) as info:
        await service.rpc("vs_probe", {"p_n": 1}).execute()
    assert info.value.code == "PGRST202"
    await db.execute("NOTIFY pgrst, 'reload schema'")
    for _ in range(100):
        try:
            assert (await service.rpc("vs_probe", {"p_n": 41}).execute()).data == 42
            break
        except APIError:
            await asyncio.sleep(0.02)
    else:
        pytest.fail("the function never appeared after NOTIFY pgrst")


async def test_the_table_subset_the_console_uses(service: Any, db: Any) -> None:
    t = service.table("secondary_profiles")
    await db.execute("DELETE FROM public.secondary_profiles")
    rows = [{"username": f"sp_{i}", "followers_count": i * 10, "discovered_by": "seed"} for i in range(5)]
    assert len((await t.insert(rows).execute()).data) == 5
    up = await t.upsert(
        [
            {"username": "sp_1", "followers_count": 999, "discovered_by": "seed"},
            {"username": "sp_9", "followers_count": 1, "discovered_by": "x"},
        ],
        on_conflict="username",
    ).execute()
    assert sorted(r["username"] for r in up.data) == ["sp_1", "sp_9"]
    assert await db.fetchval("SELECT followers_count FROM public.secondary_profiles WHERE username = 'sp_1'") == 999
    got = (
        await t.select("username,followers_count")
        .gt("followers_count", 15)
        .lt("followers_count", 1000)
        .order("followers_count", desc=True)
        .limit(2)
        .execute()
    )
    assert [r["username"] for r in got.data] == ["sp_1", "sp_4"]
    got = await t.select("username", count="exact").in_("username", ["sp_0", "sp_2", "zzz"]).order("username").execute()
    assert [r["username"] for r in got.data] == ["sp_0", "sp_2"] and got.count == 2
    got = await t.select("username").is_("full_name", "null").eq("discovered_by", "x").execute()
    assert got.data == [{"username": "sp_9"}]
    await t.update({"is_private": True}).eq("username", "sp_3").execute()
    assert await db.fetchval("SELECT is_private FROM public.secondary_profiles WHERE username = 'sp_3'") is True
    gone = await t.delete().in_("username", ["sp_0", "sp_9"]).execute()
    assert sorted(r["username"] for r in gone.data) == ["sp_0", "sp_9"]
    assert await db.fetchval("SELECT count(*) FROM public.secondary_profiles") == 4


@pytest.fixture
def proxy_url(stack: Stack) -> Iterator[str]:
    """The /rest/v1 proxy put in front of a real PostgREST binary, here in front of the compat
    server's root (which it serves as PostgREST does)."""
    port = supabase_local.free_port()
    proc = subprocess.Popen(
        [sys.executable, str(supabase_local.TEST_SERVER), "--port", str(port), "--proxy-to", stack.api_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        supabase_local._wait_http(f"http://127.0.0.1:{port}/rest/v1/", [proc], supabase_local.ROOT / "proxy.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_the_rest_v1_proxy_forwards_to_a_root_served_rest_layer(
    stack: Stack, service: Any, db: Any, proxy_url: str
) -> None:
    client = await make_client(proxy_url, stack.service_key)
    try:
        await enqueue(client, ["via_proxy"])
        assert (await rpc(client, "queue_summary"))["counts"][0]["count"] == 1
        with pytest.raises(APIError) as info:
            await client.rpc("no_such_function", {}).execute()
        assert info.value.code == "PGRST202"
    finally:
        await client.postgrest.aclose()
