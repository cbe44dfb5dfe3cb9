"""Answer the control rows other processes post (``viralspot pause crawler`` and friends).

Each row is carried out by the operations layer with an in-process link to this engine, so a
command from a shell and the same command typed in the console are one code path; the answer
goes back into the row as ``{"ok": …, "message": …}`` for the waiting command to print and to
choose its exit code from (docs/cli.md, "Control commands").
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..control import ControlChannel
from ..ops.link import encode_answer
from ..ops.results import OpError

if TYPE_CHECKING:
    from ..supervisor import Supervisor

__all__ = ["ControlPoller"]

log = logging.getLogger("viralspot.control")


class ControlPoller:
    def __init__(self, supervisor: "Supervisor", every: float = 0.5) -> None:
        runtime = supervisor.runtime
        self.supervisor = supervisor
        self.channel = ControlChannel(runtime.db, runtime.clock, owner=runtime.instance_id)
        self.every = every

    async def step(self) -> int:
        """Apply every pending row once; returns how many were applied."""
        ops = self.supervisor.operations()
        pending = await self.channel.fetch_pending()
        for cmd in pending:
            try:
                result = await ops.apply_control(self.supervisor, cmd.command, cmd.args)
                answer, ok = result.message, True
            except OpError as exc:
                answer, ok = str(exc), False
            except Exception as exc:  # noqa: BLE001 - the caller is told, the engine goes on
                log.exception("control command %s failed", cmd.command)
                answer, ok = f"{type(exc).__name__}: {exc}", False
            await self.channel.mark_applied(cmd.id, encode_answer(ok, answer))
            self.supervisor.runtime.events.emit(
                "control.applied", f"control: {cmd.command} → {answer}", level="info" if ok else "warning"
            )
        return len(pending)

    async def pending(self) -> int:
        return await self.channel.pending_count()

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("control poll failed")
            await asyncio.sleep(self.every)
