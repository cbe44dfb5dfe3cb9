"""The supervisor keeps the engine alive: crashed processors restart with back-off (docs/console.md, issue 3)."""

from __future__ import annotations

import asyncio
import json

from testkit import crashing_processor, make_settings, wait_for

from viralspot_tui.core.backends.base import LocalOnlyBackend
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.supervisor import Supervisor


async def test_a_crashing_processor_is_restarted_with_backoff_and_reported(tmp_path):
    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    crashy = crashing_processor(runtime, crashes=3)
    sup = Supervisor(runtime, [crashy], LocalOnlyBackend(), restart_initial=0.02, restart_max=0.08)
    errors: list[str] = []
    runtime.events.subscribe(lambda e: errors.append(e.message) if e.kind == "crashy.crashed" else None)
    try:
        await sup.start()
        await wait_for(lambda: crashy.ticks > 5)
        snap = await sup.refresh()
        assert snap.processors["crashy"].restarts == 3
        assert snap.processors["crashy"].last_error == "RuntimeError: boom 3"
        assert snap.processors["crashy"].state == "running"
        assert len(errors) == 3 and "restarting in" in errors[0]
        sup.pause("crashy")
        assert (await sup.refresh()).processors["crashy"].state == "paused"
        await asyncio.sleep(0.05)
        ticks = crashy.ticks
        await asyncio.sleep(0.1)
        assert crashy.ticks == ticks  # paused means no work
        sup.resume("crashy")
        await wait_for(lambda: crashy.ticks > ticks + 3)
    finally:
        await sup.stop(grace_seconds=0)
        await runtime.close()
    assert sup.stopped.is_set()


async def test_paused_processors_are_remembered_across_restarts(tmp_path):
    settings = make_settings(tmp_path)
    runtime = await Runtime.open(settings, with_providers=False)
    sup = Supervisor(runtime, [crashing_processor(runtime, crashes=0)], LocalOnlyBackend())
    await sup.start()
    sup.pause("crashy")
    await sup.stop(grace_seconds=0)
    final = json.loads(await runtime.control_state("engine"))
    assert final["running"] is False and final["processors"]["crashy"]["state"] == "stopped"
    await runtime.close()

    runtime = await Runtime.open(settings, with_providers=False)
    sup = Supervisor(runtime, [crashing_processor(runtime, crashes=0)], LocalOnlyBackend())
    try:
        await sup.start()
        assert sup.is_paused("crashy")

        async def published_paused():
            state = json.loads(await runtime.control_state("engine") or "{}")
            return state.get("running") and state["processors"]["crashy"]["state"] == "paused"

        await wait_for(published_paused)
    finally:
        await sup.stop(grace_seconds=0)
        await runtime.close()


async def test_control_commands_are_applied_and_answered(tmp_path):
    from viralspot_tui.core.control import ControlChannel
    from viralspot_tui.core.ops.link import decode_answer

    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    sup = Supervisor(runtime, [crashing_processor(runtime, crashes=0)], LocalOnlyBackend())
    channel = ControlChannel(runtime.db, runtime.clock)
    try:
        await sup.start()
        answer = await channel.wait_result(await channel.post("pause", target="crashy"))
        assert answer is not None and sup.is_paused("crashy")
        assert decode_answer(answer.result) == (True, "crashy paused")
        bad = await channel.wait_result(await channel.post("explode"))
        assert bad is not None
        ok, message = decode_answer(bad.result)
        assert not ok and message.startswith("unknown command")
        await channel.post("quit")
        await wait_for(lambda: sup.quit_requested.is_set())
    finally:
        await sup.stop(grace_seconds=0)
        await runtime.close()


async def test_a_crash_message_is_redacted_before_it_is_stored_or_published(tmp_path):
    key = "rk-crash-secret-0123456789"
    settings = make_settings(tmp_path, rapidapi={"key": key})
    runtime = await Runtime.open(settings, with_providers=False)
    crashy = crashing_processor(runtime, crashes=1, message=f"401 with x-rapidapi-key={key}")
    sup = Supervisor(runtime, [crashy], LocalOnlyBackend(), restart_initial=0.02)
    try:
        await sup.start()
        await wait_for(lambda: crashy.ticks > 0)
        snap = await sup.refresh()
        await sup.publisher.publish(sup.snapshot())
        published = await runtime.control_state("engine")
    finally:
        await sup.stop(grace_seconds=0)
        await runtime.close()
    assert snap.processors["crashy"].last_error.startswith("RuntimeError: 401 with x-rapidapi-key=")
    assert key not in snap.processors["crashy"].last_error and key not in published


async def test_the_drain_message_shows_a_fractional_grace_period(tmp_path):
    runtime = await Runtime.open(make_settings(tmp_path, queue={"grace_seconds": 0.5}), with_providers=False)
    sup = Supervisor(runtime, [crashing_processor(runtime, crashes=0)], LocalOnlyBackend())
    try:
        await sup.start()
        await sup.stop()
        messages = [e.message for e in runtime.events.recent(50)]
        assert "draining: in-flight work has 0.5s to finish" in messages
    finally:
        await runtime.close()
