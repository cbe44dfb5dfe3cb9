"""scripts/supabase_local.py as a person uses it (start, source env.sh, use, stop), and the rule
that a missing PostgreSQL skips the suite with an install hint but fails it under CI=true."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import supabase_local
from postgrest.exceptions import APIError
from supa_helpers import enqueue, rpc
from supa_stack import make_client, postgres_or_skip

SCRIPT = supabase_local.ROOT / "scripts" / "supabase_local.py"


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value.strip("'")
    return out


async def _until_answered(client: Any, seconds: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await rpc(client, "queue_summary")
        except (APIError, httpx.HTTPError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _restarts_are_survived(client: Any, root: Path, state: dict[str, Any]) -> None:
    """PostgreSQL stopped: a clear 503 (PGRST001); started again: served again. The REST layer
    restarted on its port: served again. (Helpers the offline tests can use: see docs/supabase.md.)"""
    cluster = supabase_local.PgCluster(root, int(state["pg_port"]), Path(state["pg_bin"]))
    await asyncio.to_thread(cluster.stop)
    with pytest.raises(APIError) as info:
        await rpc(client, "queue_summary")
    assert info.value.code == "PGRST001"
    await asyncio.to_thread(cluster.start)
    assert (await _until_answered(client))["counts"][0]["count"] == 1, "no row lost"
    supabase_local.stop_pids(state["pids"])
    rest = await asyncio.to_thread(supabase_local.start_rest, cluster, "postgres", int(state["api_port"]), root)
    state["pids"] = rest.pids
    (root / "state.json").write_text(json.dumps(state))  # so the script's stop ends the new process too
    assert (await _until_answered(client))["counts"][0]["count"] == 1


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def started(pg_cluster: Any) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """A stack started by the script as a person would; stopped by the script at the end."""
    root = Path(f"/tmp/vs-supa-script-{os.getpid()}")
    done = _script("start", "--dir", str(root))
    try:
        assert done.returncode == 0, done.stderr
        yield root, done.stdout, json.loads((root / "state.json").read_text())
    finally:
        _script("stop", "--dir", str(root))


async def test_start_serves_a_migrated_project_and_stop_removes_everything(started: Any) -> None:
    root, stdout, state = started
    env_file = root / "env.sh"
    assert f"source {env_file}" in stdout
    assert supabase_local.sign_key("service_role") not in stdout, "keys go to the file, not the terminal"
    assert (env_file.stat().st_mode & 0o777) == 0o600, "keys are readable by their owner only"
    env = _env_file(env_file)
    assert set(env) == {
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_ANON_KEY",
        "SUPABASE_DB_URL",
        "SUPABASE_REST_IMPL",
    }
    again = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "start", "--dir", str(root), stderr=asyncio.subprocess.PIPE
    )
    _, err = await again.communicate()
    assert again.returncode == 2 and b"already holds a stack" in err
    client = await make_client(env["SUPABASE_URL"], env["SUPABASE_SERVICE_ROLE_KEY"])
    try:
        await enqueue(client, ["scripted"])
        assert (await rpc(client, "queue_summary"))["counts"] == [{"status": "PENDING", "priority": "LOW", "count": 1}]
        await _restarts_are_survived(client, root, state)
    finally:
        await client.postgrest.aclose()
    stop = await asyncio.create_subprocess_exec(sys.executable, str(SCRIPT), "stop", "--dir", str(root))
    assert await stop.wait() == 0
    assert not root.exists()
    assert all(not supabase_local._alive(pid) for pid in state["pids"])
    supabase_local.stop_pids(state["pids"])  # reap the REST process this test started (a zombie by now)


def test_missing_postgresql_skips_with_the_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path / "no-postgres-here"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y postgresql"):
        postgres_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and PostgreSQL is missing"):
        postgres_or_skip()


def test_under_ci_a_missing_postgresql_fails_the_run(tmp_path: Path) -> None:
    """End to end: the suite's exit status under CI=true is a failure, not a pass by skipping."""
    env = dict(os.environ, PG_BIN=str(tmp_path / "no-postgres-here"), CI="true")
    target = f"{Path(__file__).parent / 'test_supa_migrate_cli.py'}::test_migrate_applies_every_file_and_reports_it"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", target],
        capture_output=True,
        text=True,
        env=env,
        cwd=supabase_local.ROOT,
        timeout=120,
    )
    assert done.returncode != 0 and "1 error" in done.stdout, done.stdout[-2000:]
    assert "apt-get install -y postgresql" in done.stdout
