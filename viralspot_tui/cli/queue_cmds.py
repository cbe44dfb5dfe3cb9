"""``viralspot queue add|list|bump|retry|remove`` — the queue's operator actions from a shell.

Each command is one call into the core operations layer (docs/architecture.md, "One way in"):
it validates, writes the shared SQLite database (WAL lets it run beside a console), wakes a
running engine, and says what happened. The console's keys call the very same actions.
Exit codes (docs/cli.md): 0 done, 1 refused or partly refused, 2 bad usage.
"""

from __future__ import annotations

import click

from .common import CliState, echo_json, open_ops, pass_state, report, run_op

__all__ = ["register"]

_PRIORITY = click.Choice(["high", "low"], case_sensitive=False)
_STATUS = click.Choice(["pending", "processing", "paused", "completed", "failed"], case_sensitive=False)


@click.group("queue")
def queue_group() -> None:
    """Add, list, bump, retry and remove queued usernames."""


def _source(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from ..core.models.queue import normalize_source

    try:  # the queue file must be able to carry the source back (and it must not be a formula)
        return normalize_source(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@queue_group.command("add")
@click.argument("usernames", nargs=-1, required=True)
@click.option("--priority", type=_PRIORITY, default="low", show_default=True)
@click.option("--source", default="manual", show_default=True, callback=_source)
@pass_state
def add(state: CliState, usernames: tuple[str, ...], priority: str, source: str) -> None:
    """Enqueue USERNAMES (names, @names or profile URLs). Invalid names are refused, the rest added."""

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.add(list(usernames), priority, source=source)

    report(run_op(go()))


@queue_group.command("list")
@click.option("--status", type=_STATUS, default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: CliState, status: str | None, limit: int | None, as_json: bool) -> None:
    """List queue items, running first, then HIGH before LOW."""

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.list_items(status, limit=limit)

    items = run_op(go()).data
    if as_json:
        echo_json([i.model_dump(mode="json") for i in items])
        return
    width = max([6, *(len(str(i.id)) for i in items)])  # local ids are numbers, Supabase's are uuids
    click.echo(f"{'ID':>{width}}  {'USERNAME':<30} {'PRIO':<4} {'STATUS':<10} {'TRIES':>5}  LAST ERROR")
    for i in items:
        click.echo(
            f"{str(i.id):>{width}}  {i.username:<30} {i.priority.value:<4} {i.status.value:<10} "
            f"{i.attempts:>2}/{i.max_attempts:<2}  {(i.last_error or '')[:60]}"
        )


@queue_group.command("bump")
@click.argument("username")
@click.option("--priority", type=_PRIORITY, default="high", show_default=True)
@pass_state
def bump(state: CliState, username: str, priority: str) -> None:
    """Change the priority of USERNAME's active item."""

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.bump(username, priority)

    report(run_op(go()))


@queue_group.command("retry")
@click.argument("username", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every FAILED item.")
@pass_state
def retry(state: CliState, username: str | None, all_failed: bool) -> None:
    """Put FAILED items back to PENDING with fresh attempts."""
    if bool(username) == all_failed:
        raise click.UsageError("give either USERNAME or --all-failed")

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.retry(None if all_failed else username)

    report(run_op(go()))


@queue_group.command("remove")
@click.argument("username")
@pass_state
def remove(state: CliState, username: str) -> None:
    """Cancel USERNAME's active item and delete its queue history."""

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.remove(username)

    report(run_op(go()))


def register(cli: click.Group) -> None:
    cli.add_command(queue_group)
