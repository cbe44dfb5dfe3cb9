"""Consoles sharing one Supabase queue agree through ``console_beat`` (docs/supabase.md,
"Consoles sharing a queue"): a pause set on one machine pauses every console, ``status`` shows
the shared queue, consoles sending with one RapidAPI key divide its rate, and names found here
(the crawler's) go to the shared queue instead of running unleased.

Engines run in this process on the simulator transport, each with its own data folder (as on
separate machines); the CLI runs in a thread, as an operator's command on yet another machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supa_helpers import enqueue  # noqa: E402
from test_supa_backend import local_usernames, supa_settings  # noqa: E402
from testkit import make_sim, public_names, wait_for  # noqa: E402

from viralspot_tui.cli.common import CliState  # noqa: E402
from viralspot_tui.cli.main import cli  # noqa: E402
from viralspot_tui.core.engine import open_engine  # noqa: E402


async def elsewhere(tmp_path: Path, stack: Any, *args: str) -> Any:
    """``viralspot --backend supabase …`` from another machine (its own data folder)."""
    env = {"SUPABASE_URL": stack.api_url, "SUPABASE_SERVICE_ROLE_KEY": stack.service_key}
    argv = ["--data-dir", str(tmp_path / "elsewhere"), "--backend", "supabase", *args]
    result = await asyncio.to_thread(CliRunner().invoke, cli, argv, obj=CliState(), env=env)
    assert stack.service_key not in result.output
    return result


async def statuses(db: Any) -> dict[str, str]:
    return {r["username"]: r["status"] for r in await db.fetch("SELECT username, status::text FROM public.queue")}


async def test_pause_on_one_machine_pauses_every_console_and_status_shows_it(tmp_path, stack, db, service):
    sim = make_sim()
    names = public_names(sim, 6, prefix="switch")
    await enqueue(service, names)
    paused = await elsewhere(tmp_path, stack, "pause", "queue")
    assert paused.exit_code == 0, paused.output
    assert "paused for every console" in paused.output

    settings = supa_settings(tmp_path, stack, "a")
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        await sup.start()
        await wait_for(lambda: sup.is_paused("queue"), timeout=10, what="the queue paused by the shared switch")
        assert set((await statuses(db)).values()) == {"PENDING"}  # nothing claimed while the switch is on
        switch = await db.fetchrow("SELECT updated_at, updated_by FROM public.viralspot_controls")
        beats = sup.backend.presence.beats
        await wait_for(lambda: sup.backend.presence.beats >= beats + 2, timeout=10, what="two more beats")
        # obeying the switch does not set it again (which would make every console re-apply it)
        assert await db.fetchrow("SELECT updated_at, updated_by FROM public.viralspot_controls") == switch

        shown = await elsewhere(tmp_path, stack, "status", "--json")
        assert shown.exit_code == 0, shown.output
        shared = json.loads(shown.output)["shared_queue"]
        assert shared["paused"] is True and shared["paused_by"]
        assert shared["queue"] == {"LOW": {"PENDING": 6}}
        assert [c["console"] for c in shared["consoles"]] == [sup.backend.owner]
        await wait_for(lambda: "1 console · 6 waiting, 0 running · PAUSED for all" in sup.backend.state().description,
                       timeout=10, what=lambda: sup.backend.state().description)  # fmt: skip
        text = await elsewhere(tmp_path, stack, "status")
        assert "shared queue on" in text.output and "PAUSED by" in text.output, text.output

        resumed = await elsewhere(tmp_path, stack, "resume", "queue")
        assert resumed.exit_code == 0 and "resumed for every console" in resumed.output, resumed.output

        async def drained() -> bool:
            return set((await statuses(db)).values()) == {"COMPLETED"}

        await wait_for(drained, timeout=30, what="the queue drained after the shared resume")
        assert not sup.is_paused("queue")
        await sup.stop(grace_seconds=0)
    assert sorted(await local_usernames(settings)) == sorted(names)


async def test_consoles_sending_with_one_key_divide_its_rate(tmp_path, stack, db, service):
    sim = make_sim()
    a_settings, b_settings = supa_settings(tmp_path, stack, "ka"), supa_settings(tmp_path, stack, "kb")
    async with (
        open_engine(a_settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as a,
        open_engine(b_settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as b,
    ):
        ig_a = a.runtime.providers.policies["instagram"].limiter
        ig_b = b.runtime.providers.policies["instagram"].limiter
        await a.start()
        await wait_for(lambda: a.backend.presence.live == 1, what="console a registered alone")
        assert ig_a.share == 1
        await b.start()
        await wait_for(lambda: ig_a.share == 2 and ig_b.share == 2, timeout=10, what="both consoles at half rate")
        assert ig_a.interval == 2 * ig_a.base_interval
        hashes = {r["key_hash"] for r in await db.fetch("SELECT key_hash FROM public.viralspot_consoles")}
        assert len(hashes) == 1 and "simulator-key" not in next(iter(hashes))  # a digest, never the key
        await b.stop(grace_seconds=0)
        await wait_for(lambda: ig_a.share == 1, timeout=10, what="console a back at the full rate")
        await a.stop(grace_seconds=0)


async def test_names_found_here_go_to_the_shared_queue(tmp_path, stack, db, service):
    sim = make_sim()
    found = public_names(sim, 3, prefix="found")
    settings = supa_settings(tmp_path, stack, "crawl")
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        await sup.start()
        # what the crawler does with the names it accepts (core/crawler/crawl.py)
        await sup.runtime.queue.enqueue(found, source="crawler", request_id="crawl-1", only_unknown=True)

        async def done() -> bool:
            return set((await statuses(db)).values()) == {"COMPLETED"} and len(await statuses(db)) == 3

        await wait_for(done, timeout=30, what="the found names completed through the shared queue")
        await sup.stop(grace_seconds=0)
    rows = await db.fetch("SELECT username, source, attempts, lease_owner FROM public.queue")
    assert sorted(r["username"] for r in rows) == sorted(found)
    assert {r["source"] for r in rows} == {"crawler"} and {r["attempts"] for r in rows} == {1}
    assert sorted(await local_usernames(settings)) == sorted(found)  # scraped here once, under a lease


async def test_a_batch_run_stops_and_says_why_while_the_shared_queue_is_paused(tmp_path, stack, db, service, caplog):
    import logging

    from viralspot_tui.core.headless import run_headless

    sim = make_sim()
    await enqueue(service, public_names(sim, 3, prefix="held"))
    assert (await elsewhere(tmp_path, stack, "pause", "queue")).exit_code == 0
    settings = supa_settings(tmp_path, stack, "batch")
    with caplog.at_level(logging.INFO):
        code = await asyncio.wait_for(
            run_headless(
                settings, exit_when_idle=True, transport=sim.transport(), simulator=sim, processors=("queue",)
            ),
            timeout=60,
        )
    assert code == 0
    assert "the shared queue is paused with 3 item(s) waiting" in caplog.text
    assert set((await statuses(db)).values()) == {"PENDING"}  # nothing was claimed


async def test_a_console_paused_by_the_switch_starts_running_once_it_was_cleared(tmp_path, stack, db, service):
    sim = make_sim()
    names = public_names(sim, 4, prefix="restart")
    settings = supa_settings(tmp_path, stack, "again")
    assert (await elsewhere(tmp_path, stack, "pause", "queue")).exit_code == 0
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        await sup.start()
        await wait_for(lambda: sup.is_paused("queue"), timeout=10, what="paused by the switch")
        await sup.stop(grace_seconds=0)  # the pause is saved with this data folder
    assert (await elsewhere(tmp_path, stack, "resume", "queue")).exit_code == 0  # while it was down
    await enqueue(service, names)
    async with open_engine(settings, transport=sim.transport(), simulator=sim, processors=("queue",)) as sup:
        await sup.start()

        async def drained() -> bool:
            return set((await statuses(db)).values()) == {"COMPLETED"}

        await wait_for(drained, timeout=30, what="the restarted console working the queue")
        assert not sup.is_paused("queue")
        await sup.stop(grace_seconds=0)
