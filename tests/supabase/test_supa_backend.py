"""The Supabase backend against the real local stack: runners drain a shared remote queue.

Engines run in this process with the simulator transport (each with its own data folder, as
consoles on different machines would); the remote rows and each engine's local content tables
are read afterwards to check every item was completed once, by one runner.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import claim, enqueue  # noqa: E402
from testkit import make_settings, make_sim, public_names  # noqa: E402

from viralspot_tui.core.headless import run_headless  # noqa: E402


def supa_settings(tmp_path: Path, stack: Any, name: str, **queue: Any) -> Any:
    return make_settings(
        tmp_path / name,
        queue={"backend": "supabase", "max_concurrent": 8, "reels_count": 6, "similar_count": 2, **queue},
        supabase={"url": stack.api_url, "service_role_key": stack.service_key, "lease_seconds": 30},
    )


async def drain(settings: Any, sim: Any) -> int:
    """One headless queue runner in this process, until the shared queue has nothing for it."""
    return await asyncio.wait_for(
        run_headless(settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)),
        timeout=120,
    )


async def local_usernames(settings: Any) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(settings.db_path)
    try:
        return [r[0] for r in conn.execute("SELECT username FROM primary_profiles")]
    finally:
        conn.close()


async def test_one_runner_drains_a_remote_queue(tmp_path, stack, db, service):
    sim = make_sim()
    names = public_names(sim, 50, prefix="solo")
    await enqueue(service, names)
    settings = supa_settings(tmp_path, stack, "one")
    assert await drain(settings, sim) == 0
    rows = await db.fetch("SELECT username, status, attempts, lease_owner FROM public.queue")
    assert sorted(r["username"] for r in rows) == sorted(names)
    assert {r["status"] for r in rows} == {"COMPLETED"}, Counter(r["status"] for r in rows)
    assert {r["attempts"] for r in rows} == {1}
    assert sorted(await local_usernames(settings)) == sorted(names)
    consoles = await db.fetchval("SELECT count(*) FROM public.viralspot_consoles")
    assert consoles == 0  # the runner left the registry at its stop


async def test_three_runners_share_a_queue_without_processing_an_item_twice(tmp_path, stack, db, service):
    sim = make_sim()
    names = public_names(sim, 210, prefix="shared")
    await enqueue(service, names)
    all_settings = [supa_settings(tmp_path, stack, f"r{i}", max_concurrent=6) for i in range(3)]
    codes = await asyncio.wait_for(
        asyncio.gather(
            *(
                run_headless(s, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",))
                for s in all_settings
            )
        ),
        timeout=240,
    )
    assert codes == [0, 0, 0]
    rows = await db.fetch("SELECT username, status, attempts, lease_owner FROM public.queue")
    assert len(rows) == len(names)
    assert {r["status"] for r in rows} == {"COMPLETED"}, Counter(r["status"] for r in rows)
    assert {r["attempts"] for r in rows} == {1}  # never claimed twice
    per_runner = [await local_usernames(s) for s in all_settings]
    processed = Counter(name for names_of in per_runner for name in names_of)
    assert sorted(processed) == sorted(names)
    assert max(processed.values()) == 1  # no runner fetched a profile another one fetched
    assert all(per_runner), [len(p) for p in per_runner]  # each runner did part of the work
    owners = Counter(r["lease_owner"] for r in rows)
    assert len(owners) == 3


async def test_a_wrong_key_or_unreachable_server_stops_the_start_naming_the_variable(tmp_path, stack, db):
    import pytest
    import supabase_local

    from viralspot_tui.config import ConfigError

    sim = make_sim()
    settings = supa_settings(tmp_path, stack, "badkey")
    bad_key = stack.service_key[:-4] + "abcd"
    settings.supabase.service_role_key = SecretStr(bad_key)
    with pytest.raises(ConfigError) as info:
        await run_headless(
            settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)
        )
    assert "SUPABASE_SERVICE_ROLE_KEY" in str(info.value) and bad_key not in str(info.value)
    assert await db.fetchval("SELECT count(*) FROM public.viralspot_consoles") == 0

    settings = supa_settings(tmp_path, stack, "nowhere")
    settings.supabase.url = f"http://127.0.0.1:{supabase_local.free_port()}"
    with pytest.raises(ConfigError, match="cannot reach the server .*SUPABASE_URL"):
        await run_headless(
            settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)
        )


async def test_a_batch_runner_waits_out_a_dead_consoles_leases_and_takes_its_items_over(tmp_path, stack, db, service):
    """``--exit-when-idle`` does not stop while another console holds items: here that console is
    dead, so its items come back when its lease runs out and the batch runner finishes them."""
    sim = make_sim()
    names = public_names(sim, 6, prefix="orphan")
    await enqueue(service, names)
    held = await claim(service, "dead-console", 4, lease_seconds=2)
    assert len(held) == 4
    settings = supa_settings(tmp_path, stack, "batch")
    assert await drain(settings, sim) == 0
    rows = await db.fetch("SELECT username, status, lease_owner FROM public.queue WHERE username LIKE 'orphan%'")
    assert {r["status"] for r in rows} == {"COMPLETED"}, [dict(r) for r in rows]
    assert sorted(await local_usernames(settings)) == sorted(names)
