"""Fixtures for the Supabase tests: one throwaway PostgreSQL cluster per session, databases copied
from templates (bare or migrated), and one REST layer over a migrated database.

Where PostgreSQL is missing the tests skip with an install hint, except under ``CI=true``, where a
missing PostgreSQL fails them (CI must never pass by skipping the Supabase suite).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import supabase_local  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE = "vs_template"  # bootstrapped and migrated
BARE = "vs_bare"  # bootstrapped (roles, auth, extensions), no migrations: an empty Supabase project
_names = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    # supabase 2.x passes these to postgrest itself; nothing the tests can change
    for text in ("The 'timeout' parameter is deprecated", "The 'verify' parameter is deprecated"):
        config.addinivalue_line("filterwarnings", f"ignore:{text}:DeprecationWarning")


@dataclass
class Stack:
    cluster: supabase_local.PgCluster
    db: str
    api_url: str
    rest_impl: str
    pids: list[int]

    @property
    def db_url(self) -> str:
        return self.cluster.url(self.db)

    @property
    def service_key(self) -> str:
        return supabase_local.sign_key("service_role")

    @property
    def anon_key(self) -> str:
        return supabase_local.sign_key("anon")


def postgres_or_skip() -> Path:
    """PostgreSQL's bin folder; a skip with the install hint where it is missing, a failure under CI=true."""
    pg_bin = supabase_local.find_pg_bin()
    if pg_bin is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and PostgreSQL is missing: {supabase_local.INSTALL_HINT}")
        pytest.skip(supabase_local.INSTALL_HINT)
    return pg_bin


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


def new_database(cluster: supabase_local.PgCluster, template: str) -> str:
    name = f"t{os.getpid()}_{next(_names)}"
    cluster.create_database(name, template=template)
    return name


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
    """A direct connection (as postgres) to the module's database; the queue starts empty."""
    import asyncpg

    conn = await asyncpg.connect(stack.db_url)
    await conn.execute("TRUNCATE public.queue, public.viralspot_consoles")
    try:
        yield conn
    finally:
        await conn.close()


async def make_client(url: str, key: str) -> Any:
    from supabase.lib.client_options import AsyncClientOptions

    from supabase import acreate_client

    options = AsyncClientOptions(postgrest_client_retry=False, auto_refresh_token=False, persist_session=False)
    return await acreate_client(url, key, options)


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
