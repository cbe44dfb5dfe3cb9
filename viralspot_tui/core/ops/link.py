"""How an operator action reaches the engine: in this process, or through the control channel.

The operations layer never asks *where* the engine is. It is handed an :class:`EngineLink`:

- :class:`InProcessLink` when the engine runs in this process (the console, its ``:`` line and
  palette, and the supervisor applying control rows for other processes);
- :class:`ControlLink` for a command-line invocation: it reads the engine's published heartbeat,
  posts a control row and waits for the answer when an engine is alive, and otherwise records
  the request where the next engine start finds it.

Both answer the same questions (is a processor hosted, wake it, pause it, change concurrency),
so each action is written once. See docs/architecture.md ("One way in").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from ..control import ControlChannel, read_engine
from .results import ErrorKind, OpError

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..supervisor import Supervisor

__all__ = ["EngineLink", "InProcessLink", "ControlLink", "PROCESSORS", "TARGETS", "check_target"]

PROCESSORS = ("queue", "viral", "crawler")
TARGETS = (*PROCESSORS, "all")
ANSWER_TIMEOUT = 5.0


def check_target(target: str) -> str:
    name = target.strip().lower()
    if name not in TARGETS:
        raise OpError(f"unknown processor {target!r}: choose queue, viral, crawler or all", ErrorKind.USAGE)
    return name


class EngineLink(Protocol):
    async def engine_running(self) -> bool: ...

    async def hosted(self) -> set[str] | None:
        """Processors the engine hosts; ``None`` when no engine runs."""

    async def wake(self, name: str) -> bool:
        """Make a processor look for work now; True when a running engine was told."""

    async def steer(self, command: str, target: str) -> str:
        """``pause`` or ``resume`` a target; returns the message to show."""

    async def is_paused(self, name: str) -> bool: ...

    async def set_concurrency(self, caps: dict[str, int]) -> str: ...

    async def stop_item(self, username: str) -> None:
        """A removed item may be running: have its worker stop now."""


class InProcessLink:
    """The engine is right here: call the supervisor directly."""

    def __init__(self, supervisor: "Supervisor") -> None:
        self.supervisor = supervisor

    async def engine_running(self) -> bool:
        return True

    async def hosted(self) -> set[str] | None:
        return set(self.supervisor.slots)

    async def wake(self, name: str) -> bool:
        if name not in self.supervisor.slots:
            return False
        self.supervisor.wake(name)
        return True

    def _names(self, target: str) -> str:
        name = target.strip().lower()
        if name not in TARGETS and name not in self.supervisor.slots:
            check_target(name)  # raises: unknown processor
        if name != "all" and name not in self.supervisor.slots:
            hosted = ", ".join(self.supervisor.slots) or "none"
            raise OpError(f"the {name} processor is not running in this engine (hosted: {hosted})", ErrorKind.USAGE)
        return name

    async def steer(self, command: str, target: str) -> str:
        name = self._names(target)
        await self.supervisor.steer(command, name)
        return f"{name} {'paused' if command == 'pause' else 'resumed'}"

    async def is_paused(self, name: str) -> bool:
        return name in self.supervisor.slots and self.supervisor.is_paused(name)

    async def stop_item(self, username: str) -> None:
        self.supervisor.stop_item(username)

    async def set_concurrency(self, caps: dict[str, int]) -> str:
        if "queue" not in self.supervisor.slots:
            raise OpError("the queue processor is not running in this engine", ErrorKind.USAGE)
        try:
            self.supervisor.set_concurrency(**caps)
        except ValueError as exc:
            raise OpError(str(exc), ErrorKind.USAGE) from None
        return "concurrency set to " + ", ".join(f"{k}={v}" for k, v in caps.items())


class ControlLink:
    """Another process may host the engine: talk to it through the shared database."""

    def __init__(self, runtime: "Runtime", timeout: float = ANSWER_TIMEOUT) -> None:
        self.runtime = runtime
        self.channel = ControlChannel(runtime.db, runtime.clock)
        self.timeout = timeout

    async def _engine(self) -> Any:
        now = self.runtime.clock.now()
        return await self.runtime.db.read(read_engine, now)

    async def engine_running(self) -> bool:
        return bool((await self._engine()).alive)

    async def hosted(self) -> set[str] | None:
        engine = await self._engine()
        return set(engine.processors) if engine.alive else None

    async def _ask(self, command: str, **args: Any) -> str:
        """Post a control row and wait for the engine's answer (exit 1 when it does not come)."""
        command_id = await self.channel.post(command, **args)
        answer = await self.channel.wait_result(command_id, timeout=self.timeout)
        if answer is None:
            raise OpError(
                f"{command}: sent, but the running engine did not answer within {self.timeout:.0f} s", ErrorKind.ENGINE
            )
        ok, message = decode_answer(answer.result)
        if not ok:
            raise OpError(message, ErrorKind.USAGE if message.startswith("unknown") else ErrorKind.ENGINE)
        return message

    async def wake(self, name: str) -> bool:
        if await self.engine_running():
            await self.channel.post("wake", target=name)
            return True
        if name == "queue":
            await sync_queue_file_now(self.runtime)
        return False

    async def steer(self, command: str, target: str) -> str:
        name = check_target(target)
        engine = await self._engine()
        if engine.alive:
            if name != "all" and name not in engine.processors:
                hosted = ", ".join(engine.processors) or "none"
                raise OpError(
                    f"the running engine does not host the {name} processor (hosted: {hosted})", ErrorKind.USAGE
                )
            return await self._ask(command, target=name)
        stored = set(json.loads(await self.channel.get_state("paused") or "[]"))
        names = set(PROCESSORS) if name == "all" else {name}
        stored = stored | names if command == "pause" else stored - names
        await self.channel.set_state("paused", json.dumps(sorted(stored)))
        return f"no engine running; {name} will start {'paused' if command == 'pause' else 'running'}"

    async def is_paused(self, name: str) -> bool:
        engine = await self._engine()
        if engine.alive:
            return engine.processors.get(name) == "paused"
        return name in set(json.loads(await self.channel.get_state("paused") or "[]"))

    async def stop_item(self, username: str) -> None:
        if await self.engine_running():
            await self.channel.post("stop_item", username=username)

    async def set_concurrency(self, caps: dict[str, int]) -> str:
        if not await self.engine_running():
            raise OpError("no engine is running: set queue.max_concurrent in viralspot.toml instead")
        return await self._ask("set_concurrency", **caps)


def encode_answer(ok: bool, message: str) -> str:
    return json.dumps({"ok": ok, "message": message})


def decode_answer(result: str | None) -> tuple[bool, str]:
    """An engine's answer to a control row: ``{"ok": …, "message": …}`` (older rows: plain text)."""
    if not result:
        return True, "done"
    try:
        value = json.loads(result)
    except ValueError:
        return not result.startswith("error"), result
    if isinstance(value, dict) and "ok" in value:
        return bool(value["ok"]), str(value.get("message", ""))
    return True, result


async def sync_queue_file_now(runtime: "Runtime") -> None:
    """No engine runs: bring the CSV queue file up to date at once (merge edits, write statuses
    back), so the file an operator looks at matches what the command just did."""
    queue = runtime.settings.queue
    if queue.backend == "csv" and queue.queue_file is not None and queue.queue_file.is_file():
        from ..backends.csv_backend import CsvBackend

        await CsvBackend(runtime, queue.queue_file).stop()
