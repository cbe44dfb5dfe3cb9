"""``viralspot crawl``: ask for a crawl, or run one in the foreground (SPEC §9, C6).

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

from .common import CliState, echo_json, engine_running, fail, notify_engine, open_runtime, parse_or_exit, run_async

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
    from ..core.models.usernames import normalize_username

    names = parse_or_exit(lambda: list(dict.fromkeys(normalize_username(s) for s in seeds)))
    code = run_async(_crawl(_state(ctx), names, target, rounds, wait, as_json))
    if code:
        ctx.exit(code)


async def _crawl(
    state: CliState, seeds: list[str], target: int | None, rounds: int | None, wait: bool, as_json: bool
) -> int:
    from ..core.crawler.store import CrawlerStore

    cfg = state.settings.crawler
    async with open_runtime(state, with_providers=wait) as runtime:
        store = CrawlerStore(runtime.db, runtime.clock)
        request = await store.create_request(
            seeds, target or cfg.target_new_profiles, rounds or cfg.max_rounds, source="cli"
        )
        seeds_text = ", ".join(request.seeds) or "automatic"
        if await engine_running(runtime):
            await notify_engine(runtime, "wake", target="crawler")
            if not wait:
                click.echo(
                    f"crawl #{request.id} recorded (seeds: {seeds_text}, target {request.target}, "
                    f"up to {request.max_rounds} rounds); the running engine picks it up now"
                )
                return 0
            return await _follow(store, request.id, as_json)
        if not wait:
            click.echo(
                f"crawl #{request.id} recorded (seeds: {seeds_text}, target {request.target}, "
                f"up to {request.max_rounds} rounds); no engine is running: it starts with the next "
                "`viralspot run`, or use --wait to run it now"
            )
            return 0
        return await _run_here(runtime, store, request.id, as_json)


async def _run_here(runtime: Any, store: Any, request_id: int, as_json: bool) -> int:
    """No engine: claim our own request and crawl in the foreground."""
    from ..core.crawler.budget import DailyBudget
    from ..core.crawler.crawl import Crawl
    from ..core.crawler.models import CrawlOutcome, RequestStatus
    from ..core.crawler.seeds import SeedPool
    from ..core.redaction import mask_secrets

    owner = f"{runtime.instance_id}:cli"
    request = await store.claim(owner, request_id=request_id)
    if request is None:  # an engine started meanwhile and took it
        return await _follow(store, request_id, as_json)
    if not as_json:
        click.echo(
            f"crawl #{request.id}: running here (no engine running)"
            + (" on SIMULATED data" if runtime.simulated else "")
        )
    budget = DailyBudget(store, runtime.clock, runtime.settings.crawler.daily_call_budget)

    async def renew() -> None:
        await store.renew(request.id, owner)

    crawl = Crawl(
        runtime,
        store=store,
        budget=budget,
        pool=SeedPool(runtime.db),
        seeds=request.seeds,
        target=request.target,
        max_rounds=request.max_rounds,
        request_id=request.id,
        previous=await store.rounds_for(request.id),
        heartbeat=renew,
        on_round=None if as_json else (lambda r: click.echo("  " + r.describe())),
    )
    try:
        report = await crawl.run()
    except asyncio.CancelledError:
        await asyncio.shield(store.release(request.id, owner))
        raise
    except Exception as exc:
        error = mask_secrets(runtime.settings, f"{type(exc).__name__}: {exc}")[:500]
        await store.finish(request.id, owner, RequestStatus.FAILED, None, error)
        fail(f"crawl #{request.id} failed: {error}")
        return 1
    failed = report.outcome is CrawlOutcome.PROVIDER_UNAVAILABLE and not report.queued
    await store.finish(
        request.id,
        owner,
        RequestStatus.FAILED if failed and report.error else RequestStatus.COMPLETED,
        report.outcome,
        report.error,
    )
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(f"crawl #{request.id}: {report.describe()}")
    return 1 if report.outcome is CrawlOutcome.PROVIDER_UNAVAILABLE else 0


async def _follow(store: Any, request_id: int, as_json: bool) -> int:
    """An engine does the work: print its rounds as they are recorded, until the crawl ends."""
    from ..core.crawler.models import RequestStatus

    if not as_json:
        click.echo(
            f"crawl #{request_id}: handed to the running engine; following it (Ctrl-C stops following, not the crawl)"
        )
    printed = 0
    while True:
        request = await store.get_request(request_id)
        rounds = await store.rounds_for(request_id)
        if not as_json:
            for report in rounds[printed:]:
                click.echo("  " + report.describe())
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
                    f"crawl #{request_id}: {summary['outcome'] or summary['status']}: queued {queued}/"
                    f"{request.target} in {len(rounds)}/{request.max_rounds} rounds"
                    + (f" ({request.error})" if request.error else "")
                )
            return 0 if request.status is RequestStatus.COMPLETED else 1
        await asyncio.sleep(_FOLLOW_POLL_SECONDS)


# ---------------------------------------------------------------------- blocklist and history
@crawl.command(name="block")
@click.argument("usernames", nargs=-1, required=True, metavar="USER...")
@click.option("--note", help="Why (kept with the entry).")
@click.pass_context
def block(ctx: click.Context, usernames: tuple[str, ...], note: str | None) -> None:
    """Never let the crawler queue these accounts."""
    from ..core.models.usernames import normalize_username

    names = parse_or_exit(lambda: list(dict.fromkeys(normalize_username(u) for u in usernames)))

    async def go() -> None:
        async with open_runtime(_state(ctx)) as runtime:
            store = await _store(runtime)
            for name in names:
                added = await store.block(name, note)
                click.echo(f"{name}: blocked" if added else f"{name}: already blocked")

    run_async(go())


@crawl.command(name="unblock")
@click.argument("usernames", nargs=-1, required=True, metavar="USER...")
@click.pass_context
def unblock(ctx: click.Context, usernames: tuple[str, ...]) -> None:
    """Allow previously blocked accounts again (entries in crawler.blocked config stay blocked)."""
    from ..core.models.usernames import normalize_username

    names = parse_or_exit(lambda: list(dict.fromkeys(normalize_username(u) for u in usernames)))

    async def go() -> None:
        state = _state(ctx)
        configured = _configured_blocks(state)
        async with open_runtime(state) as runtime:
            store = await _store(runtime)
            for name in names:
                removed = await store.unblock(name)
                text = f"{name}: unblocked" if removed else f"{name}: was not on the blocklist"
                if name in configured:
                    text += " (still blocked by crawler.blocked in the configuration)"
                click.echo(text)

    run_async(go())


@crawl.command(name="blocklist")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def blocklist(ctx: click.Context, as_json: bool) -> None:
    """List blocked accounts (operator blocklist plus crawler.blocked from the configuration)."""

    async def go() -> None:
        state = _state(ctx)
        async with open_runtime(state) as runtime:
            stored = sorted(await (await _store(runtime)).blocked())
        configured = sorted(_configured_blocks(state))
        if as_json:
            echo_json({"blocklist": stored, "config": configured})
            return
        for name in stored:
            click.echo(name)
        for name in configured:
            click.echo(f"{name} (config)")

    run_async(go())


@crawl.command(name="history")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Recent crawler rounds, oldest first."""

    async def go() -> None:
        async with open_runtime(_state(ctx)) as runtime:
            rounds = await (await _store(runtime)).recent_rounds(limit)
        if as_json:
            echo_json([r.summary() for r in rounds])
            return
        if not rounds:
            click.echo("no crawler rounds yet")
        for r in rounds:
            click.echo(f"#{r.request_id} " + r.describe())

    run_async(go())


def _configured_blocks(state: CliState) -> set[str]:
    from ..core.crawler.quality import normalize_blocklist

    return normalize_blocklist(state.settings.crawler.blocked)


async def _store(runtime: Any) -> Any:
    from ..core.crawler.store import CrawlerStore

    store = CrawlerStore(runtime.db, runtime.clock)
    return store
