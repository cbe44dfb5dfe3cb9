"""What the Supabase tests share, under a module name of its own (``conftest`` is ambiguous when
several test folders have one): the stack's handles, clients, databases and the PostgreSQL check.
"""

from __future__ import annotations

import itertools
import os
import sys
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


def new_database(cluster: supabase_local.PgCluster, template: str) -> str:
    name = f"t{os.getpid()}_{next(_names)}"
    cluster.create_database(name, template=template)
    return name


async def make_client(url: str, key: str) -> Any:
    from supabase.lib.client_options import AsyncClientOptions

    from supabase import acreate_client

    options = AsyncClientOptions(postgrest_client_retry=False, auto_refresh_token=False, persist_session=False)
    return await acreate_client(url, key, options)
