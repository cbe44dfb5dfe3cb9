"""``viralspot outbox [--json]`` and ``viralspot outbox retry`` — the Supabase outbox from a shell.

Both are calls into the operations layer (core/ops/outbox_ops.py, docs/supabase-outbox.md): the
listing reads the local database (an engine may be running beside it), the retry re-queues
rejected entries and has the running engine replay the outbox, or replays it here when none runs.
"""

from __future__ import annotations

import click

from .common import CliState, echo_json, open_ops, pass_state, report, run_op

__all__ = ["register"]


@click.group("outbox", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.pass_context
def outbox_group(ctx: click.Context, as_json: bool, limit: int) -> None:
    """List what waits for Supabase, and what it rejected or superseded (with reasons)."""
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.find_object(CliState) or ctx.ensure_object(CliState)

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.outbox_list(limit)

    result = run_op(go())
    data = result.data
    if as_json:
        echo_json(data)
        return
    click.echo(result.message + f" (client {data['client_id']}, acknowledged through seq {data['acked_through']})")
    if data["halted"]:
        click.echo(f"STOPPED: {data['halted']}")
    for title, key in (("waiting", "waiting"), ("rejected / superseded", "settled")):
        rows = data[key]
        if not rows:
            continue
        click.echo(f"{title}:")
        for e in rows:
            what = e["table"] or e["kind"]
            reason = f"  {e['reason']}" if e["reason"] and key == "settled" else ""
            click.echo(f"  {e['seq']:>7} {e['state']:<10} {what:<24} {e['key'][:40]:<40}{reason}")


@outbox_group.command("retry")
@click.argument("seqs", nargs=-1, type=click.IntRange(min=1))
@pass_state
def retry(state: CliState, seqs: tuple[int, ...]) -> None:
    """Queue rejected entries again (SEQS, or every rejected one) and replay the outbox now."""

    async def go():  # noqa: ANN202
        async with open_ops(state) as ops:
            return await ops.outbox_retry(list(seqs) or None)

    report(run_op(go()))


def register(cli: click.Group) -> None:
    cli.add_command(outbox_group)
