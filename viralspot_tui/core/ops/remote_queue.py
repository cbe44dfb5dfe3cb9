"""The queue actions on the shared Supabase queue (``queue.backend = supabase``).

With the Supabase backend the queue lives in the project, not in this machine's SQLite file
(which only mirrors the items this machine leased): ``queue add``, ``list``, ``bump``,
``retry`` and ``remove`` act on the remote queue through its SQL functions (docs/supabase.md),
so they work from any machine and every console sees the change at its next claim. The caller
(:class:`~viralspot_tui.core.ops.queue_ops.QueueActions`) validates the input first, exactly as
for the local queue; the messages and result shapes here are the local ones, so scripts and the
console read both alike. Remote failures become :class:`OpError`: a refused key or a missing
setting is a usage error (exit 2), anything else an engine error (exit 1); the key is never shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..models.queue import EnqueueOutcome, EnqueueResult, Priority, Status
from .queue_ops import uses_supabase
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..backends.supabase_client import RemoteRow, SupabaseQueue

__all__ = ["RemoteItem", "RemoteOverview", "RemoteQueueActions", "uses_supabase"]


class RemoteItem(BaseModel):
    """One remote queue row, with the local item's field names (``last_error``, ``id`` a uuid)."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str
    priority: Priority
    status: Status
    source: str = "manual"
    attempts: int = 0
    max_attempts: int = 3
    last_error: str | None = None
    not_before: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, row: "RemoteRow") -> "RemoteItem":
        data = row.model_dump()
        data["last_error"] = data.pop("error_message", None)
        data["source"] = data.get("source") or "manual"
        return cls.model_validate(data)


class RemoteOverview(BaseModel):
    """What ``status`` shows of a shared queue: validated, because it crosses the boundary."""

    host: str
    queue: dict[str, dict[str, int]]  # priority -> status -> count, as the local ``status``
    high_waiting: bool = False
    expired_leases: int = 0
    next_retry_at: datetime | None = None
    paused: bool = False
    paused_by: str | None = None
    consoles: list[dict[str, Any]] = []

    @classmethod
    def of(cls, host: str, summary: Any, switches: Any, consoles: Any) -> "RemoteOverview":
        from ..backends.supabase_presence import SHARED_PAUSE

        try:
            queue: dict[str, dict[str, int]] = {}
            for c in summary.get("counts", []):
                queue.setdefault(str(c["priority"]), {})[str(c["status"])] = int(c["count"])
            switch = (switches or {}).get(SHARED_PAUSE) or {}
            live = [
                {"console": str(c["console_id"]), "host": str(c.get("host", "")), "last_beat_at": c.get("last_beat_at")}
                for c in consoles or []
            ]
            return cls(
                host=host,
                queue=queue,
                high_waiting=bool(summary.get("high_waiting")),
                expired_leases=int(summary.get("expired_leases") or 0),
                next_retry_at=summary.get("next_retry_at"),
                paused=bool(switch.get("value")),
                paused_by=switch.get("updated_by") if switch.get("value") else None,
                consoles=live,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise OpError(f"Supabase queue_summary: unexpected answer ({exc})", ErrorKind.ENGINE) from None


@asynccontextmanager
async def remote_queue(settings: Any) -> AsyncIterator["SupabaseQueue"]:
    """A client for one action; every remote failure becomes an :class:`OpError`."""
    from ...config import ConfigError
    from ..backends.supabase_client import SupabaseError, SupabaseQueue

    try:
        client = SupabaseQueue.from_settings(settings)
    except ConfigError as exc:
        raise OpError(str(exc), ErrorKind.USAGE) from None
    try:
        yield client
    except SupabaseError as exc:
        refused = (exc.code or "").startswith("PGRST3") or exc.code in ("401", "403")
        raise OpError(str(exc), ErrorKind.USAGE if refused else ErrorKind.ENGINE) from None
    except ConfigError as exc:
        raise OpError(str(exc), ErrorKind.USAGE) from None
    finally:
        await client.close()


class RemoteQueueActions:
    """The remote half of the queue actions; input arrives validated and normalised."""

    def __init__(self, settings: Any, runtime: Any = None) -> None:
        self.settings = settings
        self.runtime = runtime  # its database holds the outbox an offline add waits in

    async def add(self, names: list[str], prio: Priority, source: str, refused: list[str], typed: int) -> OpResult:
        from ..backends.supabase_client import SupabaseError

        max_attempts = self.settings.queue.max_attempts
        items = [{"username": n, "priority": prio.value, "source": source, "max_attempts": max_attempts} for n in names]
        unreachable: SupabaseError | None = None
        async with remote_queue(self.settings) as q:
            try:
                rows = await q.enqueue(items)
            except SupabaseError as exc:
                if not exc.transient or self.runtime is None:
                    raise
                unreachable = exc
        if unreachable is not None:
            return await self._add_offline(names, prio, source, refused, unreachable)
        results = [
            EnqueueResult(username=r.username, outcome=EnqueueOutcome(r.outcome), priority=Priority(r.priority))
            for r in rows
        ]
        lines = tuple(r.describe() for r in results) + tuple(refused)
        added = sum(1 for r in results if r.outcome is not EnqueueOutcome.ALREADY_QUEUED)
        summary = f"{added} of {typed} name(s) queued at {prio.value}" if refused else "\n".join(lines)
        data = [{**r.model_dump(mode="json"), "item_id": row.item_id} for r, row in zip(results, rows, strict=True)]
        return OpResult(summary, lines=lines, data=data, exit_code=1 if refused else 0)

    async def _add_offline(
        self, names: list[str], prio: Priority, source: str, refused: list[str], exc: Exception
    ) -> OpResult:
        """Supabase is unreachable: the names wait in the local outbox as one enqueue entry, sent
        in order when it is back (docs/supabase-outbox.md). The server decides then whether each
        is added, raised or already queued."""
        from ..store.outbox_store import OutboxStore

        items = [{"username": n, "priority": prio.value, "source": source} for n in names]
        seq = await OutboxStore(self.runtime.db, self.runtime.clock).add_enqueue(items)
        line = f"queued offline at {prio.value}: {', '.join(names)} (outbox seq {seq}; sent when Supabase is back)"
        lines = (line, f"  Supabase unreachable: {exc}", *refused)
        data = [{"username": n, "outcome": "queued-offline", "priority": prio.value, "seq": seq} for n in names]
        return OpResult(line, lines=lines, data=data, exit_code=1 if refused else 0)

    async def bump(self, user: str, prio: Priority) -> OpResult:
        async with remote_queue(self.settings) as q:
            before = await q.latest(user)
            if before is None or before.status not in ("PENDING", "PROCESSING", "PAUSED"):
                raise OpError(f"{user} has no pending, running or paused item to re-prioritise", ErrorKind.NOT_FOUND)
            if before.priority == prio.value:
                return OpResult(
                    f"{user} is already {prio.value} ({before.status}): nothing changed",
                    data=RemoteItem.of(before).model_dump(mode="json"),
                )
            rows = await q.bump([user], prio.value)
        if not rows:  # finished between the two calls
            raise OpError(f"{user} has no pending, running or paused item", ErrorKind.NOT_FOUND)
        item = RemoteItem.of(rows[0])
        return OpResult(
            f"{item.username} is now {item.priority.value} ({item.status.value})", data=item.model_dump(mode="json")
        )

    async def retry(self, user: str | None) -> OpResult:
        async with remote_queue(self.settings) as q:
            count = len(await q.retry([user] if user is not None else None))
            if user is None:
                return OpResult(f"{count} failed item{'s' if count != 1 else ''} queued again", data={"retried": count})
            if count:
                return OpResult(f"{user} queued again", data={"retried": count})
            item = await q.latest(user)
        if item is None:
            raise OpError(f"{user} is not in the queue", ErrorKind.NOT_FOUND)
        if item.status == "COMPLETED":
            raise OpError(f"{user} is COMPLETED, not FAILED: nothing to retry (`queue add {user}` refreshes it)")
        raise OpError(f"{user} is {item.status}, not FAILED: nothing to retry")

    async def remove(self, user: str) -> OpResult:
        async with remote_queue(self.settings) as q:
            before = await q.latest(user)
            rows = await q.remove([user])
        count = sum(r.removed for r in rows)
        if count == 0:
            raise OpError(f"{user} is not in the queue", ErrorKind.NOT_FOUND)
        running = before is not None and before.status == "PROCESSING"
        note = " (it was running: its console stops it when its lease is next renewed)" if running else ""
        return OpResult(f"{user} removed from the queue ({count} row(s)){note}", data={"removed": count})

    async def list_items(self, wanted: Status | None, limit: int | None) -> OpResult:
        async with remote_queue(self.settings) as q:
            rows = await q.list([wanted.value] if wanted is not None else None, limit=min(limit or 10000, 10000))
        items = [RemoteItem.of(r) for r in rows]
        return OpResult(f"{len(items)} item(s)", data=items)

    async def set_paused(self, paused: bool) -> str:
        """The shared queue switch every console obeys within a beat (supabase_presence.py)."""
        import os
        import socket

        from ..backends.supabase_presence import SHARED_PAUSE

        async with remote_queue(self.settings) as q:
            await q.control_set(SHARED_PAUSE, paused, by=f"{socket.gethostname()}:{os.getpid()}")
            host = q.host
        return f"shared queue on {host} {'paused' if paused else 'resumed'} for every console"

    async def overview(self) -> dict[str, Any]:
        """Counts by priority and status, live consoles and switches, for ``status``."""
        async with remote_queue(self.settings) as q:
            summary = await q.summary()
            switches = await q.control_get()
            consoles = await q.call("console_list")
            host = q.host
        return RemoteOverview.of(host, summary, switches, consoles).model_dump(mode="json")
