"""Runner processes on the local stack, and the claims log that proves who held what, when.

The multi-runner tests run each console as its own OS process (``viralspot --backend supabase
run --simulate --no-ui``, its own data folder, ``SUPABASE_URL``/``SUPABASE_SERVICE_ROLE_KEY``
pointing at the stack's REST layer), as consoles on several machines would.

The claims log is test-only DDL: a trigger on ``public.queue`` appends one row to
``public.test_claims_log`` whenever an item's lease token or status changes, with the old
values beside the new ones and the database clock (``now()``, the time the queue functions
compare leases with). ``check_claims`` reads it back: per item, the lease intervals of
different tokens never overlap, except a takeover of a lease that had run out.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from cli_kit import CLI, ENV, cli  # noqa: E402

__all__ = [
    "CLAIMS_LOG_DDL",
    "DROP_CLAIMS_LOG",
    "ClaimsReport",
    "check_claims",
    "claims_log",
    "cli",
    "kill9",
    "local_rows",
    "owner_pid",
    "rest_counts",
    "runner_env",
    "scraped",
    "start_runner",
    "stop_runner",
]

CLAIMS_LOG_DDL = """
CREATE TABLE IF NOT EXISTS public.test_claims_log (
  seq bigserial PRIMARY KEY,
  id uuid NOT NULL,
  username text NOT NULL,
  lease_owner text,
  lease_token uuid,
  status text NOT NULL,
  attempts int NOT NULL,
  old_owner text,
  old_token uuid,
  old_status text,
  old_expires_at timestamptz,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE FUNCTION public.test_log_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.test_claims_log (id, username, lease_owner, lease_token, status, attempts)
    VALUES (NEW.id, NEW.username, NEW.lease_owner, NEW.lease_token, NEW.status::text, NEW.attempts);
  ELSIF NEW.lease_token IS DISTINCT FROM OLD.lease_token OR NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO public.test_claims_log (id, username, lease_owner, lease_token, status, attempts,
                                        old_owner, old_token, old_status, old_expires_at)
    VALUES (NEW.id, NEW.username, NEW.lease_owner, NEW.lease_token, NEW.status::text, NEW.attempts,
            OLD.lease_owner, OLD.lease_token, OLD.status::text, OLD.lease_expires_at);
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS test_log_claims ON public.queue;
CREATE TRIGGER test_log_claims AFTER INSERT OR UPDATE ON public.queue
  FOR EACH ROW EXECUTE FUNCTION public.test_log_claims();
TRUNCATE public.test_claims_log;
"""
DROP_CLAIMS_LOG = """
DROP TRIGGER IF EXISTS test_log_claims ON public.queue;
DROP FUNCTION IF EXISTS public.test_log_claims();
DROP TABLE IF EXISTS public.test_claims_log;
"""


def runner_env(stack: Any, *, latency_ms: float, lease_seconds: float = 30.0, **extra: str) -> dict[str, str]:
    """The environment of a runner (or a control command) on ``stack``'s shared queue."""
    return {
        **ENV,
        "SUPABASE_URL": stack.api_url,
        "SUPABASE_SERVICE_ROLE_KEY": stack.service_key,
        "VIRALSPOT_SUPABASE__LEASE_SECONDS": str(lease_seconds),
        "VIRALSPOT_SIM_LATENCY_MS": str(latency_ms),
        "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "1000",
        "VIRALSPOT_QUEUE__SIMILAR_COUNT": "0",
        **extra,
    }


def start_runner(data: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``viralspot --backend supabase run --simulate --no-ui ARGS`` as its own process."""
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data), "--backend", "supabase", "run", "--simulate", "--no-ui", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_runner(proc: subprocess.Popen[str], timeout: float = 20) -> str:
    """Wait for a runner to exit (SIGKILL after ``timeout``); its stderr, for assertion messages."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err or ""


def owner_pid(owner: str | None) -> int | None:
    """The process id in a lease owner ``host:pid:uuid``."""
    if not owner:
        return None
    parts = owner.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def rest_counts(api_url: str) -> dict[str, int]:
    """The requests the REST layer served so far, by ``METHOD /path`` (pgrest_proxy.request_counter)."""
    with urllib.request.urlopen(f"{api_url}/_viralspot/requests", timeout=10) as resp:
        return {str(k): int(v) for k, v in json.loads(resp.read()).items()}


def local_rows(data: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a runner's own SQLite database (read-only; the runner may still be writing)."""
    path = data / "viralspot.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # the runner is still creating its database
        raise
    finally:
        conn.close()


def scraped(data: Path) -> set[str]:
    """The usernames a runner fetched itself (its local ``primary_profiles``)."""
    return {r[0] for r in local_rows(data, "SELECT username FROM primary_profiles")}


@dataclass
class ClaimsReport:
    completions: dict[str, int]  # username -> how many times it became COMPLETED
    takeovers: list[dict[str, Any]]  # a PROCESSING lease replaced by another token
    overlaps: list[dict[str, Any]]  # a lease replaced before it ran out: two holders at once
    holders: dict[str, list[str]]  # username -> the owners of its leases, in order


async def claims_log(db: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch("SELECT * FROM public.test_claims_log ORDER BY seq")]


def check_claims(log: list[dict[str, Any]]) -> ClaimsReport:
    """Per item, the lease intervals from the log: each starts when a fresh token takes the row
    PROCESSING and ends when the row leaves PROCESSING or another token replaces it. Replacing a
    token whose row was still PROCESSING is a takeover; it is legitimate only if the old lease
    had run out by the database clock at that moment, otherwise the item had two holders."""
    completions: dict[str, int] = {}
    takeovers: list[dict[str, Any]] = []
    overlaps: list[dict[str, Any]] = []
    holders: dict[str, list[str]] = {}
    for entry in log:
        name = entry["username"]
        if entry["status"] == "COMPLETED" and entry["old_status"] != "COMPLETED":
            completions[name] = completions.get(name, 0) + 1
        fresh = entry["status"] == "PROCESSING" and entry["lease_token"] != entry["old_token"]
        if fresh:
            holders.setdefault(name, []).append(entry["lease_owner"])
        if fresh and entry["old_status"] == "PROCESSING":
            ran_out = entry["old_expires_at"] is not None and entry["old_expires_at"] <= entry["at"]
            (takeovers if ran_out else overlaps).append(entry)
    return ClaimsReport(completions, takeovers, overlaps, holders)


def kill9(proc: subprocess.Popen[str]) -> str:
    """``kill -9`` the runner (this test's own child, by its id), reap it, close its pipe."""
    os.kill(proc.pid, 9)
    return stop_runner(proc, timeout=10)
