"""What an operator can do, in one place, for the keys, the ``:`` line and the palette.

Each method calls the supervisor or a store and returns a short sentence for a toast, so the
three ways in (a key, ``:bump alice high``, the palette) behave exactly alike and the tests
can assert on the store rather than on pixels. Nothing here touches a widget.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.models.queue import Priority
from ..core.models.usernames import InvalidUsername, normalize_username

if TYPE_CHECKING:
    from ..core.supervisor import Supervisor

__all__ = ["Operator", "CommandResult", "OperatorError", "COMMAND_HELP"]

PROCESSOR_TARGETS = ("queue", "viral", "crawler", "all")

COMMAND_HELP = [
    (":pause queue|viral|crawler|all", "pause a processor (or all)"),
    (":resume queue|viral|crawler|all", "resume a processor (or all)"),
    (":bump NAME high|low", "set the priority of a queued username"),
    (":add NAME… [high|low]", "enqueue usernames"),
    (":retry NAME|all", "retry one failed username, or every failed one"),
    (":remove NAME", "cancel and forget a username (asks first)"),
    (":crawl [SEED…]", "run the network crawler now"),
    (":concurrency N [high N] [low N]", "change the queue's concurrency caps"),
    (":filter TEXT", "filter the focused table (empty clears)"),
    (":screenshot [PATH]", "save an SVG screenshot"),
    (":help", "show the keys"),
    (":q  :quit  :q!", "quit (asks when busy) / quit without asking"),
]


class OperatorError(Exception):
    """A refused operator request; the message is shown to the operator as is."""


@dataclass(frozen=True)
class CommandResult:
    """What a ``:`` command did: a message, or a UI action for the App to carry out."""

    message: str = ""
    ui_action: str | None = None  # "quit", "force_quit", "help", "filter", "screenshot", "confirm_remove"
    argument: str | None = None
    error: bool = False


class Operator:
    def __init__(self, supervisor: "Supervisor") -> None:
        self.supervisor = supervisor

    @property
    def queue(self):  # noqa: ANN201 - QueueStore
        return self.supervisor.runtime.queue

    # ------------------------------------------------------------------ processors
    def _target(self, target: str) -> str:
        if target not in PROCESSOR_TARGETS:
            raise OperatorError(f"unknown processor {target!r}: choose queue, viral, crawler or all")
        if target != "all" and target not in self.supervisor.slots:
            raise OperatorError(f"the {target} processor is not running in this console")
        return target

    def toggle(self, target: str) -> str:
        paused = self.supervisor.toggle(self._target(target))
        return f"{target} {'paused' if paused else 'resumed'}"

    def pause(self, target: str) -> str:
        self.supervisor.pause(self._target(target))
        return f"{target} paused"

    def resume(self, target: str) -> str:
        self.supervisor.resume(self._target(target))
        return f"{target} resumed"

    # ------------------------------------------------------------------ queue
    @staticmethod
    def parse_names(text: str) -> list[str]:
        """Split on commas/whitespace and validate every name; raise with *all* the problems."""
        raw = [part for part in text.replace(",", " ").split() if part]
        if not raw:
            raise OperatorError("enter at least one username")
        names: list[str] = []
        problems: list[str] = []
        for part in raw:
            try:
                names.append(normalize_username(part))
            except InvalidUsername as exc:
                problems.append(f"{part}: {exc.reason}")
        if problems:
            raise OperatorError("; ".join(problems))
        return names

    async def add(self, names: Sequence[str], priority: Priority = Priority.HIGH, source: str = "manual") -> str:
        results = await self.queue.enqueue(list(names), priority, source)
        if "queue" in self.supervisor.slots:
            self.supervisor.wake("queue")
        return "\n".join(r.describe() for r in results)

    async def bump(self, username: str, priority: Priority) -> str:
        from ..core.store.queue_store import ItemNotFound

        try:
            item = await self.queue.bump(username, priority)
        except (ItemNotFound, InvalidUsername) as exc:
            raise OperatorError(str(exc)) from None
        return f"{item.username} is now {item.priority.value}"

    async def retry(self, username: str | None) -> str:
        try:
            n = await self.queue.retry(username)
        except InvalidUsername as exc:
            raise OperatorError(str(exc)) from None
        if "queue" in self.supervisor.slots:
            self.supervisor.wake("queue")
        if username is None:
            return f"{n} failed item{'s' if n != 1 else ''} queued again"
        if n == 0:
            raise OperatorError(f"{username} has no failed item to retry")
        return f"{username} queued again"

    async def retry_job(self, job_id: int) -> str:
        """A failed analysis job back to pending; its failed run resumes at the stage that failed."""
        from ..core.viral import api

        try:
            job = await api.retry_job(self.supervisor.runtime, job_id)
        except (api.JobNotFound, ValueError) as exc:
            raise OperatorError(str(exc)) from None
        if "viral" in self.supervisor.slots:
            self.supervisor.wake("viral")
        return f"job {job.id} (@{job.primary_username}) queued again"

    async def remove(self, username: str) -> str:
        try:
            n = await self.queue.remove(username)
        except InvalidUsername as exc:
            raise OperatorError(str(exc)) from None
        if n == 0:
            raise OperatorError(f"{username} is not in the queue")
        return f"{username} removed from the queue"

    async def set_concurrency(self, args: dict[str, int]) -> str:
        if "queue" not in self.supervisor.slots:
            raise OperatorError("the queue processor is not running in this console")
        return await self.supervisor.apply_command("set_concurrency", args)

    # ------------------------------------------------------------------ crawler and jobs
    async def run_crawler(self, seeds: Sequence[str] = ()) -> str:
        from . import engine_api

        return await engine_api.request_crawl(self.supervisor, list(seeds))

    async def create_job(self, primary: str, competitors: Sequence[str], strategy: dict[str, str] | None) -> str:
        from . import engine_api

        return await engine_api.create_job(self.supervisor, primary, list(competitors), strategy)

    # ------------------------------------------------------------------ the ``:`` line
    async def execute(self, line: str) -> CommandResult:
        """Run one ``:`` command; refusals come back as ``error=True`` results, never as exceptions."""
        try:
            return await self._execute(line)
        except OperatorError as exc:
            return CommandResult(str(exc), error=True)
        except ValueError as exc:
            return CommandResult(str(exc), error=True)

    async def _execute(self, line: str) -> CommandResult:
        try:
            words = shlex.split(line.strip().lstrip(":"))
        except ValueError as exc:
            raise OperatorError(f"cannot parse the command: {exc}") from None
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
                target = args[0].lower() if args else "all"
                return CommandResult(self.pause(target) if verb == "pause" else self.resume(target))
            case "bump" | "raise" | "lower":
                if not args:
                    raise OperatorError(f"usage: :{verb} NAME" + (" high|low" if verb == "bump" else ""))
                default = "low" if verb == "lower" else "high"
                priority = Priority.parse(args[1] if len(args) > 1 else default)
                return CommandResult(await self.bump(args[0], priority))
            case "add":
                priority = Priority.HIGH
                if args and args[-1].lower() in ("high", "low"):
                    priority = Priority.parse(args.pop())
                return CommandResult(await self.add(self.parse_names(" ".join(args)), priority))
            case "retry":
                if not args:
                    raise OperatorError("usage: :retry NAME|all")
                return CommandResult(await self.retry(None if args[0].lower() == "all" else args[0]))
            case "remove" | "delete" | "rm" | "cancel":
                if not args:
                    raise OperatorError(f"usage: :{verb} NAME")
                return CommandResult(ui_action="confirm_remove", argument=normalize_username(args[0]))
            case "crawl":
                return CommandResult(await self.run_crawler(self.parse_names(" ".join(args)) if args else ()))
            case "concurrency" | "conc":
                return CommandResult(await self.set_concurrency(_concurrency_args(args)))
            case _:
                raise OperatorError(f"unknown command :{verb} — type :help for the list")


def _concurrency_args(args: list[str]) -> dict[str, Any]:
    """``N [high N] [low N]`` → the supervisor's set_concurrency arguments."""
    out: dict[str, Any] = {}
    try:
        rest = list(args)
        if rest and rest[0].isdigit():
            out["max_concurrent"] = int(rest.pop(0))
        while rest:
            key = rest.pop(0).lower()
            if key not in ("high", "low") or not rest:
                raise OperatorError("usage: :concurrency N [high N] [low N]")
            out[f"max_{key}"] = int(rest.pop(0))
    except ValueError:
        raise OperatorError("usage: :concurrency N [high N] [low N] (whole numbers)") from None
    if not out or any(v < 1 for v in out.values()):
        raise OperatorError("usage: :concurrency N [high N] [low N] (numbers ≥ 1)")
    return out
