"""The shared Supabase queue on the local stack: scale-out and REST calls per item (docs/supabase.md).

The stack is the one ``scripts/supabase_local.py start`` makes (a throwaway PostgreSQL cluster,
Supabase's roles, the migrations, the REST layer: PostgREST if installed, else the compatible
test server). Runners are separate processes, ``viralspot --backend supabase run --simulate
--no-ui --exit-when-idle``, each with its own data folder and simulator (200 ms per call),
pointed at the stack with ``SUPABASE_URL``/``SUPABASE_SERVICE_ROLE_KEY``.

1. **Scale-out.** The queue is filled (straight into PostgreSQL, not timed), then 1 runner, and
   in a second round 3 runners, drain it with 8 slots each. The drain rate is read from the
   remote rows' ``completed_at`` (database clock) over the middle 80 % of completions, so
   process start-up and the last stragglers are not in it. Figure: rate(3) ÷ rate(1), bar ≥ 2.5.
2. **REST calls per completed item** at 8 concurrent items (the 1-runner round): the REST layer
   counts the requests it serves (``GET /_viralspot/requests``, tests/supabase/pgrest_proxy.py),
   so this counts what arrived, not what the client meant to send. Figure: (``queue_claim`` +
   ``queue_complete`` + ``queue_heartbeat``) ÷ completed items, bar ≤ 1; a completion that also
   claims the next item is one call. Every other call (console beats, summaries) is shown beside it.

``--quick`` drains fewer items.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ._common import Row, temp_dir
from ._engine import make_simulator, public_usernames

NAME = "supabase"
ROOT = Path(__file__).resolve().parents[1]
LATENCY_MS = 200.0
SLOTS = 8
SCALE_BAR = 2.5
CALLS_BAR = 1.0
QUEUE_CALLS = ("POST /rpc/queue_claim", "POST /rpc/queue_complete", "POST /rpc/queue_heartbeat")
CLI = [sys.executable, "-m", "viralspot_tui.cli.main"]


def _stack_module() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    import supabase_local

    return supabase_local


def _counts(api_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{api_url}/_viralspot/requests", timeout=10) as resp:
        return {str(k): int(v) for k, v in json.loads(resp.read()).items()}


def _env(info: Any) -> dict[str, str]:
    return {
        **os.environ,
        **info.env(),
        "VIRALSPOT_SIM_LATENCY_MS": str(LATENCY_MS),
        "VIRALSPOT_RAPIDAPI__REQUESTS_PER_SECOND": "1000",  # divided among the live consoles: never the limit here
        "VIRALSPOT_LOG_LEVEL": "warning",
        "VIRALSPOT_STATUS_INTERVAL_SECONDS": "60",
    }


async def _fill(db_url: str, names: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("TRUNCATE public.queue, public.viralspot_consoles")
        items = [{"username": n, "priority": "LOW", "source": "bench"} for n in names]
        await conn.execute("SELECT count(*) FROM public.queue_enqueue($1::jsonb)", json.dumps(items))
    finally:
        await conn.close()


async def _completions(db_url: str) -> tuple[list[float], int]:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT status::text AS status, extract(epoch FROM completed_at) AS t FROM public.queue"
        )
    finally:
        await conn.close()
    done = sorted(float(r["t"]) for r in rows if r["status"] == "COMPLETED")
    return done, len(rows) - len(done)


def _steady_rate(times: list[float]) -> float:
    """Completions per second over the middle 80 % of the completions."""
    lo, hi = int(len(times) * 0.1), int(len(times) * 0.9) - 1
    span = times[hi] - times[lo]
    return (hi - lo) / span if span > 0 else float("nan")


def _drain(info: Any, root: Path, names: list[str], runners: int) -> dict[str, Any]:
    asyncio.run(_fill(info.db_url, names))
    before = _counts(info.api_url)
    env = _env(info)
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [*CLI, "--data-dir", str(root / f"r{runners}-{i}"), "--backend", "supabase"]
            + ["run", "--simulate", "--no-ui", "--exit-when-idle", "--max-concurrent", str(SLOTS)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(runners)
    ]
    errors = []
    for proc in procs:
        try:
            errors.append(proc.communicate(timeout=600)[1])
        except subprocess.TimeoutExpired:
            proc.kill()
            errors.append(proc.communicate()[1])
    wall = time.monotonic() - t0
    failed = [e.strip()[-300:] for p, e in zip(procs, errors) if p.returncode != 0]
    if failed:
        raise RuntimeError(f"a runner exited with an error: {failed[0]}")
    after = _counts(info.api_url)
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    done, left = asyncio.run(_completions(info.db_url))
    if left:
        raise RuntimeError(f"{left} item(s) not COMPLETED after the runners exited")
    return {"rate": _steady_rate(done), "calls": calls, "done": len(done), "wall": wall}


def _measure(quick: bool) -> dict[str, Any]:
    supabase_local = _stack_module()
    sim = make_simulator(latency_ms=LATENCY_MS)
    n1, n3 = (60, 180) if quick else (200, 600)
    names = public_usernames(sim, n1 + n3, prefix="supa_bench_")
    # the cluster's own folder, directly under /tmp: the postgres user must reach it (docs/supabase.md)
    stack_dir = Path(tempfile.mkdtemp(prefix="viralspot-bench-supastack-", dir="/tmp"))
    with temp_dir("supabase") as root:
        try:
            info = supabase_local.start_stack(stack_dir)
            one = _drain(info, root, names[:n1], 1)
            three = _drain(info, root, names[n1:], 3)
        finally:
            if not supabase_local.stop_stack(stack_dir):
                shutil.rmtree(stack_dir, ignore_errors=True)
    return {"one": one, "three": three, "impl": info.rest_impl}


def run(quick: bool = False) -> list[Row]:
    supabase_local = _stack_module()
    if supabase_local.find_pg_bin() is None:
        return [Row(NAME, f"not run: {supabase_local.INSTALL_HINT}", "n/a")]
    m = _measure(quick)
    one, three = m["one"], m["three"]
    scale = three["rate"] / one["rate"]
    queue_calls = sum(one["calls"].get(k, 0) for k in QUEUE_CALLS)
    per_item = queue_calls / one["done"]
    split = ", ".join(f"{k.rsplit('_', 1)[1]} {one['calls'].get(k, 0)}" for k in QUEUE_CALLS)
    others = sorted((k, v) for k, v in one["calls"].items() if k not in QUEUE_CALLS)
    other_text = ", ".join(f"{k.rsplit('/', 1)[-1]} {v}" for k, v in others) or "none"
    three_calls = sum(three["calls"].get(k, 0) for k in QUEUE_CALLS) / three["done"]
    return [
        Row(
            NAME,
            f"drain items/s: 1 runner, {SLOTS} slots, {LATENCY_MS:.0f} ms per call ({one['done']} items, REST {m['impl']})",
            f"{one['rate']:.1f}",
        ),
        Row(NAME, f"drain items/s: 3 runner processes ({three['done']} items)", f"{three['rate']:.1f}"),
        Row(NAME, "drain rate 3 runners ÷ 1 runner", f"{scale:.2f}x", f">= {SCALE_BAR}", scale >= SCALE_BAR, "ratio"),
        Row(
            NAME,
            f"REST calls per completed item, claim+complete+heartbeat, {SLOTS} concurrent ({split})",
            f"{per_item:.2f}",
            f"<= {CALLS_BAR:g}",
            per_item <= CALLS_BAR,
            "ratio",
        ),
        Row(
            NAME,
            f"other REST calls per completed item, same run ({other_text})",
            f"{sum(v for _, v in others) / one['done']:.2f}",
            kind="ratio",
        ),
        Row(
            NAME,
            "REST calls per completed item, claim+complete+heartbeat, 3 runners",
            f"{three_calls:.2f}",
            kind="ratio",
        ),
    ]


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
