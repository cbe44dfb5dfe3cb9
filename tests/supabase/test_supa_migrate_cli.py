"""``viralspot supabase migrate`` as an operator runs it: output, exit codes, no password shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import click
import pytest
from click.testing import CliRunner
from supa_stack import BARE, new_database
from supabase_local import MIGRATIONS

from viralspot_tui.cli import supabase_cmds


@pytest.fixture
def cli() -> click.Group:
    group = click.Group()
    supabase_cmds.register(group)
    return group


def test_migrate_applies_every_file_and_reports_it(cli: click.Group, pg_cluster: Any) -> None:
    db = new_database(pg_cluster, BARE)
    runner = CliRunner()
    result = runner.invoke(cli, ["supabase", "migrate", "--db-url", pg_cluster.url(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [a["file"] for a in report["applied"]] == sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert any("0 duplicate active row(s) merged" in n for a in report["applied"] for n in a["notices"])
    again = runner.invoke(cli, ["supabase", "migrate"], env={"SUPABASE_DB_URL": pg_cluster.url(db)})
    assert again.exit_code == 0 and f"applied {len(report['applied'])} migration(s)" in again.output

    async def tables() -> int:
        conn = await asyncpg.connect(pg_cluster.url(db))
        try:
            return await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()

    # the nine original tables, consoles, controls, the migration log; the outbox's clients and
    # rejections, crawler rounds, script keys (docs/supabase-results.md)
    assert asyncio.run(tables()) == 17  # and the web-form job leases


def test_migrate_lists_files_in_order(cli: click.Group) -> None:
    result = CliRunner().invoke(cli, ["supabase", "migrate", "--list"])
    assert result.exit_code == 0
    assert [line.rsplit("/", 1)[-1] for line in result.output.splitlines()] == sorted(
        p.name for p in MIGRATIONS.glob("*.sql")
    )


def test_migrate_usage_errors_exit_2_and_hide_the_password(cli: click.Group, pg_cluster: Any) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["supabase", "migrate"], env={"SUPABASE_DB_URL": ""})
    assert missing.exit_code == 2 and "SUPABASE_DB_URL is not set" in missing.output
    wrong = runner.invoke(cli, ["supabase", "migrate", "--db-url", "https://project.supabase.co"])
    assert wrong.exit_code == 2 and "postgresql://" in wrong.output
    url = f"postgresql://postgres:hunter2-secret@127.0.0.1:{pg_cluster.port}/no_such_db"
    refused = runner.invoke(cli, ["supabase", "migrate", "--db-url", url])
    assert refused.exit_code == 2 and "cannot connect" in refused.output
    assert "hunter2-secret" not in refused.output
    empty = runner.invoke(cli, ["supabase", "migrate", "--list", "--dir", "/nonexistent/folder"])
    assert empty.exit_code == 2 and "does not exist" in empty.output
