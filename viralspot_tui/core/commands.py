"""The engine's small command language, shared by other processes, the TUI ``:`` line and tests.

Keeping one interpreter means ``viralspot pause crawler`` from a shell, ``:pause crawler`` in
the console and a control row written by a script all do exactly the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["apply_command", "COMMANDS"]

COMMANDS = ("pause", "resume", "wake", "set_concurrency", "quit")


async def apply_command(supervisor: "Supervisor", command: str, args: dict[str, Any]) -> str:
    match command:
        case "pause":
            target = str(args.get("target", "all"))
            supervisor.pause(target)
            return f"paused {target}"
        case "resume":
            target = str(args.get("target", "all"))
            supervisor.resume(target)
            return f"resumed {target}"
        case "wake":
            target = str(args.get("target", "all"))
            for name in supervisor.slots if target == "all" else [target]:
                supervisor.wake(name)
            return f"woke {target}"
        case "set_concurrency":
            queue = supervisor.processor("queue")
            set_caps = queue.set_concurrency
            set_caps(
                max_concurrent=args.get("max_concurrent"), max_high=args.get("max_high"), max_low=args.get("max_low")
            )
            return "concurrency set to " + ", ".join(f"{k}={v}" for k, v in args.items())
        case "quit":
            supervisor.quit_requested.set()
            return "quit requested"
        case _:
            raise ValueError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
