"""Queue actions: add, bump, retry, remove, list, concurrency (see docs/queue.md).

Each action validates its input (usernames as docs/queue.md describes), makes one store call,
wakes the queue processor when the change gives it work, and says what happened in words an
operator understands: including when nothing changed and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..models.queue import ACTIVE_STATUSES, EnqueueOutcome, Priority, QueueItem, Status, normalize_source
from ..models.usernames import InvalidUsername, normalize_username
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .link import EngineLink
    from .remote_queue import RemoteQueueActions

__all__ = ["QueueActions", "DEFAULT_PRIORITY", "split_names", "parse_names", "parse_priority", "uses_supabase"]

DEFAULT_PRIORITY = Priority.LOW
"""One default for every way in (console ``a``, ``:add``, ``queue add``): LOW, the original
system's column default. HIGH is always one choice away (docs/cli.md, "Defaults")."""

ACTIVE = ACTIVE_STATUSES


def uses_supabase(settings: object) -> bool:
    """Whether the queue's home is the shared Supabase queue (``queue.backend = supabase``).

    Here rather than in remote_queue.py, so the CSV backend's commands never import the remote
    actions and their models (docs/startup.md)."""
    return getattr(getattr(settings, "queue", None), "backend", "csv") == "supabase"


def split_names(text: str | Iterable[str]) -> list[str]:
    """Names as typed: separated by commas or whitespace."""
    parts = text if not isinstance(text, str) else [text]
    return [p for chunk in parts for p in chunk.replace(",", " ").split() if p]


def parse_names(text: str | Iterable[str]) -> list[str]:
    """Validate every typed name, raising one :class:`OpError` that lists *all* the problems (the
    console's dialogs show it inline, so one bad name is fixed without retyping the list)."""
    raw = split_names(text)
    if not raw:
        raise OpError("enter at least one username", ErrorKind.USAGE)
    names: list[str] = []
    problems: list[str] = []
    for part in raw:
        try:
            names.append(normalize_username(part))
        except InvalidUsername as exc:
            problems.append(f"{part}: {exc.reason}")
    if problems:
        raise OpError("; ".join(problems), ErrorKind.USAGE)
    return names


def parse_priority(value: str | Priority | None) -> Priority:
    if value is None:
        return DEFAULT_PRIORITY
    try:
        return Priority.parse(value) if isinstance(value, str) else Priority(value)
    except ValueError:
        raise OpError(f"unknown priority {value!r}: choose high or low", ErrorKind.USAGE) from None


def username(raw: str) -> str:
    try:
        return normalize_username(raw)
    except InvalidUsername as exc:
        raise OpError(str(exc), ErrorKind.USAGE) from None


class QueueActions:
    runtime: "Runtime"
    link: "EngineLink"

    def _remote(self) -> "RemoteQueueActions | None":
        """The shared Supabase queue when it is the queue's home (see remote_queue.py)."""
        settings = self.runtime.settings
        if not uses_supabase(settings):
            return None
        from .remote_queue import RemoteQueueActions

        return RemoteQueueActions(settings, self.runtime)

    async def _wake(self, name: str) -> tuple[str, ...]:
        return (name,) if await self.link.wake(name) else ()

    async def add(
        self, names: Sequence[str] | str, priority: str | Priority | None = None, source: str = "manual"
    ) -> OpResult:
        """Enqueue every valid name (docs/queue.md, "Enqueue"); invalid ones are refused by name.

        ``names`` is typed text (split on commas and spaces) or a list with one name per entry.

        Exit code 2 when every name was invalid, 1 when some were, else 0.
        """
        prio = parse_priority(priority)
        try:
            source = normalize_source(source)
        except ValueError as exc:
            raise OpError(f"source {source!r:.60}: {exc}", ErrorKind.USAGE) from None
        raw = split_names(names) if isinstance(names, str) else list(names)  # a list: one name per entry
        if not raw:
            raise OpError("enter at least one username", ErrorKind.USAGE)
        valid: list[str] = []
        refused: list[str] = []
        for part in raw:
            try:
                valid.append(normalize_username(part))
            except InvalidUsername as exc:
                refused.append(f"refused: {exc}")
        if not valid:
            raise OpError("\n".join(refused), ErrorKind.USAGE)
        if (remote := self._remote()) is not None:
            return await remote.add(valid, prio, source, refused, len(raw))
        results = await self.runtime.queue.enqueue(valid, prio, source=source)
        woke = await self._wake("queue")
        lines = tuple(r.describe() for r in results) + tuple(refused)
        added = sum(1 for r in results if r.outcome is not EnqueueOutcome.ALREADY_QUEUED)
        summary = f"{added} of {len(raw)} name(s) queued at {prio.value}" if refused else "\n".join(lines)
        return OpResult(
            summary,
            lines=lines,
            data=[r.model_dump(mode="json") for r in results],
            exit_code=1 if refused else 0,
            woke=woke,
        )

    async def _active(self, name: str) -> QueueItem | None:
        item = await self.runtime.queue.get(name)
        return item if item is not None and item.status in ACTIVE else None

    async def bump(self, name: str, priority: str | Priority = Priority.HIGH) -> OpResult:
        """Change the priority of a name's active item, and wake the queue processor."""
        user, prio = username(name), parse_priority(priority)
        if (remote := self._remote()) is not None:
            return await remote.bump(user, prio)
        before = await self._active(user)
        if before is None:
            raise OpError(f"{user} has no pending, running or paused item to re-prioritise", ErrorKind.NOT_FOUND)
        if before.priority == prio:
            return OpResult(
                f"{user} is already {prio.value} ({before.status.value}): nothing changed",
                data=before.model_dump(mode="json"),
            )
        from ..store.queue_store import ItemNotFound

        try:
            item = await self.runtime.queue.bump(user, prio)
        except ItemNotFound as exc:  # finished between the two reads
            raise OpError(str(exc), ErrorKind.NOT_FOUND) from None
        woke = await self._wake("queue")
        return OpResult(
            f"{item.username} is now {item.priority.value} ({item.status.value})",
            data=item.model_dump(mode="json"),
            woke=woke,
        )

    async def retry(self, name: str | None) -> OpResult:
        """FAILED → PENDING with fresh attempts: one name, or every failed item (``None``)."""
        user = username(name) if name is not None else None
        if (remote := self._remote()) is not None:
            return await remote.retry(user)
        count = await self.runtime.queue.retry(user)
        woke = await self._wake("queue") if count else ()
        if user is None:
            return OpResult(
                f"{count} failed item{'s' if count != 1 else ''} queued again", data={"retried": count}, woke=woke
            )
        if count:
            return OpResult(f"{user} queued again", data={"retried": count}, woke=woke)
        item = await self.runtime.queue.get(user)
        if item is None:
            raise OpError(f"{user} is not in the queue", ErrorKind.NOT_FOUND)
        if item.status is Status.COMPLETED:
            raise OpError(f"{user} is COMPLETED, not FAILED: nothing to retry (`queue add {user}` refreshes it)")
        raise OpError(f"{user} is {item.status.value}, not FAILED: nothing to retry")

    async def remove(self, name: str) -> OpResult:
        """Cancel a name's active item (a running one is fenced off) and forget its history."""
        user = username(name)
        if (remote := self._remote()) is not None:
            return await remote.remove(user)
        before = await self.runtime.queue.get(user)
        count = await self.runtime.queue.remove(user)
        if count == 0:
            raise OpError(f"{user} is not in the queue", ErrorKind.NOT_FOUND)
        running = before is not None and before.status is Status.PROCESSING
        if running:
            await self.link.stop_item(user)
        woke = await self._wake("queue")  # the queue file drops the row
        note = " (it was running: its worker was stopped)" if running else ""
        return OpResult(f"{user} removed from the queue ({count} row(s)){note}", data={"removed": count}, woke=woke)

    async def list_items(self, status: str | Status | None = None, limit: int | None = None) -> OpResult:
        try:
            wanted = Status.parse(status) if isinstance(status, str) else status
        except ValueError:
            raise OpError(f"unknown status {status!r}", ErrorKind.USAGE) from None
        if (remote := self._remote()) is not None:
            return await remote.list_items(wanted, limit)
        items = await self.runtime.queue.list(wanted, limit=limit)
        return OpResult(f"{len(items)} item(s)", data=items)

    async def set_concurrency(self, caps: dict[str, int]) -> OpResult:
        if not caps or any(int(v) < 1 for v in caps.values()):
            raise OpError("concurrency caps must be whole numbers ≥ 1", ErrorKind.USAGE)
        return OpResult(await self.link.set_concurrency({k: int(v) for k, v in caps.items()}))
