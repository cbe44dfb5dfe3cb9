"""``viralspot queue add|list|bump|retry|remove`` — operator actions on the queue (Q2, Q3, Q6).

They write the shared SQLite database directly (WAL lets them run beside a console) and then
nudge a running engine so it reacts at once instead of at its next poll.
"""

from __future__ import annotations

import click

from .common import EXIT_USAGE, CliState, echo_json, fail, notify_engine, open_runtime, pass_state, run_async

__all__ = ["register"]

_PRIORITY = click.Choice(["high", "low"], case_sensitive=False)
_STATUS = click.Choice(["pending", "processing", "paused", "completed", "failed"], case_sensitive=False)


@click.group("queue")
def queue_group() -> None:
    """Add, list, bump, retry and remove queued usernames."""


@queue_group.command("add")
@click.argument("usernames", nargs=-1, required=True)
@click.option("--priority", type=_PRIORITY, default="low", show_default=True)
@click.option("--source", default="manual", show_default=True)
@pass_state
def add(state: CliState, usernames: tuple[str, ...], priority: str, source: str) -> None:
    """Enqueue USERNAMES (names, @names or profile URLs). Invalid names are refused, the rest added."""
    from ..core.models.queue import Priority, normalize_source
    from ..core.models.usernames import InvalidUsername, normalize_username

    try:  # the queue file must be able to carry the source back (and it must not be a formula)
        source = normalize_source(source)
    except ValueError as exc:
        fail(f"--source {source!r:.60}: {exc}", code=EXIT_USAGE)
    valid: list[str] = []
    bad = 0
    for raw in usernames:
        try:
            valid.append(normalize_username(raw))
        except InvalidUsername as exc:
            click.echo(f"refused: {exc}", err=True)
            bad += 1

    async def go() -> None:
        async with open_runtime(state) as runtime:
            for result in await runtime.queue.enqueue(valid, Priority.parse(priority), source=source):
                click.echo(result.describe())
            await notify_engine(runtime, "wake", target="queue")

    if valid:
        run_async(go())
    if bad:
        raise SystemExit(EXIT_USAGE if not valid else 1)


@queue_group.command("list")
@click.option("--status", type=_STATUS, default=None)
@click.option("--limit", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: CliState, status: str | None, limit: int | None, as_json: bool) -> None:
    """List queue items, running first, then HIGH before LOW."""
    from ..core.models.queue import Status

    async def go() -> None:
        async with open_runtime(state) as runtime:
            items = await runtime.queue.list(Status.parse(status) if status else None, limit=limit)
        if as_json:
            echo_json([i.model_dump(mode="json") for i in items])
            return
        click.echo(f"{'ID':>6}  {'USERNAME':<30} {'PRIO':<4} {'STATUS':<10} {'TRIES':>5}  LAST ERROR")
        for i in items:
            click.echo(
                f"{i.id:>6}  {i.username:<30} {i.priority.value:<4} {i.status.value:<10} "
                f"{i.attempts:>2}/{i.max_attempts:<2}  {(i.last_error or '')[:60]}"
            )

    run_async(go())


@queue_group.command("bump")
@click.argument("username")
@click.option("--priority", type=_PRIORITY, default="high", show_default=True)
@pass_state
def bump(state: CliState, username: str, priority: str) -> None:
    """Change the priority of USERNAME's active item."""
    from ..core.models.queue import Priority
    from ..core.models.usernames import InvalidUsername
    from ..core.store.queue_store import ItemNotFound

    async def go() -> None:
        async with open_runtime(state) as runtime:
            item = await runtime.queue.bump(username, Priority.parse(priority))
            click.echo(f"{item.username}: priority {item.priority.value} ({item.status.value})")
            await notify_engine(runtime, "wake", target="queue")

    try:
        run_async(go())
    except InvalidUsername as exc:
        fail(str(exc), code=EXIT_USAGE)
    except ItemNotFound as exc:
        fail(str(exc))


@queue_group.command("retry")
@click.argument("username", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every FAILED item.")
@pass_state
def retry(state: CliState, username: str | None, all_failed: bool) -> None:
    """Put FAILED items back to PENDING with fresh attempts."""
    from ..core.models.usernames import InvalidUsername

    if bool(username) == all_failed:
        fail("give either USERNAME or --all-failed", code=EXIT_USAGE)

    async def go() -> int:
        async with open_runtime(state) as runtime:
            count = await runtime.queue.retry(None if all_failed else username)
            await notify_engine(runtime, "wake", target="queue")
            return count

    try:
        count = run_async(go())
    except InvalidUsername as exc:
        fail(str(exc), code=EXIT_USAGE)
        return
    click.echo(f"{count} item(s) back to PENDING")
    if count == 0 and username:
        raise SystemExit(1)


@queue_group.command("remove")
@click.argument("username")
@pass_state
def remove(state: CliState, username: str) -> None:
    """Cancel USERNAME's active item and delete its queue history."""
    from ..core.models.usernames import InvalidUsername

    async def go() -> int:
        async with open_runtime(state) as runtime:
            count = await runtime.queue.remove(username)
            if count:
                await notify_engine(runtime, "wake", target="queue")  # the queue file drops the row now
            return count

    try:
        count = run_async(go())
    except InvalidUsername as exc:
        fail(str(exc), code=EXIT_USAGE)
        return
    click.echo(f"removed {count} row(s)")
    if count == 0:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(queue_group)
