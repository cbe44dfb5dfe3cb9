"""One heartbeat and one dead-owner recovery for every lease this process holds (docs/leases.md).

Before this, the queue, the viral jobs and the crawler each ran their own heartbeat loop and
their own notion of recovery, and only the queue took back work from a dead process at once.
Now each of them registers a :class:`LeaseHolder` — a callable listing the leases it holds
right now, and what to do when one is lost — with the process's single :class:`LeaseKeeper`,
which renews all of them in one database round trip per beat and, while an engine processor
asks for it, periodically hands back the work of dead or expired owners in all three tables.

A lease is lost when the renewal finds the row no longer held by its owner (an operator
removed it, or it expired and was taken over). The holder's ``on_lost`` is told — the
processors cancel the work — and the lease is remembered in ``holder.lost`` so inline work (a
crawl) can check at its next safe point without a database trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from .clock import Clock, to_iso
from .store.leases import Lease, recover_sync, renew_sync

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.database import Database

__all__ = ["LeaseHolder", "LeaseKeeper", "Recovered"]

log = logging.getLogger("viralspot.leases")

Recovered = dict[str, list[Any]]
"""Per table name, the labels (queue usernames, job and crawl ids) of the rows handed back."""

_MIN_INTERVAL = 0.05


class LeaseHolder:
    """One registration with the keeper: a source of held leases and its callbacks."""

    def __init__(
        self,
        keeper: LeaseKeeper,
        name: str,
        leases: Callable[[], Iterable[Lease]],
        lease_seconds: float,
        on_lost: Callable[[Lease], None] | None,
        on_recovered: Callable[[Recovered], None] | None,
        recover_every: float | None,
    ) -> None:
        self.keeper = keeper
        self.name = name
        self.leases = leases
        self.lease_seconds = lease_seconds
        self.on_lost = on_lost
        self.on_recovered = on_recovered
        self.recover_every = recover_every
        self.lost: set[Lease] = set()

    def is_lost(self, lease: Lease) -> bool:
        return lease in self.lost

    def close(self) -> None:
        """Stop renewing this holder's leases (call it after its work is finished or handed back)."""
        self.keeper._remove(self)


class LeaseKeeper:
    """Renews every registered lease in one write per beat; recovers dead owners' work."""

    def __init__(self, db: Database, clock: Clock, *, host: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.host = host or socket.gethostname()
        self._holders: list[LeaseHolder] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @staticmethod
    def of(runtime: Runtime) -> LeaseKeeper:
        """The runtime's one keeper (created on first use)."""
        keeper = runtime.extras.get("lease_keeper")
        if keeper is None:
            keeper = runtime.extras["lease_keeper"] = LeaseKeeper(runtime.db, runtime.clock)
        return keeper  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ registration
    def register(
        self,
        name: str,
        leases: Callable[[], Iterable[Lease]],
        *,
        lease_seconds: float,
        on_lost: Callable[[Lease], None] | None = None,
        on_recovered: Callable[[Recovered], None] | None = None,
        recover_every: float | None = None,
    ) -> LeaseHolder:
        """Start renewing whatever ``leases()`` lists, every third of ``lease_seconds``.

        ``recover_every`` (engine processors): also run :meth:`recover` at least that often;
        ``on_recovered`` is told about every recovery that handed something back.
        """
        holder = LeaseHolder(self, name, leases, lease_seconds, on_lost, on_recovered, recover_every)
        self._holders.append(holder)
        self._changed.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="leases:keeper")
        return holder

    def hold(self, lease: Lease, *, lease_seconds: float, name: str = "lease") -> LeaseHolder:
        """Keep one lease alive (a foreground job or crawl); check ``holder.is_lost(lease)``."""
        return self.register(name, lambda: (lease,), lease_seconds=lease_seconds)

    def _remove(self, holder: LeaseHolder) -> None:
        if holder in self._holders:
            self._holders.remove(holder)
        self._changed.set()
        if not self._holders and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        self._holders.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ the two round trips
    async def beat(self) -> list[Lease]:
        """Renew every held lease in one write; returns (and reports) the ones lost."""
        now = self.clock.now()
        wanted: list[tuple[LeaseHolder, Lease]] = [(h, lease) for h in list(self._holders) for lease in h.leases()]
        if not wanted:
            return []
        entries = [(lease, to_iso(now + timedelta(seconds=h.lease_seconds)) or "") for h, lease in wanted]
        kept = await self.db.write(renew_sync, entries, to_iso(now))
        lost: list[Lease] = []
        still_held: dict[int, set[Lease]] = {}
        for holder, lease in wanted:
            if lease in kept:
                continue
            # Only what the holder still lists: work that finished during the trip is not "lost".
            if id(holder) not in still_held:
                still_held[id(holder)] = set(holder.leases())
            if lease not in still_held[id(holder)]:
                continue
            lost.append(lease)
            holder.lost.add(lease)
            log.warning("%s: lease of %s row %s lost (%s)", holder.name, lease.table.name, lease.row_id, lease.owner)
            if holder.on_lost is not None:
                holder.on_lost(lease)
        return lost

    async def recover(self) -> Recovered:
        """Hand back, in all three tables, rows whose lease expired or whose owner died here.

        One write; run at a processor's start-up and periodically while an engine runs.
        """
        recovered: Recovered = await self.db.write(partial(recover_sync, host=self.host), to_iso(self.clock.now()))
        if recovered:
            log.info("recovered leases: %s", {t: len(v) for t, v in recovered.items()})
            for holder in list(self._holders):
                if holder.on_recovered is not None:
                    holder.on_recovered(recovered)
        return recovered

    # ------------------------------------------------------------------ the loop
    def _intervals(self) -> tuple[float | None, float | None]:
        beats = [h.lease_seconds / 3 for h in self._holders]
        recoveries = [h.recover_every for h in self._holders if h.recover_every is not None]
        beat = max(_MIN_INTERVAL, min(beats)) if beats else None
        recover = max(_MIN_INTERVAL, min(recoveries)) if recoveries else None
        return beat, recover

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = next_recover = loop.time()
        beat_every, recover_every = self._intervals()
        next_beat += beat_every or 0
        next_recover += recover_every or 0
        while self._holders and self.db.is_open:  # a closed runtime ends the loop too
            due = min(t for t, every in ((next_beat, beat_every), (next_recover, recover_every)) if every) - loop.time()
            self._changed.clear()
            if due > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=due)
                if self._changed.is_set():  # holders changed: their intervals may have too
                    new_beat, new_recover = self._intervals()
                    if new_beat is not None and new_beat != beat_every:
                        next_beat = min(next_beat, loop.time() + new_beat)
                    if new_recover is not None and new_recover != recover_every:
                        next_recover = min(next_recover, loop.time() + new_recover)
                    beat_every, recover_every = new_beat, new_recover
                    continue
            now = loop.time()
            try:
                if beat_every and now >= next_beat:
                    next_beat = now + beat_every
                    await self.beat()
                if recover_every and now >= next_recover:
                    next_recover = now + recover_every
                    await self.recover()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be busy or closing: try at the next beat
                log.exception("lease keeper round failed")
