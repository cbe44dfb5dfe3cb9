"""The console's ``:`` command language, interpreted over the operations layer.

``:pause crawler``, ``:bump alice high``, ``:add bob carol low`` … each verb is one call into
:class:`~viralspot_tui.core.ops.Operations`, so a typed command does exactly what the key, the
palette entry and the ``viralspot`` command do. Verbs that only the console can carry out
(quit, help, filter, screenshot, a confirmation) come back as a ``ui_action`` for the App.
Kept free of Textual, so it is tested without a terminal (docs/console.md, "Command line").
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .queue_ops import parse_priority, username
from .results import ErrorKind, OpError

if TYPE_CHECKING:
    from . import Operations

__all__ = ["CommandResult", "COMMAND_HELP", "execute"]

COMMAND_HELP = [
    (":pause queue|viral|crawler|all", "pause a processor (or all)"),
    (":resume queue|viral|crawler|all", "resume a processor (or all)"),
    (":bump NAME high|low", "set the priority of a queued username"),
    (":add NAME… [high|low]", "enqueue usernames (LOW unless you say high)"),
    (":retry NAME|all", "retry one failed username, or every failed one"),
    (":remove NAME", "cancel and forget a username (asks first)"),
    (":crawl [SEED…]", "run the network crawler now"),
    (":concurrency N [high N] [low N]", "change the queue's concurrency caps"),
    (":job cancel N", "stop job N and turn its re-runs off (asks first)"),
    (":job schedule N HOURS|off", "re-run job N every HOURS hours, or never"),
    (":job retry N  :job rerun N", "retry failed job N / run job N again now"),
    (":filter TEXT", "filter the focused table (empty clears)"),
    (":screenshot [PATH]", "save an SVG screenshot"),
    (":help", "show the keys"),
    (":q  :quit  :q!", "quit (asks when busy) / quit without asking"),
]


@dataclass(frozen=True)
class CommandResult:
    """What a ``:`` command did: a message, or a UI action for the App to carry out."""

    message: str = ""
    ui_action: str | None = None  # "quit", "force_quit", "help", "filter", "screenshot", "confirm_remove",
    # "confirm_cancel_job"
    argument: str | None = None
    error: bool = False


async def execute(ops: "Operations", line: str) -> CommandResult:
    """Run one ``:`` command; refusals come back as ``error=True`` results, never as exceptions."""
    try:
        return await _execute(ops, line)
    except OpError as exc:
        return CommandResult(str(exc), error=True)


async def _execute(ops: "Operations", line: str) -> CommandResult:
    try:
        words = shlex.split(line.strip().lstrip(":"))
    except ValueError as exc:
        raise OpError(f"cannot parse the command: {exc}", ErrorKind.USAGE) from None
    if not words:
        return CommandResult("")
    verb, args = words[0].lower(), words[1:]
    match verb:
        case "q" | "quit" | "exit":
            return CommandResult(ui_action="quit")
        case "q!" | "quit!" | "wq":
            return CommandResult(ui_action="force_quit")
        case "help" | "h" | "?":
            return CommandResult(ui_action="help")
        case "filter" | "f":
            return CommandResult(ui_action="filter", argument=" ".join(args))
        case "screenshot" | "shot":
            return CommandResult(ui_action="screenshot", argument=args[0] if args else None)
        case "pause" | "resume":
            target = args[0] if args else "all"
            result = await (ops.pause(target) if verb == "pause" else ops.resume(target))
            return CommandResult(result.message)
        case "bump" | "raise" | "lower":
            if not args:
                raise OpError(f"usage: :{verb} NAME" + (" high|low" if verb == "bump" else ""), ErrorKind.USAGE)
            default = "low" if verb == "lower" else "high"
            return CommandResult((await ops.bump(args[0], args[1] if len(args) > 1 else default)).message)
        case "add":
            priority = None
            if args and args[-1].lower() in ("high", "low"):
                priority = parse_priority(args.pop())
            return CommandResult((await ops.add(args, priority)).text())
        case "retry":
            if not args:
                raise OpError("usage: :retry NAME|all", ErrorKind.USAGE)
            return CommandResult((await ops.retry(None if args[0].lower() == "all" else args[0])).message)
        case "remove" | "delete" | "rm" | "cancel":
            if not args:
                raise OpError(f"usage: :{verb} NAME", ErrorKind.USAGE)
            return CommandResult(ui_action="confirm_remove", argument=username(args[0]))
        case "crawl":
            return CommandResult((await ops.request_crawl(args, source="console")).message)
        case "job" | "jobs":
            return await _job_command(ops, args)
        case "concurrency" | "conc":
            return CommandResult((await ops.set_concurrency(concurrency_args(args))).message)
        case _:
            raise OpError(f"unknown command :{verb} — type :help for the list", ErrorKind.USAGE)


_JOB_USAGE = "usage: :job cancel N | :job schedule N HOURS|off | :job retry N | :job rerun N"


async def _job_command(ops: "Operations", args: list[str]) -> CommandResult:
    """``:job VERB N …``: the ``viralspot jobs`` commands; cancelling asks first, as ``d`` does."""
    if len(args) < 2 or not args[1].isdigit():
        raise OpError(_JOB_USAGE, ErrorKind.USAGE)
    verb, job_id, rest = args[0].lower(), int(args[1]), args[2:]
    match verb:
        case "cancel" | "stop" if not rest:
            await ops.get_job(job_id)  # refuse an unknown job before asking
            return CommandResult(ui_action="confirm_cancel_job", argument=str(job_id))
        case "schedule" | "every" if len(rest) == 1:
            if rest[0].lower() == "off":
                return CommandResult((await ops.schedule_job(job_id, None)).message)
            try:
                hours = float(rest[0].lower().removesuffix("h"))
            except ValueError:
                raise OpError(_JOB_USAGE, ErrorKind.USAGE) from None
            return CommandResult((await ops.schedule_job(job_id, hours)).message)
        case "retry" if not rest:
            return CommandResult((await ops.retry_job(job_id)).message)
        case "rerun" if not rest:
            return CommandResult((await ops.rerun_job(job_id)).message)
    raise OpError(_JOB_USAGE, ErrorKind.USAGE)


def concurrency_args(args: list[str]) -> dict[str, int]:
    """``N [high N] [low N]`` → the supervisor's set_concurrency arguments."""
    usage = "usage: :concurrency N [high N] [low N] (whole numbers ≥ 1)"
    out: dict[str, int] = {}
    try:
        rest = list(args)
        if rest and rest[0].isdigit():
            out["max_concurrent"] = int(rest.pop(0))
        while rest:
            key = rest.pop(0).lower()
            if key not in ("high", "low") or not rest:
                raise OpError(usage, ErrorKind.USAGE)
            out[f"max_{key}"] = int(rest.pop(0))
    except ValueError:
        raise OpError(usage, ErrorKind.USAGE) from None
    if not out or any(v < 1 for v in out.values()):
        raise OpError(usage, ErrorKind.USAGE)
    return out
