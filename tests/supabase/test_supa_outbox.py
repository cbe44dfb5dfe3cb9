"""The outbox against real PostgreSQL and the REST layer (docs/supabase-outbox.md).

Each test has a local SQLite file of its own (so its own client id) and reads the remote rows
back with a direct connection. A lost answer is a real cut connection (``LossyProxy`` lets the
server answer, then drops it); a rejection is a real constraint violation.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit

from pgrest_proxy import LossyProxy  # noqa: E402

from viralspot_tui.core.backends.supabase_client import SupabaseError, SupabaseQueue  # noqa: E402
from viralspot_tui.core.backends.supabase_outbox import OutboxPusher  # noqa: E402
from viralspot_tui.core.store.database import Database  # noqa: E402
from viralspot_tui.core.store.outbox_store import OutboxStore  # noqa: E402

NOW = "2026-12-01T10:00:00.000000+00:00"


def _profile(conn: sqlite3.Connection, name: str, followers: int) -> None:
    conn.execute(
        "INSERT INTO primary_profiles (username, full_name, followers, first_scraped_at, last_scraped_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET followers = excluded.followers",
        (name, name.title(), followers, NOW, NOW),
    )


async def _remote_followers(db: Any, prefix: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT username, followers FROM public.primary_profiles WHERE username LIKE $1", prefix + "%"
    )
    return {r["username"]: r["followers"] for r in rows}


async def _server_seq(db: Any, client_id: str) -> int:
    data = await db.fetchval("SELECT public.outbox_client($1::uuid)::text", client_id)
    return int(json.loads(data)["last_seq"])


async def test_a_rejected_mutation_is_reported_and_skipped_and_the_next_ones_apply(tmp_path, stack, db):
    await db.execute(
        "ALTER TABLE public.primary_profiles DROP CONSTRAINT IF EXISTS vs_test_no_rej;"
        " ALTER TABLE public.primary_profiles ADD CONSTRAINT vs_test_no_rej CHECK (username <> 'rej_evil')"
    )
    client = SupabaseQueue(stack.api_url, stack.service_key)
    try:
        async with Database(tmp_path / "v.db") as local:
            box = OutboxStore(local)
            await box.set_capture(True)
            for name, followers in (("rej_alice", 1), ("rej_evil", 2), ("rej_bob", 3)):
                await local.write(_profile, name, followers)
            report = await OutboxPusher(box, client).push()
            listing = await box.listing()
            client_id = (await box.client()).client_id
    finally:
        await client.close()
        await db.execute("ALTER TABLE public.primary_profiles DROP CONSTRAINT IF EXISTS vs_test_no_rej")
    assert report.applied == 2 and [seq for seq, _ in report.rejected] == [2]
    assert "vs_test_no_rej" in report.rejected[0][1] or "check" in report.rejected[0][1].lower()
    assert await _remote_followers(db, "rej_") == {"rej_alice": 1, "rej_bob": 3}
    assert listing["depth"] == 0 and [(e.seq, e.state) for e in listing["settled"]] == [(2, "rejected")]
    assert await _server_seq(db, client_id) == 3


@asynccontextmanager
async def _first_apply_answer_lost(stack: Any) -> AsyncIterator[tuple[LossyProxy, SupabaseQueue]]:
    """A client whose first ``outbox_apply`` reaches the server but whose answer is cut."""
    proxy = LossyProxy(stack.api_url, lambda path: path.endswith("rpc/outbox_apply") and not proxy.dropped)
    client = SupabaseQueue(await proxy.start(), stack.service_key)
    try:
        yield proxy, client
    finally:
        await client.close()
        await proxy.close()


async def test_a_lost_answer_is_replayed_with_exactly_one_effect(tmp_path, stack, db):
    async with _first_apply_answer_lost(stack) as (proxy, client), Database(tmp_path / "v.db") as local:
        box = OutboxStore(local)
        await box.set_capture(True)
        for i in range(5):
            await local.write(_profile, f"lost_{i}", 10 + i)
        await box.add_enqueue([{"username": "lost_queued", "priority": "HIGH", "source": "manual"}])
        pusher = OutboxPusher(box, client)
        with pytest.raises(SupabaseError) as cut:
            await pusher.push()
        assert cut.value.transient
        assert [e.seq for e in await box.pending()] == [1, 2, 3, 4, 5, 6]  # nothing acknowledged here
        client_id = (await box.client()).client_id
        assert await _server_seq(db, client_id) == 6  # ... but the server applied the batch
        replay = await pusher.push()
        depth = (await box.depth())[0]
    assert proxy.dropped == ["rest/v1/rpc/outbox_apply"]
    assert (replay.applied, replay.already, replay.rejected) == (0, 6, [])
    assert depth == 0
    assert await _remote_followers(db, "lost_") == {f"lost_{i}": 10 + i for i in range(5)}
    queued = await db.fetch("SELECT status::text, priority::text FROM public.queue WHERE username = 'lost_queued'")
    assert [tuple(r) for r in queued] == [("PENDING", "HIGH")]  # one row: enqueued once


async def _count_writes(db: Any, table: str) -> None:
    """Count the rows PostgreSQL writes to ``table`` (an AFTER ROW trigger of the test's own)."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS public.vs_test_writes (n integer NOT NULL);"
        " TRUNCATE public.vs_test_writes; INSERT INTO public.vs_test_writes VALUES (0);"
        " CREATE OR REPLACE FUNCTION public.vs_test_count() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN UPDATE public.vs_test_writes SET n = n + 1; RETURN NULL; END $$;"
        f" DROP TRIGGER IF EXISTS vs_test_count ON public.{table};"
        f" CREATE TRIGGER vs_test_count AFTER INSERT OR UPDATE ON public.{table}"
        " FOR EACH ROW EXECUTE FUNCTION public.vs_test_count()"
    )


async def test_a_row_written_twice_before_a_push_is_sent_once_with_its_last_values(tmp_path, stack, db):
    """Stored, then updated (a profile, then its aggregates): one upsert on the server, at the
    first position, with the last values; the later seq is acknowledged as superseded."""
    await _count_writes(db, "primary_profiles")
    client = SupabaseQueue(stack.api_url, stack.service_key)
    try:
        async with Database(tmp_path / "v.db") as local:
            box = OutboxStore(local)
            await box.set_capture(True)
            await local.write(_profile, "fold_a", 1)
            await local.write(_profile, "fold_b", 2)
            await local.write(_profile, "fold_a", 3)
            report = await OutboxPusher(box, client).push()
            depth = (await box.depth())[0]
            client_id = (await box.client()).client_id
        writes = await db.fetchval("SELECT n FROM public.vs_test_writes")
    finally:
        await client.close()
        await db.execute("DROP TRIGGER IF EXISTS vs_test_count ON public.primary_profiles")
    assert (report.applied, report.rejected, depth) == (3, [], 0)
    assert await _remote_followers(db, "fold_") == {"fold_a": 3, "fold_b": 2}
    assert writes == 2  # fold_a once, fold_b once
    assert await _server_seq(db, client_id) == 3


async def test_nothing_is_folded_into_a_mutation_already_sent(tmp_path, stack, db):
    """After a lost answer the server may hold the first snapshot already: an update captured
    meanwhile is sent on its own, not folded into the replayed one (which is answered "already")."""
    async with _first_apply_answer_lost(stack) as (_proxy, client), Database(tmp_path / "v.db") as local:
        box = OutboxStore(local)
        await box.set_capture(True)
        await local.write(_profile, "refold_a", 1)
        pusher = OutboxPusher(box, client)
        with pytest.raises(SupabaseError):
            await pusher.push()  # applied there, the answer lost
        await local.write(_profile, "refold_a", 5)
        replay = await pusher.push()
    assert (replay.already, replay.applied, replay.rejected) == (1, 1, [])
    assert await _remote_followers(db, "refold_") == {"refold_a": 5}


async def test_an_old_copy_of_the_database_restored_over_the_current_one_is_detected(tmp_path, stack, db):
    path = tmp_path / "v.db"
    client = SupabaseQueue(stack.api_url, stack.service_key)
    try:
        async with Database(path) as local:
            box = OutboxStore(local)
            await box.set_capture(True)
            await local.write(_profile, "old_a", 1)
            assert (await OutboxPusher(box, client).push()).applied == 1
        shutil.copy(path, tmp_path / "backup.db")  # a copy taken at seq 1
        async with Database(path) as local:
            box = OutboxStore(local)
            for i in range(3):
                await local.write(_profile, f"old_b{i}", 2)
            assert (await OutboxPusher(box, client).push()).applied == 3
            client_id = (await box.client()).client_id
        for side in ("-wal", "-shm"):
            Path(str(path) + side).unlink(missing_ok=True)
        shutil.copy(tmp_path / "backup.db", path)  # the old copy restored over the current file
        async with Database(path) as local:
            box = OutboxStore(local)
            await local.write(_profile, "old_a", 99)  # new local work after the restore
            report = await OutboxPusher(box, client).push()
            for i in range(4):  # even once the file has allocated more seqs than the server holds
                await local.write(_profile, f"old_c{i}", 3)
            again = await OutboxPusher(box, client).push()
            waiting = (await box.depth())[0]
    finally:
        await client.close()
    expected = "this database is older than what Supabase has recorded for it (local seq 2, server 4)"
    assert report.halted is not None and report.halted.startswith(expected), report.halted
    assert again.halted == report.halted and waiting == 5  # seqs 2..6: nothing replayed, nothing lost
    assert await _server_seq(db, client_id) == 4
    assert (await _remote_followers(db, "old_"))["old_a"] == 1


# ---------------------------------------------------------------------------------------------
# A runner whose Supabase goes away mid-run: the REST layer, then PostgreSQL itself.


def _local(settings: Any, sql: str) -> list[tuple[Any, ...]]:
    if not Path(settings.db_path).exists():  # the runner has not created it yet
        return []
    conn = sqlite3.connect(settings.db_path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _count(settings: Any, sql: str) -> int:
    rows = _local(settings, sql)
    return int(rows[0][0]) if rows else 0


async def _compare_remote_with_local(conn: Any, settings: Any, names: list[str]) -> None:
    """Supabase's queue and content tables equal the local ones: row counts and values."""
    queue = await conn.fetch(
        "SELECT username, status::text, attempts FROM public.queue WHERE username = ANY($1::text[])", names
    )
    assert sorted(r["username"] for r in queue) == sorted(names)  # one row each: none added twice
    assert {r["status"] for r in queue} == {"COMPLETED"}
    local_profiles = _local(
        settings, "SELECT username, followers, total_views, reels_count FROM primary_profiles ORDER BY username"
    )
    remote_profiles = await conn.fetch(
        "SELECT username, followers, total_views, total_reels FROM public.primary_profiles"
        " WHERE username = ANY($1::text[]) ORDER BY username",
        names,
    )
    assert [tuple(r) for r in remote_profiles] == local_profiles
    local_content = _local(
        settings, "SELECT content_id, shortcode, username, views, likes, comments FROM content ORDER BY content_id"
    )
    remote_content = await conn.fetch(
        "SELECT content_id, shortcode, username, view_count, like_count, comment_count FROM public.content"
        " WHERE username = ANY($1::text[]) ORDER BY content_id",
        names,
    )
    assert len(local_content) > 0
    assert [tuple(r) for r in remote_content] == local_content


async def _run_with_an_outage(tmp_path: Path, pg_cluster: Any, service_key: str, outage: str) -> None:
    """Run a batch over 30 names; after a few are done take ``outage`` down ("rest" or
    "postgres"), see the runner go on and the outbox grow, bring it back, let the run finish."""
    import asyncio

    import asyncpg
    import supabase_local
    from supa_stack import TEMPLATE, new_database
    from testkit import make_settings, make_sim, public_names, wait_for

    from viralspot_tui.core.headless import run_headless

    dbname = new_database(pg_cluster, TEMPLATE)
    port = supabase_local.free_port()
    rest = supabase_local.start_rest(pg_cluster, dbname, port, pg_cluster.root)
    sim = make_sim(latency_ms=500)  # items still in flight once it is down
    names = public_names(sim, 30, prefix=f"out{outage}")
    conn = await asyncpg.connect(pg_cluster.url(dbname))
    items = [{"username": n, "priority": "LOW", "source": "manual"} for n in names]
    await conn.execute("SELECT count(*) FROM public.queue_enqueue($1::jsonb)", json.dumps(items))
    await conn.close()
    settings = make_settings(
        tmp_path / outage,
        queue={"backend": "supabase", "max_concurrent": 6, "reels_count": 4, "similar_count": 2},
        supabase={"url": rest.api_url, "service_role_key": service_key, "lease_seconds": 60},
    )
    run = asyncio.create_task(
        run_headless(settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",))
    )
    try:
        # down while the claimed items are still running here
        await wait_for(lambda: _count(settings, "SELECT COUNT(*) FROM queue WHERE status = 'PROCESSING'") >= 3, 60)
        done_before = _count(settings, "SELECT COUNT(*) FROM primary_profiles")
        if outage == "rest":
            await asyncio.to_thread(supabase_local.stop_pids, rest.pids)
        else:
            await asyncio.to_thread(pg_cluster.stop)
        # the runner goes on with the items it holds; their results wait in the outbox (which
        # cannot drain while the server is down)
        await wait_for(
            lambda: (
                _count(settings, "SELECT COUNT(*) FROM primary_profiles") > done_before
                and _count(settings, "SELECT COUNT(*) FROM queue WHERE status = 'PROCESSING'") == 0
                and _count(settings, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'") > 0
            ),
            timeout=60,
            what=lambda: f"profiles {_count(settings, 'SELECT COUNT(*) FROM primary_profiles')}",
        )
        assert not run.done()
        if outage == "rest":
            rest = await asyncio.to_thread(supabase_local.start_rest, pg_cluster, dbname, port, pg_cluster.root)
        else:
            await asyncio.to_thread(pg_cluster.start)
        code = await asyncio.wait_for(run, timeout=180)
    finally:
        if not run.done():
            run.cancel()
        if outage == "postgres" and not (pg_cluster.data / "postmaster.pid").exists():
            pg_cluster.start()
    assert code == 0
    assert _count(settings, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'") == 0  # drained
    assert service_key.encode() not in Path(settings.db_path).read_bytes()  # no secret in outbox rows
    conn = await asyncpg.connect(pg_cluster.url(dbname))
    try:
        await _compare_remote_with_local(conn, settings, names)
    finally:
        await conn.close()
        supabase_local.stop_pids(rest.pids)


async def test_the_rest_layer_stopped_mid_run_and_restarted(tmp_path, pg_cluster):
    import supabase_local

    await _run_with_an_outage(tmp_path, pg_cluster, supabase_local.sign_key("service_role"), "rest")


async def test_postgresql_restarted_mid_run(tmp_path, pg_cluster):
    import supabase_local

    await _run_with_an_outage(tmp_path, pg_cluster, supabase_local.sign_key("service_role"), "postgres")


def test_an_offline_add_is_sent_by_outbox_retry_once_supabase_is_back(tmp_path, stack):
    import asyncio

    import asyncpg
    import supabase_local
    from click.testing import CliRunner

    from viralspot_tui.cli.common import CliState
    from viralspot_tui.cli.main import cli

    data = tmp_path / "d"

    def run(url: str, *args: str) -> Any:
        env = {"SUPABASE_URL": url, "SUPABASE_SERVICE_ROLE_KEY": stack.service_key}
        return CliRunner().invoke(
            cli, ["--data-dir", str(data), "--backend", "supabase", *args], obj=CliState(), env=env
        )

    down = f"http://127.0.0.1:{supabase_local.free_port()}"
    added = run(down, "queue", "add", "offcli_a", "offcli_b", "--priority", "high")
    assert added.exit_code == 0 and "queued offline at HIGH: offcli_a, offcli_b (outbox seq 1" in added.output
    sent = run(stack.api_url, "outbox", "retry")
    assert sent.exit_code == 0, sent.output
    assert "outbox: 1 applied, 0 already there, 0 rejected" in sent.output
    again = run(stack.api_url, "outbox", "retry")
    assert again.exit_code == 0 and "outbox: 0 applied" in again.output

    async def remote() -> list[tuple[str, str, str]]:
        conn = await asyncpg.connect(stack.db_url)
        try:
            rows = await conn.fetch(
                "SELECT username, priority::text, status::text FROM public.queue WHERE username LIKE 'offcli_%'"
                " ORDER BY username"
            )
            return [tuple(r) for r in rows]
        finally:
            await conn.close()

    assert asyncio.run(remote()) == [("offcli_a", "HIGH", "PENDING"), ("offcli_b", "HIGH", "PENDING")]
    assert stack.service_key.encode() not in (data / "viralspot.db").read_bytes()


async def test_a_completion_after_a_takeover_is_recorded_superseded_and_its_results_still_apply(
    tmp_path, stack, db, service
):
    from supa_helpers import claim, enqueue, expire_leases
    from test_supa_backend import supa_settings
    from testkit import make_sim, public_names, wait_for

    from viralspot_tui.core.engine import open_engine

    sim = make_sim(latency_ms=300)
    [name] = public_names(sim, 1, prefix="superseded")
    await enqueue(service, [name])
    settings = supa_settings(tmp_path, stack, "sup", reels_count=24)  # 30 s lease: no heartbeat meanwhile
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        notes: list[str] = []
        sup.runtime.events.subscribe(lambda e: notes.append(e.message) if e.kind == "supabase.note" else None)
        await sup.start()
        queue = sup.slots["queue"].processor
        await wait_for(lambda: queue.running, what="the item running here")
        await expire_leases(db)  # its lease ran out here, unnoticed, and another console took it
        assert [r["username"] for r in await claim(service, "other-console", 1)] == [name]
        box = OutboxStore(sup.runtime.db)
        await wait_for(lambda: any("superseded" in n for n in notes), timeout=30, what=lambda: str(notes))
        listing = await box.listing()
        await wait_for(lambda: sup.backend.state().outbox_depth == 0, timeout=15)
        await sup.stop(grace_seconds=0)
    [entry] = [e for e in listing["settled"] + listing["waiting"] if e.state == "superseded"]
    assert (
        entry.kind == "note" and name in (entry.reason or "") and "another console took the item over" in entry.reason
    )
    row = await db.fetchrow("SELECT status::text, lease_owner FROM public.queue WHERE username = $1", name)
    assert (row["status"], row["lease_owner"]) == ("PROCESSING", "other-console")  # the completion did not count
    assert await db.fetchval("SELECT count(*) FROM public.primary_profiles WHERE username = $1", name) == 1
