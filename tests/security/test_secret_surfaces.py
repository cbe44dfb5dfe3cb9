"""Keys never appear anywhere an operator or a file can see them (docs/real-apis.md, §9, §10).

End to end on the *real* provider path: keys set, no ``--simulate``, RapidAPI and OpenAI base
URLs pointed at a loopback simulator server (as ``viralspot simulate`` serves it), with 403 "not
subscribed" and timeouts injected. Every surface is then searched for the keys: headless logs in
JSON, ``status --json``, ``config show`` (text and JSON), ``queue list --json``, the published
engine state, every SQLite table, the raw database files and the CSV queue file. A fake
upstream that echoes the key in its error body covers provider exception text.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest
from testkit import make_settings, make_sim, public_names, wait_for

from viralspot_tui.sim import server as sim_server
from viralspot_tui.sim.simulator import key_hash

RAPID = "rk-live-7f3a9c2e11d04b8a"
OPENAI = "sk-live-5be0c1d2e3f4a5b6c7d8"
SUPABASE = "sb-service-role-0a1b2c3d4e5f"
SECRETS = (RAPID, OPENAI, SUPABASE)


def _assert_clean(where: str, text: str | bytes) -> None:
    blob = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    for secret in SECRETS:
        for form in {secret, secret[3:], secret[-12:]}:
            assert form.encode() not in blob, f"{form!r} (part of a key) found in {where}"


async def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "viralspot_tui.cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def _outcomes_shown(db: Path, ok: str, denied: str, slow: str) -> bool:
    if not db.exists():
        return False
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT username, status, last_error FROM queue")}
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return (
        rows.get(ok, ("",))[0] == "COMPLETED"
        and bool(rows.get(denied, ("", None))[1])
        and bool(rows.get(slow, ("", None))[1])
    )


async def test_real_provider_path_with_errors_leaks_no_key(tmp_path: Path) -> None:
    sim = make_sim(latency_ms=1.0, timeout_after_s=0.5)
    ok, denied, slow = public_names(sim, 3, prefix="secsurf")
    sim.inject("profile", "not_subscribed", count=5, match=denied)
    sim.inject("profile", "timeout", count=10, match=slow)
    data, queue_file = tmp_path / "data", tmp_path / "queue.csv"
    async with sim_server.running_server(sim) as base:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_")}
        env.update(
            {
                "RAPIDAPI_KEY": RAPID,
                "OPENAI_API_KEY": OPENAI,
                "OPENAI_BASE_URL": base + "/v1",
                "SUPABASE_URL": "https://project.supabase.example",
                "SUPABASE_SERVICE_ROLE_KEY": SUPABASE,
                "VIRALSPOT_QUEUE__REELS_COUNT": "12",
                "VIRALSPOT_QUEUE__SIMILAR_COUNT": "3",
                "VIRALSPOT_QUEUE__MAX_ATTEMPTS": "2",
                "VIRALSPOT_QUEUE__RETRY_BASE_SECONDS": "0.01",
                "VIRALSPOT_QUEUE__RETRY_MAX_SECONDS": "0.05",
                "VIRALSPOT_RAPIDAPI__TIMEOUT_SECONDS": "0.2",
                "VIRALSPOT_RAPIDAPI__RETRIES": "1",
                "VIRALSPOT_RAPIDAPI__BACKOFF_INITIAL": "0.01",
                "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "200",
                "VIRALSPOT_STATUS_INTERVAL_SECONDS": "0.5",
            }
        )
        common = ["--data-dir", str(data), "--rapidapi-base-url", base]
        code, out, err = await _cli(env, *common, "queue", "add", ok, denied, slow, "--priority", "high")
        assert code == 0, err
        # A 403 "not subscribed" holds the item for the operator (never idle), so the runner is
        # stopped with SIGTERM once every item shows its outcome: this also covers the shutdown path.
        runner = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "viralspot_tui.cli.main",
            *common,
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "run",
            "--no-ui",
            "--processors",
            "queue",
            "--queue-file",
            str(queue_file),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(lambda: _outcomes_shown(data / "viralspot.db", ok, denied, slow), timeout=40, interval=0.1)
        finally:
            runner.send_signal(signal.SIGTERM)
            out_b, err_b = await asyncio.wait_for(runner.communicate(), 30)
        out, err = out_b.decode(), err_b.decode()
        assert runner.returncode == 0, err[-3000:]
        _assert_clean("headless JSON logs", out + err)
        for line in err.strip().splitlines():
            json.loads(line)
        assert "not subscribed" in err.lower()
        surfaces = {
            "status --json": ("status", "--json"),
            "config show": ("config", "show"),
            "config show --json": ("config", "show", "--json"),
            "queue list --json": ("queue", "list", "--json"),
        }
        outputs = {}
        for name, args in surfaces.items():
            code, out, err = await _cli(env, *common, *args)
            assert code == 0, (name, err)
            _assert_clean(name, out + err)
            outputs[name] = out
    # the run really used the configured key (the simulator stores only a hash of it) and saw the faults
    assert key_hash(RAPID) in {c.api_key_hash for c in sim.stats.calls}
    assert sim.stats.count("profile", "not_subscribed") >= 1 and sim.stats.count("profile", "timeout") >= 1
    items = {i["username"]: i for i in json.loads(outputs["queue list --json"])}
    assert items[ok]["status"] == "COMPLETED"
    assert "not subscribed" in items[denied]["last_error"]
    assert "timed out" in items[slow]["last_error"]  # a config error halts the queue before its retry
    assert '"**********"' in outputs["config show --json"]

    conn = sqlite3.connect(data / "viralspot.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"queue", "runtime_state", "primary_profiles", "content"} <= set(tables)
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite_master
                _assert_clean(f"table {table}", repr(tuple(row)))
        [engine_state] = conn.execute("SELECT value FROM runtime_state WHERE key = 'engine'").fetchone()
        json.loads(engine_state)
    finally:
        conn.close()
    for file in sorted(data.iterdir()) + [queue_file]:
        _assert_clean(f"file {file.name}", file.read_bytes())


def _echoing_upstream(request: httpx.Request) -> httpx.Response:
    key = request.headers.get("x-rapidapi-key") or request.headers.get("authorization", "")
    return httpx.Response(
        401,
        json={
            "message": f"Invalid API key: {key}. \x1b[31mCheck your subscription\x1b[0m",
            "error": {"message": f"key {key} revoked"},
        },
    )


@pytest.mark.parametrize("endpoint", ["profile", "reels", "similar", "transcript", "chat"])
async def test_provider_errors_never_echo_a_key(tmp_path: Path, endpoint: str) -> None:
    from pydantic import BaseModel

    from viralspot_tui.core.providers.errors import ConfigurationError, ProviderError
    from viralspot_tui.core.providers.factory import Providers

    class Answer(BaseModel):
        text: str

    settings = make_settings(
        tmp_path,
        simulate=False,
        rapidapi={"key": RAPID, "retries": 0},
        openai={"api_key": OPENAI, "base_url": "https://openai.example/v1"},
    )
    async with Providers.create(settings, transport=httpx.MockTransport(_echoing_upstream)) as providers:
        calls = {
            "profile": lambda: providers.instagram.profile("alice"),
            "reels": lambda: providers.instagram.reels_page("alice"),
            "similar": lambda: providers.instagram.similar("alice"),
            "transcript": lambda: providers.transcripts.fetch("AbC123"),
            "chat": lambda: providers.ai.structured("hooks", [{"role": "user", "content": "hi"}], Answer),
        }
        with pytest.raises(ProviderError) as info:
            await calls[endpoint]()
        quota = json.dumps({n: q.as_dict() for n, q in providers.quota_snapshot().items()})
    error = info.value
    assert isinstance(error, ConfigurationError) and error.status == 401
    for text in (str(error), error.detail, repr(error), quota):
        _assert_clean("provider error text", text)
        assert "\x1b" not in text and "\n" not in text
    assert "Invalid API key" in str(error) or "revoked" in str(error)


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_a_crashing_headless_run_logs_a_redacted_error_not_a_raw_traceback(tmp_path: Path, fmt: str) -> None:
    import sqlite3

    # A database whose runtime_state table has another shape: an internal error, not a usage error
    # (a queue "file" that is a folder, the earlier trigger, is now a configuration error, exit 2).
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "viralspot.db") as conn:
        conn.execute("CREATE TABLE runtime_state (key TEXT)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_")}
    env.update(
        {
            "RAPIDAPI_KEY": RAPID,
            "OPENAI_API_KEY": OPENAI,
            "SUPABASE_SERVICE_ROLE_KEY": SUPABASE,
            "VIRALSPOT_SIM_LATENCY_MS": "1",
        }
    )
    code, out, err = await _cli(
        env,
        "--data-dir",
        str(tmp_path / "data"),
        "--log-format",
        fmt,
        "--simulate",
        "run",
        "--no-ui",
        "--exit-when-idle",
        "--processors",
        "queue",
    )
    assert code == 1, err
    _assert_clean("crash output", out + err)
    assert err.rstrip().splitlines()[-1].startswith("error: the runner stopped on an error: OperationalError")
    if fmt == "json":  # the traceback went through the (redacting) log formatter, nowhere else
        for line in err.rstrip().splitlines()[:-1]:
            assert "Traceback" in json.loads(line).get("exception", "Traceback")
