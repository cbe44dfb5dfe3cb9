"""Steering processors: pause, resume, toggle, and the control rows other processes send.

``apply_control`` is the one interpreter of control commands: the supervisor's control poller
hands it each row another process posted (``viralspot pause crawler``), the console's ``:`` line
and keys reach the same methods in-process. See docs/architecture.md ("Control channel").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .link import PROCESSORS, check_target
from .queue_ops import uses_supabase
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..supervisor import Supervisor
    from .link import EngineLink

__all__ = ["ProcessorActions", "CONTROL_COMMANDS"]

CONTROL_COMMANDS = ("pause", "resume", "wake", "set_concurrency", "stop_item", "outbox_push", "quit")


class ProcessorActions:
    runtime: "Runtime"
    link: "EngineLink"

    async def pause(self, target: str = "all") -> OpResult:
        return await self._steer("pause", target)

    async def resume(self, target: str = "all") -> OpResult:
        return await self._steer("resume", target)

    async def _steer(self, command: str, target: str) -> OpResult:
        """Steer here; on a shared Supabase queue, pausing the queue pauses every console's
        (the shared switch, docs/supabase.md), and this engine at once."""
        name = target.strip().lower()
        if name not in ("queue", "all") or not uses_supabase(self.runtime.settings):
            return OpResult(await self.link.steer(command, target))
        from .remote_queue import RemoteQueueActions

        shared = await RemoteQueueActions(self.runtime.settings).set_paused(command == "pause")
        if not await self.link.engine_running():  # the switch alone decides how a console here starts
            return OpResult(f"{shared}; no engine runs here")
        try:
            here = await self.link.steer(command, target)
        except OpError as exc:  # e.g. this engine hosts no queue processor: the switch still holds
            here = str(exc)
        return OpResult(f"{shared}; here: {here}")

    async def toggle(self, target: str = "all") -> OpResult:
        """Pause if anything targeted runs, else resume (the console's ``space`` and ``p``)."""
        name = target.strip().lower()
        hosted = await self.link.hosted()
        if name == "all":
            names = sorted(hosted) if hosted is not None else list(PROCESSORS)
        else:
            names = [name if hosted is not None and name in hosted else check_target(name)]
        running = [n for n in names if not await self.link.is_paused(n)]
        return await (self.pause(name) if running else self.resume(name))

    async def apply_control(self, supervisor: "Supervisor", command: str, args: dict[str, Any]) -> OpResult:
        """Carry out one control row for the engine hosted here (``supervisor``)."""
        target = str(args.get("target", "all"))
        match command:
            case "pause" | "resume" if args.get("scope") == "here":  # a shared switch arriving: steer only here
                return OpResult(await self.link.steer(command, target))
            case "pause" | "resume":
                return await (self.pause(target) if command == "pause" else self.resume(target))
            case "wake":
                names = list(supervisor.slots) if target == "all" else [target]
                woke = [n for n in names if await self.link.wake(n)]
                return OpResult(f"woke {', '.join(woke) or 'nothing'}", woke=tuple(woke))
            case "set_concurrency":
                caps = {k: int(v) for k, v in args.items() if k in ("max_concurrent", "max_high", "max_low")}
                return OpResult(await self.link.set_concurrency(caps))
            case "stop_item":
                name = str(args.get("username", ""))
                stopped = supervisor.stop_item(name)
                return OpResult(f"{name}: worker stopped" if stopped else f"{name}: not running here")
            case "outbox_push":  # `viralspot outbox retry` while this engine runs (ops/outbox_ops.py)
                from .outbox_ops import push_outbox_here

                return OpResult(await push_outbox_here(self.runtime, supervisor.backend))
            case "quit":
                supervisor.quit_requested.set()
                return OpResult("quit requested")
            case _:
                raise OpError(f"unknown command {command!r}; known: {', '.join(CONTROL_COMMANDS)}", ErrorKind.USAGE)
