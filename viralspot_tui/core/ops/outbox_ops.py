"""Outbox actions: what waits for Supabase, what it refused, and "send it now" (docs/supabase-outbox.md).

``outbox_list`` reads the local outbox (any backend: with CSV it is simply empty). ``outbox_retry``
moves the chosen rejected entries (or all) to the end of the sequence, then replays what waits:
through the running engine when there is one (a control row it answers, or in-process for the
console), so only one process ever pushes a database's outbox; directly otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .queue_ops import uses_supabase
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..store.outbox_store import OutboxStore
    from .link import EngineLink

__all__ = ["OutboxActions", "push_outbox_here"]

ANSWER_TIMEOUT = 30.0


async def push_outbox_here(runtime: "Runtime", backend: Any = None) -> str:
    """Replay the outbox from this process: through ``backend`` (a running Supabase backend, which
    owns the pusher) when given, else with a client of its own."""
    from ...config import ConfigError
    from ..backends.supabase_client import SupabaseError, SupabaseQueue
    from ..backends.supabase_outbox import OutboxPusher
    from ..store.outbox_store import OutboxStore

    client = None
    try:
        if backend is not None and hasattr(backend, "push_outbox"):
            report = await backend.push_outbox()
        else:
            client = SupabaseQueue.from_settings(runtime.settings)
            report = await OutboxPusher(OutboxStore(runtime.db, runtime.clock), client).push()
    except ConfigError as exc:
        raise OpError(str(exc), ErrorKind.USAGE) from None
    except SupabaseError as exc:
        raise OpError(f"{exc}; the outbox keeps its entries for the next try", ErrorKind.ENGINE) from None
    finally:
        if client is not None:
            await client.close()
    if report.halted:
        raise OpError(report.halted, ErrorKind.REFUSED)
    return report.summary()


class OutboxActions:
    runtime: "Runtime"
    link: "EngineLink"

    def _outbox(self) -> "OutboxStore":
        from ..store.outbox_store import OutboxStore

        return OutboxStore(self.runtime.db, self.runtime.clock)

    async def outbox_list(self, limit: int = 100) -> OpResult:
        store = self._outbox()
        listing = await store.listing(limit)
        client = await store.client()
        count, age = await store.depth()
        settled = [e.json() for e in listing["settled"]]
        data = {
            "client_id": client.client_id,
            "capture": client.capture,
            "acked_through": client.acked_through,
            "max_seq": client.max_seq,
            "server_seq": client.server_seq,
            "halted": client.halted,
            "depth": count,
            "oldest_age_seconds": None if age is None else round(age, 1),
            "waiting": [e.json() for e in listing["waiting"]],
            "settled": settled,
        }
        age_text = f", oldest {age:.0f} s old" if age is not None else ""
        message = f"outbox: {count} waiting{age_text}, {len(settled)} rejected or superseded"
        return OpResult(message, data=data)

    async def outbox_retry(self, seqs: list[int] | None = None) -> OpResult:
        """Re-queue rejected entries (``seqs``, or every rejected one) and replay what waits now."""
        if seqs is not None and any(s < 1 for s in seqs):
            raise OpError("outbox seqs are whole numbers ≥ 1", ErrorKind.USAGE)
        moved = await self._outbox().retry(seqs)
        if seqs is not None and len(moved) != len(set(seqs)):
            found = {old for old, _ in moved}
            missing = ", ".join(str(s) for s in sorted(set(seqs) - found))
            note = f"not a rejected entry: {missing}"
        else:
            note = ""
        lines = [f"seq {old} queued again as seq {new}" for old, new in moved] + ([note] if note else [])
        if not uses_supabase(self.runtime.settings):
            lines.append("queue.backend is not supabase: nothing is sent")
            return OpResult(lines[-1], lines=tuple(lines), data={"moved": moved}, exit_code=1 if note else 0)
        lines.append(await self._replay())
        return OpResult(lines[-1], lines=tuple(lines), data={"moved": moved}, exit_code=1 if note else 0)

    async def _replay(self) -> str:
        from .link import ControlLink, InProcessLink, decode_answer

        if isinstance(self.link, InProcessLink):
            return await push_outbox_here(self.runtime, self.link.supervisor.backend)
        if isinstance(self.link, ControlLink) and await self.link.engine_running():
            channel = self.link.channel
            answer = await channel.wait_result(await channel.post("outbox_push"), timeout=ANSWER_TIMEOUT)
            if answer is None:
                raise OpError(f"outbox: the running engine did not answer within {ANSWER_TIMEOUT:.0f} s")
            ok, message = decode_answer(answer.result)
            if not ok:
                raise OpError(message, ErrorKind.ENGINE)
            return message
        return await push_outbox_here(self.runtime)
