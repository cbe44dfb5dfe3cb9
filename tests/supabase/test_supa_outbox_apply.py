"""outbox_apply / outbox_client through the REST layer with the service key (docs/supabase-results.md).

Each test runs on a freshly migrated database and on one holding the original ViralSpot schema
with rows (then migrated), both served over REST. Every test uses a client id of its own, so the
servers' tables need no cleaning between tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from supa_helpers import rpc
from supa_stack import BARE, FIXTURES, TEMPLATE, make_client, new_database
from supabase_local import MIGRATIONS, free_port, sign_key, start_rest, stop_pids

from viralspot_tui.core.backends.supabase_mapping import enqueue_mutation, session_id_for
from viralspot_tui.core.backends.supabase_migrate import apply_migrations

RESULT_TABLES = (
    "primary_profiles",
    "content",
    "secondary_profiles",
    "viral_ideas_queue",
    "viral_ideas_competitors",
    "viral_analysis_results",
    "viral_analysis_reels",
    "viral_scripts",
    "viralspot_crawler_rounds",
    "viralspot_script_keys",
    "viralspot_outbox_clients",
    "viralspot_outbox_rejected",
    "queue",
)


@pytest.fixture(scope="module", params=["fresh", "original"])
def remote(request: pytest.FixtureRequest, pg_cluster: Any) -> Iterator[tuple[str, str]]:
    """(database url, REST url) of a migrated database; "original" started as the original schema with rows."""
    if request.param == "fresh":
        db = new_database(pg_cluster, TEMPLATE)
    else:
        import asyncio

        db = new_database(pg_cluster, BARE)
        pg_cluster.psql((FIXTURES / "original_schema.sql").read_text(), db=db)
        asyncio.run(apply_migrations(pg_cluster.url(db), MIGRATIONS))
    rest = start_rest(pg_cluster, db, free_port(), pg_cluster.root)
    try:
        yield pg_cluster.url(db), rest.api_url
    finally:
        stop_pids(rest.pids)


@pytest.fixture
async def conn(remote: tuple[str, str]) -> AsyncIterator[Any]:
    c = await asyncpg.connect(remote[0])
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def svc(remote: tuple[str, str]) -> AsyncIterator[Any]:
    client = await make_client(remote[1], sign_key("service_role"))
    try:
        yield client
    finally:
        await client.postgrest.aclose()


async def table_state(conn: Any) -> dict[str, str]:
    """Row count and a digest of every row of every table the outbox writes."""
    out = {}
    for t in RESULT_TABLES:
        out[t] = await conn.fetchval(
            f"SELECT count(*)::text || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
            f" FROM public.{t} x"
        )
    return out


def batch(client: str, tag: str) -> list[dict[str, Any]]:
    """A profile, two reels, a job with a competitor, its run, a reel used, a script, a crawl round."""
    sid = session_id_for(client, 7)
    run = {"session_id": sid, "analysis_run": 1}
    return [
        {
            "seq": 1,
            "kind": "upsert",
            "table": "primary_profiles",
            "row": {"username": f"{tag}_p", "profile_name": "P", "followers": 10, "median_views": 5, "mean_views": 5.5},
        },
        {
            "seq": 2,
            "kind": "upsert",
            "table": "content",
            "row": {
                "content_id": f"{tag}1",
                "shortcode": f"{tag}S1",
                "view_count": 100,
                "username": f"{tag}_p",
                "date_posted": "2026-01-01T00:00:00+00:00",
            },
            "refs": {"profile_username": f"{tag}_p"},
        },
        {
            "seq": 3,
            "kind": "upsert",
            "table": "content",
            "row": {"content_id": f"{tag}2", "shortcode": f"{tag}S2", "view_count": 200, "username": f"{tag}_p"},
            "refs": {"profile_username": f"{tag}_p"},
        },
        {
            "seq": 4,
            "kind": "upsert",
            "table": "viral_ideas_queue",
            "row": {
                "session_id": sid,
                "primary_username": f"{tag}_p",
                "status": "processing",
                "content_strategy": {"contentType": "reels", "targetAudience": "a", "goals": "g"},
            },
        },
        {
            "seq": 5,
            "kind": "upsert",
            "table": "viral_ideas_competitors",
            "row": {"competitor_username": f"{tag}_c", "processing_status": "fetched"},
            "refs": {"session_id": sid},
        },
        {
            "seq": 6,
            "kind": "upsert",
            "table": "viral_analysis_results",
            "row": {
                "analysis_run": 1,
                "analysis_type": "initial",
                "status": "completed",
                "viral_ideas": [{"hook": "x"}],
                "hook_analysis": {"S1": {"type": "q"}},
            },
            "refs": {"session_id": sid},
        },
        {
            "seq": 7,
            "kind": "upsert",
            "table": "viral_analysis_reels",
            "row": {"reel_type": "primary", "username": f"{tag}_p", "rank_in_selection": 1},
            "refs": {**run, "shortcode": f"{tag}S1"},
        },
        {
            "seq": 8,
            "kind": "upsert",
            "table": "viral_scripts",
            "row": {"script_title": "T", "script_content": "body", "source_reels": [f"{tag}S1"]},
            "refs": {**run, "position": 0},
        },
        {
            "seq": 9,
            "kind": "upsert",
            "table": "viralspot_crawler_rounds",
            "row": {
                "client_id": client,
                "local_id": 1,
                "round": 1,
                "seed": f"{tag}_p",
                "found": 3,
                "queued_names": ["a", "b"],
            },
        },
        {"seq": 10, **enqueue_mutation([{"username": f"{tag}_q", "priority": "HIGH", "source": "crawler"}]).wire(10)},
    ]


async def apply(svc: Any, client: str, muts: list[dict[str, Any]]) -> dict[str, Any]:
    return await rpc(svc, "outbox_apply", p_client_id=client, p_mutations=muts)


async def test_a_batch_applies_once_and_a_replay_changes_nothing(svc: Any, conn: Any) -> None:
    client, tag = str(uuid.uuid4()), "a" + uuid.uuid4().hex[:6]
    info = await rpc(svc, "outbox_client", p_client_id=client)
    assert (info["client_id"], info["known"], info["last_seq"]) == (client, False, 0)
    answer = await apply(svc, client, batch(client, tag))
    assert answer["rejected"] == [] and answer["gap"] is None
    assert answer["applied"] == list(range(1, 11)) and answer["already"] == [] and answer["last_seq"] == 10
    state = await table_state(conn)

    # foreign ids resolved on the server from the natural keys
    row = await conn.fetchrow(
        "SELECT c.view_count, p.username FROM public.content c JOIN public.primary_profiles p ON p.id = c.profile_id"
        " WHERE c.shortcode = $1",
        f"{tag}S1",
    )
    assert tuple(row) == (100, f"{tag}_p")
    reel = await conn.fetchrow(
        "SELECT r.content_id, q.session_id, a.analysis_run FROM public.viral_analysis_reels r"
        " JOIN public.viral_analysis_results a ON a.id = r.analysis_id JOIN public.viral_ideas_queue q ON q.id = a.queue_id"
        " WHERE r.username = $1",
        f"{tag}_p",
    )
    assert tuple(reel) == (f"{tag}1", session_id_for(client, 7), 1)  # content_id found from the shortcode
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM public.viral_scripts s JOIN public.viral_analysis_results a ON a.id = s.analysis_id"
            " JOIN public.viral_ideas_queue q ON q.id = a.queue_id WHERE q.session_id = $1",
            session_id_for(client, 7),
        )
        == 1
    )
    assert await conn.fetchval("SELECT priority::text FROM public.queue WHERE username = $1", f"{tag}_q") == "HIGH"

    again = await apply(svc, client, batch(client, tag))
    assert again["applied"] == [] and again["already"] == list(range(1, 11)) and again["last_seq"] == 10
    assert await table_state(conn) == state
    info = await rpc(svc, "outbox_client", p_client_id=client)
    assert (info["known"], info["last_seq"]) == (True, 10)


async def test_an_update_changes_only_the_columns_given(svc: Any, conn: Any) -> None:
    client, tag = str(uuid.uuid4()), "u" + uuid.uuid4().hex[:6]
    await apply(svc, client, batch(client, tag)[:2])
    answer = await apply(
        svc,
        client,
        [
            {
                "seq": 3,
                "kind": "upsert",
                "table": "content",
                "row": {"content_id": f"{tag}1", "shortcode": f"{tag}S1", "like_count": 9},
                "refs": {"profile_username": f"{tag}_p"},
            }
        ],
    )
    assert answer["applied"] == [3]
    row = await conn.fetchrow(
        "SELECT view_count, like_count, date_posted IS NOT NULL AS dated FROM public.content WHERE shortcode = $1",
        f"{tag}S1",
    )
    assert tuple(row) == (100, 9, True)
    assert await conn.fetchval("SELECT count(*) FROM public.content WHERE shortcode = $1", f"{tag}S1") == 1


async def test_a_superseded_mutation_shares_the_fate_of_the_upsert_it_was_folded_into(svc: Any, conn: Any) -> None:
    """The client folds a row's two snapshots into the first position (the pusher's
    ``fold_repeats``); the later seq is applied only if the upsert it names was applied in
    the same call, else rejected with the reason, never silently dropped."""
    client, tag = str(uuid.uuid4()), "f" + uuid.uuid4().hex[:6]

    def profile(seq: int, name: str, followers: int) -> dict[str, Any]:
        return {
            "seq": seq,
            "kind": "upsert",
            "table": "primary_profiles",
            "row": {"username": name, "followers": followers},
        }

    muts = [
        profile(1, f"{tag}_a", 20),  # carries the later snapshot already
        profile(2, f"{tag}_b", 5),
        {"seq": 3, "kind": "superseded", "by": 1},
        {**profile(4, f"{tag}_c", 7), "row": {"username": f"{tag}_c", "id": str(uuid.uuid4())}},  # rejected
        {"seq": 5, "kind": "superseded", "by": 4},
        {"seq": 6, "kind": "superseded", "by": 99},  # not in this call
        {"seq": 7, "kind": "superseded", "by": "one"},
    ]
    answer = await apply(svc, client, muts)
    assert answer["applied"] == [1, 2, 3] and answer["last_seq"] == 7
    reasons = {r["seq"]: r["reason"] for r in answer["rejected"]}
    assert sorted(reasons) == [4, 5, 6, 7]
    assert "superseded by seq 4, which was not applied in this call" in reasons[5]
    assert "superseded by seq 99" in reasons[6] and "superseded by seq one" in reasons[7]
    rows = await conn.fetch("SELECT username, followers FROM public.primary_profiles WHERE username LIKE $1", tag + "%")
    assert {r["username"]: r["followers"] for r in rows} == {f"{tag}_a": 20, f"{tag}_b": 5}


async def test_a_gap_is_refused_and_nothing_applied(svc: Any, conn: Any) -> None:
    client, tag = str(uuid.uuid4()), "g" + uuid.uuid4().hex[:6]
    before = await table_state(conn)
    muts = batch(client, tag)
    answer = await apply(svc, client, muts[2:])  # starts at 3, server expects 1
    assert answer["gap"] == {"expected": 1, "got": 3}
    assert answer["applied"] == [] and answer["last_seq"] == 0
    assert await table_state(conn) == before
    assert (await rpc(svc, "outbox_client", p_client_id=client))["known"] is False

    assert (await apply(svc, client, muts[:2]))["applied"] == [1, 2]
    state = await table_state(conn)
    answer = await apply(svc, client, [muts[0], muts[1], muts[4]])  # 1, 2 known; 5 leaves a hole at 3
    assert answer["gap"] == {"expected": 3, "got": 5} and answer["already"] == []
    assert await table_state(conn) == state


async def test_rejections_are_reported_recorded_and_do_not_block_the_rest(svc: Any, conn: Any) -> None:
    client, tag = str(uuid.uuid4()), "r" + uuid.uuid4().hex[:6]
    good = batch(client, tag)
    muts = [
        good[0],
        {"seq": 2, "kind": "upsert", "table": "no_such_table", "row": {"x": 1}},
        {
            "seq": 3,
            "kind": "upsert",
            "table": "viral_ideas_queue",  # CHECK (status IN ...) violation
            "row": {"session_id": f"s-{tag}", "primary_username": "x", "status": "exploded"},
        },
        {"seq": 4, "kind": "skip", "reason": f"content {tag}: shortcode missing"},
        {
            "seq": 5,
            "kind": "upsert",
            "table": "content",  # profile unknown: its foreign id cannot be resolved
            "row": {"content_id": f"{tag}9", "shortcode": f"{tag}S9"},
            "refs": {"profile_username": f"{tag}_none"},
        },
        {
            "seq": 6,
            "kind": "upsert",
            "table": "primary_profiles",
            "row": {"username": f"{tag}_z", "id": str(uuid.uuid4())},
        },
        {"seq": 7, "kind": "bogus"},
        {**good[1], "seq": 8},
    ]
    answer = await apply(svc, client, muts)
    assert answer["applied"] == [1, 8] and answer["last_seq"] == 8
    reasons = {r["seq"]: r["reason"] for r in answer["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert "unknown table 'no_such_table'" in reasons[2]
    assert reasons[3].startswith("23514")
    assert reasons[4] == f"skipped by the client: content {tag}: shortcode missing"
    assert "no primary_profiles row" in reasons[5] and reasons[5].startswith("23503")
    assert "column(s) id cannot be written" in reasons[6]
    assert "unknown kind 'bogus'" in reasons[7]
    stored = await conn.fetch(
        "SELECT seq, reason FROM public.viralspot_outbox_rejected WHERE client_id = $1 ORDER BY seq", uuid.UUID(client)
    )
    assert {r["seq"]: r["reason"] for r in stored} == reasons
    assert await conn.fetchval("SELECT count(*) FROM public.viral_ideas_queue WHERE session_id = $1", f"s-{tag}") == 0
    assert await conn.fetchval("SELECT count(*) FROM public.content WHERE shortcode = $1", f"{tag}S1") == 1
    again = await apply(svc, client, muts)  # a replay of rejected ones: "already", not rejected twice
    assert again["already"] == list(range(1, 9)) and again["rejected"] == []


async def test_malformed_batches_are_refused_whole(svc: Any, conn: Any) -> None:
    from postgrest.exceptions import APIError

    client = str(uuid.uuid4())
    for bad in ([{"kind": "skip"}], [{"seq": 2, "kind": "skip"}, {"seq": 1, "kind": "skip"}], {"seq": 1}):
        with pytest.raises(APIError) as info:
            await apply(svc, client, bad)  # type: ignore[arg-type]
        assert info.value.code == "22023"
    assert (await rpc(svc, "outbox_client", p_client_id=client))["known"] is False


async def test_the_anon_key_cannot_call_the_outbox(remote: tuple[str, str]) -> None:
    from postgrest.exceptions import APIError

    anon = await make_client(remote[1], sign_key("anon"))
    try:
        for name, args in (
            ("outbox_apply", {"p_client_id": str(uuid.uuid4()), "p_mutations": []}),
            ("outbox_client", {"p_client_id": str(uuid.uuid4())}),
        ):
            with pytest.raises(APIError) as info:
                await anon.rpc(name, args).execute()
            assert info.value.code == "42501"
    finally:
        await anon.postgrest.aclose()


async def test_the_original_readers_see_the_console_rows(svc: Any, conn: Any) -> None:
    client, tag = str(uuid.uuid4()), "o" + uuid.uuid4().hex[:6]
    await apply(svc, client, batch(client, tag))
    rows = await conn.fetch(
        "SELECT p.username, p.profile_name, p.followers, c.shortcode, c.view_count FROM public.primary_profiles p"
        " JOIN public.content c ON c.profile_id = p.id WHERE p.username = $1 ORDER BY c.shortcode",
        f"{tag}_p",
    )
    assert [tuple(r) for r in rows] == [(f"{tag}_p", "P", 10, f"{tag}S1", 100), (f"{tag}_p", "P", 10, f"{tag}S2", 200)]


async def test_the_migration_applied_again_changes_nothing(remote: tuple[str, str], conn: Any) -> None:
    from test_supa_migrations import snapshot

    before = await snapshot(conn)
    await apply_migrations(remote[0], MIGRATIONS)
    assert await snapshot(conn) == before


async def test_two_calls_racing_with_one_batch_apply_it_once(svc: Any, conn: Any, remote: tuple[str, str]) -> None:
    """A retry sent while the first call still runs (a lost answer): one applies, the other says already."""
    import asyncio

    other = await make_client(remote[1], sign_key("service_role"))
    try:
        client, tag = str(uuid.uuid4()), "x" + uuid.uuid4().hex[:6]
        muts = batch(client, tag)
        a, b = await asyncio.gather(apply(svc, client, muts), apply(other, client, muts))
        assert sorted([a["applied"], b["applied"]], key=len) == [[], list(range(1, 11))]
        assert sorted([a["already"], b["already"]], key=len) == [[], list(range(1, 11))]
        assert await conn.fetchval("SELECT count(*) FROM public.content WHERE shortcode LIKE $1", f"{tag}S%") == 2
        assert await conn.fetchval("SELECT count(*) FROM public.queue WHERE username = $1", f"{tag}_q") == 1
    finally:
        await other.postgrest.aclose()
