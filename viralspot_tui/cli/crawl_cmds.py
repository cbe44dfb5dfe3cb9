"""``viralspot crawl``: ask for a crawl, or run one in the foreground (docs/cli.md).

``crawl`` records a request in the shared database. When an engine (console or headless
runner) is running, it is told to look now and does the work; ``--wait`` then follows the
request and prints its rounds as they land. With ``--wait`` and no engine running, the command
runs the crawl itself — same code path as the engine, without a pause/resume control, so a
spent daily budget simply ends it — and prints every round. Without ``--wait`` and no engine,
the request waits for the next engine start.

``crawl block`` / ``unblock`` / ``blocklist`` edit the operator blocklist the quality filter
honours; ``crawl history`` prints recent rounds. Kept free of Textual and the openai SDK on the
paths that do not need providers, so these start fast.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from .common import CliState, echo_json, fail, open_ops, report, run_op

__all__ = ["register", "crawl"]

_FOLLOW_POLL_SECONDS = 0.5


def register(cli: click.Group) -> None:
    """Add the ``crawl`` command group to the main command line."""
    cli.add_command(crawl)


def _state(ctx: click.Context) -> CliState:
    return ctx.ensure_object(CliState)


@click.group(name="crawl", invoke_without_command=True)
@click.option(
    "--seed",
    "seeds",
    multiple=True,
    metavar="USER",
    help="Seed account (repeatable). Default: random stored primary profiles.",
)
@click.option(
    "--target", type=click.IntRange(min=1), help="New profiles to queue (default crawler.target_new_profiles)."
)
@click.option("--rounds", type=click.IntRange(min=1), help="Most rounds to run (default crawler.max_rounds).")
@click.option("--wait", is_flag=True, help="Wait for the crawl to finish; run it here when no engine is running.")
@click.option("--json", "as_json", is_flag=True, help="Print the final report as JSON.")
@click.pass_context
def crawl(
    ctx: click.Context, seeds: tuple[str, ...], target: int | None, rounds: int | None, wait: bool, as_json: bool
) -> None:
    """Run the network crawler once now (or ask the running console to do it)."""
    if ctx.invoked_subcommand is not None:
        return
    code = run_op(_crawl(_state(ctx), list(seeds), target, rounds, wait, as_json))
    if code:
        ctx.exit(code)


async def _crawl(
    state: CliState, seeds: list[str], target: int | None, rounds: int | None, wait: bool, as_json: bool
) -> int:
    async with open_ops(state) as ops:
        result = await ops.request_crawl(seeds, target, rounds, source="cli", wait=wait)
        request_id = result.data.id
        if not wait:
            click.echo(result.message)
            return 0
        if await ops.link.engine_running():
            return await _follow(ops, request_id, as_json)
    async with open_ops(state, with_providers=True) as ops:  # no engine: crawl here
        if not as_json:
            click.echo(
                f"crawl #{request_id}: running here (no engine running)"
                + (" on SIMULATED data" if ops.runtime.simulated else "")
            )
        report = await ops.run_crawl_here(
            request_id, on_round=None if as_json else (lambda r: click.echo("  " + r.describe()))
        )
        if report is None:  # an engine started meanwhile and took it
            return await _follow(ops, request_id, as_json)
        if as_json:
            echo_json(report.to_json())
        else:
            click.echo(f"crawl #{request_id}: {report.describe()}")
        return 0 if report.request_status().value == "completed" else 1


async def _follow(ops: Any, request_id: int, as_json: bool) -> int:
    """An engine does the work: print its rounds as they are recorded, until the crawl ends."""
    from ..core.crawler.models import RequestStatus

    if not as_json:
        click.echo(
            f"crawl #{request_id}: handed to the running engine; following it (Ctrl-C stops following, not the crawl)"
        )
    printed = 0
    polls = 0
    while True:
        request, rounds = await ops.crawl_request(request_id)
        if not as_json:
            for r in rounds[printed:]:
                click.echo("  " + r.describe())
        printed = len(rounds)
        if request is None:
            fail(f"crawl #{request_id} disappeared from the database")
            return 1
        if request.status in (RequestStatus.COMPLETED, RequestStatus.FAILED):
            queued = sum(len(r.queued) for r in rounds)
            summary = {
                "request_id": request_id,
                "status": request.status.value,
                "outcome": request.outcome.value if request.outcome else None,
                "queued": queued,
                "target": request.target,
                "rounds": [r.summary() for r in rounds],
                "error": request.error,
            }
            if as_json:
                echo_json(summary)
            else:
                click.echo(
                    # the words the crawl's own report uses ("target reached"); --json keeps the value
                    f"crawl #{request_id}: {(summary['outcome'] or summary['status']).replace('_', ' ')}: queued {queued}/"
                    f"{request.target} in {len(rounds)}/{request.max_rounds} rounds"
                    + (f" ({request.error})" if request.error else "")
                )
            return 0 if request.status is RequestStatus.COMPLETED else 1
        polls += 1
        if polls % 10 == 0 and not await ops.link.engine_running():
            fail(f"the engine stopped before crawl #{request_id} finished; it resumes with the next `viralspot run`")
            return 1
        await asyncio.sleep(_FOLLOW_POLL_SECONDS)


# ---------------------------------------------------------------------- blocklist and history
@crawl.command(name="block")
@click.argument("usernames", nargs=-1, required=True, metavar="USER...")
@click.option("--note", help="Why (kept with the entry).")
@click.pass_context
def block(ctx: click.Context, usernames: tuple[str, ...], note: str | None) -> None:
    """Never let the crawler queue these accounts."""

    async def go():  # noqa: ANN202
        async with open_ops(_state(ctx)) as ops:
            return await ops.block(list(usernames), note)

    report(run_op(go()))


@crawl.command(name="unblock")
@click.argument("usernames", nargs=-1, required=True, metavar="USER...")
@click.pass_context
def unblock(ctx: click.Context, usernames: tuple[str, ...]) -> None:
    """Allow previously blocked accounts again (entries in crawler.blocked config stay blocked)."""

    async def go():  # noqa: ANN202
        async with open_ops(_state(ctx)) as ops:
            return await ops.unblock(list(usernames))

    report(run_op(go()))


@crawl.command(name="blocklist")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def blocklist(ctx: click.Context, as_json: bool) -> None:
    """List blocked accounts (operator blocklist plus crawler.blocked from the configuration)."""

    async def go():  # noqa: ANN202
        async with open_ops(_state(ctx)) as ops:
            return await ops.blocklist()

    result = run_op(go())
    if as_json:
        echo_json(result.data)
        return
    for line in result.lines:
        click.echo(line)


@crawl.command(name="history")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Recent crawler rounds, oldest first."""

    async def go():  # noqa: ANN202
        async with open_ops(_state(ctx)) as ops:
            return await ops.crawl_history(limit)

    result = run_op(go())
    if as_json:
        echo_json(result.data)
        return
    for line in result.lines or (result.message,):
        click.echo(line)
