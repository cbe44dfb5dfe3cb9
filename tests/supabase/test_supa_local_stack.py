"""scripts/supabase_local.py as a person uses it (start, source env.sh, use, stop), and the rule
that a missing PostgreSQL skips the suite with an install hint but fails it under CI=true."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import supabase_local
from conftest import make_client
from supa_helpers import enqueue, rpc

SCRIPT = supabase_local.ROOT / "scripts" / "supabase_local.py"


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value.strip("'")
    return out


@pytest.fixture
def started(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = Path(f"/tmp/vs-supa-script-{os.getpid()}")
    done = subprocess.run([sys.executable, str(SCRIPT), "start", "--dir", str(root)], capture_output=True, text=True)
    try:
        assert done.returncode == 0, done.stderr
        assert "SERVICE" not in done.stdout and supabase_local.sign_key("service_role") not in done.stdout
        yield root, done.stdout
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "stop", "--dir", str(root)], capture_output=True, text=True)


async def test_start_writes_a_private_env_file_and_serves_a_migrated_project(started: Any) -> None:
    root, stdout = started
    env_file = root / "env.sh"
    assert f"source {env_file}" in stdout
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
    finally:
        await client.postgrest.aclose()


def test_stop_removes_everything(pg_cluster: Any) -> None:
    root = Path(f"/tmp/vs-supa-stop-{os.getpid()}")
    info = supabase_local.start_stack(root, migrate=False)
    assert supabase_local.stop_stack(root) is True
    assert not root.exists()
    assert all(not supabase_local._alive(pid) for pid in info.pids)
    assert supabase_local.stop_stack(root) is False


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "error")])
def test_missing_postgresql_skips_with_a_hint_but_fails_under_ci(ci: str, outcome: str, tmp_path: Path) -> None:
    env = dict(os.environ, PG_BIN=str(tmp_path / "no-postgres-here"), CI=ci)
    target = f"{Path(__file__).parent / 'test_supa_migrate_cli.py'}::test_migrate_applies_every_file_and_reports_it"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", target],
        capture_output=True,
        text=True,
        env=env,
        cwd=supabase_local.ROOT,
        timeout=120,
    )
    assert f"1 {outcome}" in done.stdout, done.stdout[-2000:]
    assert "apt-get install -y postgresql" in done.stdout
    assert (done.returncode == 0) == (outcome == "skipped")
