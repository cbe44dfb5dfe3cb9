"""The migrations on an empty project and on a project holding the original ViralSpot schema with rows.

Direct database connections only (no REST): what is checked is the database's shape and data.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from supa_stack import BARE, FIXTURES, new_database
from supabase_local import MIGRATIONS

from viralspot_tui.core.backends.supabase_migrate import MigrationError, apply_migrations, redact_dsn

ORIGINAL_TABLES = (
    "queue",
    "primary_profiles",
    "content",
    "secondary_profiles",
    "viral_ideas_queue",
    "viral_ideas_competitors",
    "viral_analysis_results",
    "viral_analysis_reels",
    "viral_scripts",
)

_SHAPE = (
    "SELECT table_name, column_name, data_type, character_maximum_length, column_default, is_nullable,"
    " udt_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2",
    "SELECT p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)), p.proacl::text, p.prosecdef, p.proconfig::text"
    " FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' ORDER BY 1",
    "SELECT tgrelid::regclass::text, tgname, tgfoid::regproc::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
    "SELECT relname, relkind::text, relrowsecurity, relacl::text, reloptions::text FROM pg_class"
    " WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text FROM pg_type t"
    " JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = 'public'::regnamespace GROUP BY 1 ORDER BY 1",
    "SELECT pg_get_viewdef('public.queue_stats'::regclass)",
)


async def snapshot(conn: Any) -> dict[str, Any]:
    """Everything a migration could change: the shape of public, and every row of every table."""
    shape = [[tuple(r) for r in await conn.fetch(q)] for q in _SHAPE]
    tables = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
    data = {}
    for t in tables:
        data[t] = await conn.fetchval(
            f"SELECT count(*)::text || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM public.\"{t}\" x"
        )
    return {"shape": shape, "data": data}


async def migrated_bare(pg_cluster: Any, with_fixture: bool) -> tuple[str, Any]:
    db = new_database(pg_cluster, BARE)
    if with_fixture:
        pg_cluster.psql((FIXTURES / "original_schema.sql").read_text(), db=db)
    return db, await asyncpg.connect(pg_cluster.url(db))


async def columns(conn: Any, table: str) -> dict[str, tuple[str, Any]]:
    rows = await conn.fetch(
        "SELECT column_name, udt_name, character_maximum_length FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1",
        table,
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def test_empty_project_gets_the_original_tables_and_the_console_parts(pg_cluster: Any) -> None:
    db, conn = await migrated_bare(pg_cluster, with_fixture=False)
    try:
        await apply_migrations(pg_cluster.url(db), MIGRATIONS)
        for table in ORIGINAL_TABLES:
            assert await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{table}"), table
        no_rls = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND NOT relrowsecurity"
        )
        assert no_rls == [], "every table has row-level security"
        labels = await conn.fetchval("SELECT enum_range(NULL::public.queue_status)::text")
        assert labels == "{PENDING,PROCESSING,COMPLETED,FAILED,PAUSED}"
        assert await conn.fetchval("SELECT enum_range(NULL::public.queue_priority)::text") == "{HIGH,LOW}"
        queue = await columns(conn, "queue")
        for col in ("lease_owner", "lease_token", "lease_expires_at", "not_before", "max_attempts", "completed_at"):
            assert col in queue
        assert queue["username"] == ("varchar", 255) and queue["request_id"] == ("varchar", 50)
        assert queue["priority"][0] == "queue_priority" and queue["status"][0] == "queue_status"
        # functions: SECURITY DEFINER, fixed search_path, executable by service_role only
        funcs = await conn.fetch(
            "SELECT p.oid::regprocedure::text AS sig, p.prosecdef, p.proconfig,"
            " has_function_privilege('anon', p.oid, 'EXECUTE') AS anon,"
            " has_function_privilege('authenticated', p.oid, 'EXECUTE') AS authed,"
            " has_function_privilege('service_role', p.oid, 'EXECUTE') AS service"
            " FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
            " AND (p.proname LIKE 'queue\\_%' OR p.proname LIKE 'console\\_%' OR p.proname LIKE 'control\\_%')"
        )
        assert len(funcs) >= 12
        for f in funcs:
            assert f["prosecdef"], f["sig"]
            assert f["proconfig"] == ['search_path=""'], f["sig"]
            assert (f["anon"], f["authed"], f["service"]) == (False, False, True), f["sig"]
    finally:
        await conn.close()


async def test_original_project_keeps_every_row_and_resolves_duplicates(pg_cluster: Any) -> None:
    db, conn = await migrated_bare(pg_cluster, with_fixture=True)
    try:
        before = await snapshot(conn)
        before_cols = {t: await columns(conn, t) for t in ORIGINAL_TABLES}
        results = await apply_migrations(pg_cluster.url(db), MIGRATIONS)
        after = await snapshot(conn)
        for table in ORIGINAL_TABLES:
            counts = (int(before["data"][table][:-32]), int(after["data"][table][:-32]))
            assert counts[0] == counts[1], f"{table}: rows {counts}"
            # every original column is still there with its type
            now_cols = await columns(conn, table)
            for col, typ in before_cols[table].items():
                assert now_cols[col] == typ, f"{table}.{col}"
        for table in ORIGINAL_TABLES[1:]:
            assert after["data"][table] == before["data"][table], f"{table} rows unchanged"

        rows = {str(r["id"])[-2:]: r for r in await conn.fetch("SELECT * FROM public.queue")}
        assert len(rows) == 14
        # dup_one: the HIGH row is kept; dup_two: the PROCESSING row is kept and raised to HIGH;
        # dup_three: the oldest (PAUSED) row is kept. The others are FAILED, naming the kept row.
        kept = {"02": "PENDING", "04": "PROCESSING", "07": "PAUSED"}
        merged = {"01": "02", "03": "04", "05": "07", "06": "07"}
        for suffix, status in kept.items():
            assert rows[suffix]["status"] == status
        assert rows["04"]["priority"] == "HIGH"
        for suffix, into in merged.items():
            assert rows[suffix]["status"] == "FAILED"
            assert str(rows[into]["id"]) in rows[suffix]["error_message"]
        active = await conn.fetch(
            "SELECT username, count(*) FROM public.queue WHERE status IN ('PENDING','PROCESSING','PAUSED') GROUP BY 1"
        )
        assert all(n == 1 for _, n in active)
        assert rows["12"]["max_attempts"] == 6, "an exhausted active row gets one more attempt"
        assert rows["09"]["completed_at"] is not None and rows["09"]["status"] == "COMPLETED"
        log = await conn.fetch("SELECT step, rows_changed FROM public.viralspot_migration_log ORDER BY id")
        assert [tuple(r) for r in log] == [
            ("merge duplicate active rows", 5),
            ("raise max_attempts of exhausted active rows", 1),
            ("backfill completed_at", 3),
        ]
        notices = [n for r in results for n in r.notices if n.startswith("viralspot migration")]
        assert notices and "4 duplicate active row(s) merged (1 kept row(s) raised to HIGH)" in notices[0]

        # The original's pieces are kept and still work beside the console's.
        policies = await conn.fetch("SELECT policyname FROM pg_policies WHERE tablename = 'queue'")
        assert [p[0] for p in policies] == ["Enable all operations for authenticated users"]
        triggers = await conn.fetch(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.queue'::regclass AND NOT tgisinternal"
        )
        assert [t[0] for t in triggers] == ["update_queue_updated_at"]
        stats = {r["status"]: r["count"] for r in await conn.fetch("SELECT * FROM public.queue_stats")}
        assert stats == {"PENDING": 3, "PROCESSING": 1, "PAUSED": 1, "COMPLETED": 3, "FAILED": 6}
        # the original's own insert (no console columns) still works; the trigger still stamps updated_at
        new_id = await conn.fetchval("INSERT INTO public.queue (username) VALUES ('from_original') RETURNING id")
        row = await conn.fetchrow("SELECT * FROM public.queue WHERE id = $1", new_id)
        assert (row["priority"], row["status"], row["attempts"], row["max_attempts"]) == ("LOW", "PENDING", 0, 3)
        await conn.execute("UPDATE public.queue SET source = 'api' WHERE id = $1", new_id)
        assert await conn.fetchval("SELECT updated_at > $2 FROM public.queue WHERE id = $1", new_id, row["updated_at"])
    finally:
        await conn.close()


@pytest.mark.parametrize("with_fixture", [False, True], ids=["empty", "original"])
async def test_applying_twice_changes_nothing(pg_cluster: Any, with_fixture: bool) -> None:
    db, conn = await migrated_bare(pg_cluster, with_fixture=with_fixture)
    try:
        await apply_migrations(pg_cluster.url(db), MIGRATIONS)
        first = await snapshot(conn)
        results = await apply_migrations(pg_cluster.url(db), MIGRATIONS)
        assert await snapshot(conn) == first
        notice = next(n for r in results for n in r.notices if n.startswith("viralspot migration"))
        assert "0 duplicate active row(s) merged" in notice
    finally:
        await conn.close()


async def test_one_remote_shape_for_both_cases(pg_cluster: Any) -> None:
    """A project the console created holds every original column with the original's type."""
    empty_db, empty = await migrated_bare(pg_cluster, with_fixture=False)
    orig_db, orig = await migrated_bare(pg_cluster, with_fixture=True)
    try:
        await apply_migrations(pg_cluster.url(empty_db), MIGRATIONS)
        await apply_migrations(pg_cluster.url(orig_db), MIGRATIONS)
        for table in ORIGINAL_TABLES:
            assert await columns(empty, table) == await columns(orig, table), table
    finally:
        await empty.close()
        await orig.close()


async def test_a_failing_migration_names_its_file_and_hides_the_password(pg_cluster: Any, tmp_path: Any) -> None:
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS public.fine (id int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE public.fine (id int);")
    db = new_database(pg_cluster, BARE)
    with pytest.raises(MigrationError, match=r"002_bad\.sql: 42P07"):
        await apply_migrations(pg_cluster.url(db), tmp_path)
    dsn = f"postgresql://someone:s3cret-pw@127.0.0.1:{pg_cluster.port}/nope"
    with pytest.raises(MigrationError) as info:
        await apply_migrations(dsn, tmp_path)
    assert "s3cret-pw" not in str(info.value) and "***" in str(info.value)
    assert redact_dsn(dsn) == f"postgresql://someone:***@127.0.0.1:{pg_cluster.port}/nope"
