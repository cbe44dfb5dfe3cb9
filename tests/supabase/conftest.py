"""Fixtures for the Supabase tests: one throwaway PostgreSQL cluster per session, databases copied
from templates (bare or migrated), and one REST layer over a migrated database. Shared helpers live
in ``supa_stack`` (a unique module name, unlike conftest).

Where PostgreSQL is missing the tests skip with an install hint, except under ``CI=true``, where a
missing PostgreSQL fails them (CI must never pass by skipping the Supabase suite).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from supa_stack import BARE, TEMPLATE, Stack, make_client, new_database, postgres_or_skip  # noqa: E402, I001

import supabase_local  # noqa: E402  (on sys.path once supa_stack is imported)


def pytest_configure(config: pytest.Config) -> None:
    # supabase 2.x passes these to postgrest itself; nothing the tests can change
    for text in ("The 'timeout' parameter is deprecated", "The 'verify' parameter is deprecated"):
        config.addinivalue_line("filterwarnings", f"ignore:{text}:DeprecationWarning")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[supabase_local.PgCluster]:
    pg_bin = postgres_or_skip()
    root = Path(tempfile.mkdtemp(prefix="vs-supa-", dir="/tmp"))
    cluster = supabase_local.PgCluster(root, supabase_local.free_port(), pg_bin)
    try:
        cluster.init()
        cluster.start()
        for name in (BARE, TEMPLATE):
            cluster.create_database(name)
            cluster.bootstrap(name)
        supabase_local.apply_migrations(cluster, TEMPLATE)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(pg_cluster: supabase_local.PgCluster) -> Iterator[Stack]:
    """A migrated database served over REST, shared by the REST tests (each starts from an empty
    queue: see ``db``); the migration tests make databases of their own."""
    db = new_database(pg_cluster, TEMPLATE)
    rest = supabase_local.start_rest(pg_cluster, db, supabase_local.free_port(), pg_cluster.root)
    try:
        yield Stack(pg_cluster, db, rest.api_url, rest.impl, rest.pids)
    finally:
        supabase_local.stop_pids(rest.pids)


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[Any]:
    """A direct connection (as postgres) to the module's database; the queue starts empty, and so
    do the viral jobs (a pending one left by an earlier test would be taken by this test's engines)."""
    import asyncpg

    conn = await asyncpg.connect(stack.db_url)
    await conn.execute(
        "TRUNCATE public.queue, public.viralspot_consoles, public.viralspot_controls, public.viral_ideas_queue CASCADE"
    )
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def service(stack: Stack, db: Any) -> AsyncIterator[Any]:
    client = await make_client(stack.api_url, stack.service_key)
    try:
        yield client
    finally:
        await client.postgrest.aclose()


@pytest.fixture
async def anon(stack: Stack, db: Any) -> AsyncIterator[Any]:
    client = await make_client(stack.api_url, stack.anon_key)
    try:
        yield client
    finally:
        await client.postgrest.aclose()


@pytest.fixture
async def logged(db: Any) -> AsyncIterator[Any]:
    """The test database with the claims-log trigger on ``public.queue`` (removed afterwards)."""
    from supa_procs import CLAIMS_LOG_DDL, DROP_CLAIMS_LOG

    await db.execute(CLAIMS_LOG_DDL)
    try:
        yield db
    finally:
        await db.execute(DROP_CLAIMS_LOG)
