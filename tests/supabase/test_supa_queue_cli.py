"""``viralspot --backend supabase queue …`` acts on the shared remote queue (docs/supabase.md).

In-process with click's runner against the local stack; the remote rows are read back with a
direct PostgreSQL connection, and the local SQLite file is checked to hold none of them.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
from click.testing import CliRunner

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.main import cli


def _sql(stack: Any, query: str) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(stack.db_url)
        try:
            return [dict(r) for r in await conn.fetch(query)]
        finally:
            await conn.close()

    return asyncio.run(go())


def _run(stack: Any, data: Path, *args: str, key: str | None = None, backend_flag: bool = True) -> Any:
    env = {"SUPABASE_URL": stack.api_url, "SUPABASE_SERVICE_ROLE_KEY": key or stack.service_key}
    if not backend_flag:
        env["VIRALSPOT_QUEUE__BACKEND"] = "supabase"
    flags = ["--backend", "supabase"] if backend_flag else []
    return CliRunner().invoke(cli, ["--data-dir", str(data), *flags, *args], obj=CliState(), env=env)


def test_add_list_bump_retry_remove_act_on_the_remote_queue(tmp_path: Path, stack: Any) -> None:
    _sql(stack, "TRUNCATE public.queue")
    data = tmp_path / "d"
    added = _run(stack, data, "queue", "add", "alice", "@Bob", "bad name!")
    assert added.exit_code == 1, added.output
    assert "alice: added at LOW" in added.output and "bob: added at LOW" in added.output
    assert "refused: invalid username 'bad name!'" in added.output
    again = _run(stack, data, "queue", "add", "alice", "--priority", "high", backend_flag=False)  # env instead
    assert again.exit_code == 0 and "alice: raised to HIGH" in again.output
    rows = {r["username"]: r for r in _sql(stack, "SELECT username, priority::text, status::text FROM public.queue")}
    assert {n: (r["priority"], r["status"]) for n, r in rows.items()} == {
        "alice": ("HIGH", "PENDING"),
        "bob": ("LOW", "PENDING"),
    }

    listed = _run(stack, data, "queue", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(i["username"], i["priority"]) for i in json.loads(listed.output)] == [("alice", "HIGH"), ("bob", "LOW")]
    text = _run(stack, data, "queue", "list").output.splitlines()
    header, first = text[0], text[1]
    assert first.index("alice") == header.index("USERNAME"), text  # a uuid id keeps the columns aligned
    assert first.split()[0] == json.loads(listed.output)[0]["id"]

    bumped = _run(stack, data, "queue", "bump", "bob")
    assert bumped.exit_code == 0 and "bob is now HIGH (PENDING)" in bumped.output
    same = _run(stack, data, "queue", "bump", "bob")
    assert same.exit_code == 0 and "already HIGH" in same.output
    missing = _run(stack, data, "queue", "bump", "carol")
    assert missing.exit_code == 1 and "carol has no pending" in missing.output
    assert _sql(stack, "SELECT priority::text AS p FROM public.queue WHERE username = 'bob'") == [{"p": "HIGH"}]

    _sql(stack, "UPDATE public.queue SET status = 'FAILED', attempts = 3 WHERE username = 'bob'")
    retried = _run(stack, data, "queue", "retry", "bob")
    assert retried.exit_code == 0 and "bob queued again" in retried.output
    not_failed = _run(stack, data, "queue", "retry", "alice")
    assert not_failed.exit_code == 1 and "alice is PENDING, not FAILED" in not_failed.output

    removed = _run(stack, data, "queue", "remove", "alice")
    assert removed.exit_code == 0 and "alice removed from the queue (1 row(s))" in removed.output
    gone = _run(stack, data, "queue", "remove", "alice")
    assert gone.exit_code == 1 and "alice is not in the queue" in gone.output
    assert [r["username"] for r in _sql(stack, "SELECT username FROM public.queue")] == ["bob"]

    conn = sqlite3.connect(data / "viralspot.db")  # the remote queue's home is not this file
    try:
        assert conn.execute("SELECT count(*) FROM queue").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_wrong_or_missing_key_is_a_clear_exit_2_without_the_key(tmp_path: Path, stack: Any) -> None:
    bad_key = stack.service_key[:-4] + "abcd"
    result = _run(stack, tmp_path / "d", "queue", "list", key=bad_key)
    assert result.exit_code == 2, result.output
    assert "SUPABASE_SERVICE_ROLE_KEY" in result.output and bad_key not in result.output
    assert "Traceback" not in result.output
    env = {"SUPABASE_URL": "", "SUPABASE_SERVICE_ROLE_KEY": ""}
    missing = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "--backend", "supabase", "queue", "add", "x"], obj=CliState(), env=env
    )
    assert missing.exit_code == 2 and "SUPABASE_URL is not set" in missing.output


def test_invalid_names_are_refused_before_any_request(tmp_path: Path, stack: Any) -> None:
    # the URL points at a port nobody listens on: a request would fail with "cannot reach"
    env = {"SUPABASE_URL": "http://127.0.0.1:9", "SUPABASE_SERVICE_ROLE_KEY": stack.service_key}
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path / "d"), "--backend", "supabase", "queue", "add", "bad name!", "no..dots"],
        obj=CliState(),
        env=env,
    )
    assert result.exit_code == 2 and "invalid username" in result.output and "cannot reach" not in result.output
