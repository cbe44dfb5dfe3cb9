"""The four drifts between the console and the command line, each pinned by a test
(docs/architecture.md, "One way in"): the console's ``]`` wakes the queue processor like
``queue bump``; one default priority for adding; one rule for how a crawl request ends; one idle
rule that also stops for a processor waiting for the operator; and ``:pause`` is the control
command's own code path."""

from __future__ import annotations

import json

from testkit import crashing_processor, make_settings, wait_for

from viralspot_tui.core.backends.base import LocalOnlyBackend
from viralspot_tui.core.control import ControlChannel
from viralspot_tui.core.crawler.models import CrawlOutcome, CrawlReport, RequestStatus, RoundReport
from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.idle import IdleWatch
from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.ops import DEFAULT_PRIORITY, ControlLink, Operations
from viralspot_tui.core.ops.command_line import execute
from viralspot_tui.core.ops.link import decode_answer
from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.supervisor import Supervisor


async def test_bump_wakes_the_queue_processor_from_the_console_and_from_a_shell(tmp_path):
    settings = make_settings(tmp_path)
    async with open_engine(settings, processors=("queue",), local_only=True) as sup:
        await sup.start()
        await sup.steer("pause", "queue")  # keeps the item PENDING while its priority changes
        control = sup.slots["queue"].control
        ops = sup.operations()
        await ops.add(["alice"], "low")
        control._wake.clear()
        console = await execute(ops, "bump alice high")  # the ``:`` line and ``]`` share ops.bump
        assert console.message == "alice is now HIGH (PENDING)"
        assert control._wake.is_set(), "the console's bump woke the queue processor"
        shell = Operations(sup.runtime, ControlLink(sup.runtime))  # what `viralspot queue bump` uses
        control._wake.clear()
        result = await shell.bump("alice", "low")
        assert result.woke == ("queue",)
        await wait_for(lambda: control._wake.is_set())  # the engine applied the posted wake


def test_the_command_line_adds_at_the_default_priority(tmp_path):
    from click.testing import CliRunner

    from viralspot_tui.cli.main import cli

    assert DEFAULT_PRIORITY is Priority.LOW
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "d"), "--simulate", "queue", "add", "bob"])
    assert result.exit_code == 0 and "bob: added at LOW" in result.output


async def test_the_console_adds_at_the_same_default(tmp_path):
    from viralspot_tui.tui.screens.add_usernames import AddUsernamesScreen

    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    try:
        ops = Operations(runtime, ControlLink(runtime))
        assert (await execute(ops, "add carol")).message == "carol: added at LOW"
    finally:
        await runtime.close()
    assert "DEFAULT_PRIORITY" in AddUsernamesScreen.compose.__code__.co_names


def test_one_rule_for_how_a_crawl_request_ends():
    round_ = RoundReport(round=1, seed="a", found=0)
    after_a_round = CrawlReport(
        target=5, max_rounds=3, rounds=[round_], outcome=CrawlOutcome.PROVIDER_UNAVAILABLE, error="503"
    )
    # The foreground crawl used to call this FAILED (nothing queued); the engine COMPLETED.
    assert after_a_round.request_status() is RequestStatus.COMPLETED
    before_any = CrawlReport(target=5, max_rounds=3, outcome=CrawlOutcome.PROVIDER_UNAVAILABLE, error="503")
    assert before_any.request_status() is RequestStatus.FAILED
    import inspect

    from viralspot_tui.cli import crawl_cmds
    from viralspot_tui.core.crawler import processor
    from viralspot_tui.core.ops import crawl_ops

    for module in (crawl_cmds, processor, crawl_ops):
        assert "RequestStatus.FAILED if" not in inspect.getsource(module)


async def test_idle_rule_stops_for_a_processor_waiting_for_the_operator(tmp_path):
    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    stuck = crashing_processor(runtime, crashes=0)
    stuck.blocked = "RapidAPI says: not subscribed to this API"

    async def busy() -> bool:
        return False

    stuck.is_idle = busy  # it has work, but cannot make progress without the operator
    sup = Supervisor(runtime, [stuck], LocalOnlyBackend())
    try:
        await sup.start()
        verdict = await IdleWatch(sup, settle=1).check()
        assert verdict is not None and verdict.exit_code == 1 and "not subscribed" in verdict.reason
        stuck.blocked = None
        await sup.steer("pause", "crashy")
        verdict = await IdleWatch(sup, settle=1).check()
        assert verdict is not None and verdict.exit_code == 0 and "viralspot resume crashy" in verdict.reason
    finally:
        await sup.stop(grace_seconds=0)
        await runtime.close()


async def test_colon_pause_and_a_control_row_are_one_code_path(tmp_path):
    settings = make_settings(tmp_path)
    async with open_engine(settings, processors=("queue", "crawler"), local_only=True) as sup:
        await sup.start()
        typed = await execute(sup.operations(), "pause crawler")
        assert typed.message == "crawler paused" and sup.is_paused("crawler")
        assert json.loads(await sup.runtime.control_state("paused")) == ["crawler"]  # saved, not fired and forgotten
        channel = ControlChannel(sup.runtime.db, sup.runtime.clock)
        answer = await channel.wait_result(await channel.post("pause", target="queue"))
        assert answer is not None and decode_answer(answer.result) == (True, "queue paused")
        assert json.loads(await sup.runtime.control_state("paused")) == ["crawler", "queue"]
        refused = await channel.wait_result(await channel.post("pause", target="viral"))
        ok, message = decode_answer(refused.result)
        assert not ok and "not running in this engine" in message
        assert (await execute(sup.operations(), "pause viral")).error
