"""The Supabase queue backend: a shared remote queue mirrored into the local SQLite queue.

Several consoles work one ``public.queue`` in a Supabase project (docs/supabase.md). The
processors never talk to Supabase: as with the CSV backend they claim, run and finish rows of
the local queue. This backend keeps the two in step, one cheap step per ``sync()``:

0. **Forward** rows added here (names the crawler finds) to the shared queue with
   ``queue_enqueue``; until then they wait locally, unclaimable (supabase_mirror.py).
1. **Push** the outcome of every mirrored row whose local lease ended (the trigger of SQLite
   migration 0004 marks them): COMPLETED → ``queue_complete``, FAILED → ``queue_fail``
   (permanent), a transient failure → ``queue_fail`` (the server schedules the retry). Each
   call is fenced by the remote lease token kept in ``supabase_mirror``; a push whose answer
   is lost is retried with the same token and answered "already". The completion call also
   claims the next batch for the slots it frees (one REST call per item: docs/supabase.md).
2. **Renew** the remote leases of every row still mirrored (one ``queue_heartbeat`` for all,
   every third of the lease). A token the server reports lost belongs to someone else now:
   its local row is deleted, which stops a running worker at its next lease beat.
3. **Claim** a batch sized to the free local slots (``queue_claim`` with a request id that is
   kept until an answer arrives, so a retried claim returns the same rows) and insert the rows
   as local PENDING rows. When the server says HIGH work waits while LOW items run here, HIGH
   items are claimed for the LOW slots: their local arrival makes the LOW items pause at their
   next step boundary, as with a local HIGH add (docs/priority.md).

4. **Web-form viral jobs**: renew, report and claim the viral jobs the ViralSpot web form
   submitted, for the viral processor's free slots (supabase_web_jobs.py).

Every few seconds ``console_beat`` registers this console and brings back the shared switches,
the number of consoles sharing the RapidAPI key and whether HIGH work waits (supabase_presence.py).

Paused or released rows keep their remote lease (the item is resumed here, from its
checkpoint); ``stop()`` gives every lease not finished back with ``queue_release``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import datetime
from typing import Any

from ..clock import to_iso
from .base import BackendState
from .supabase_client import RemoteRow, SupabaseError, SupabaseQueue
from .supabase_mirror import (
    FORWARD,
    drop_lost_sync,
    ended_sync,
    forwarded_sync,
    held_sync,
    insert_claimed_sync,
    mark_pushed_sync,
    unforwarded_sync,
)
from .supabase_offline import OfflineSync
from .supabase_presence import ConsolePresence
from .supabase_web_jobs import WebFormJobs

__all__ = ["SupabaseBackend"]

log = logging.getLogger("viralspot.supabase")
IDLE_CLAIM_SECONDS = 1.0  # an empty claim is repeated at most this often
START_ATTEMPTS = 3
START_RETRY_SECONDS = 1.0
RETRY_HORIZON = 60.0  # a remote retry due this soon keeps a batch run (--exit-when-idle) going


class SupabaseBackend:
    def __init__(self, runtime: Any, client: SupabaseQueue | None = None) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.client = client or SupabaseQueue.from_settings(settings)
        self.lease_seconds = settings.supabase.lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.presence = ConsolePresence(runtime, self.client, self.owner)
        self.busy = True  # work may wait remotely until a claim comes back empty
        self.messages: list[str] = []
        self.claimed_total = 0
        self.pushed_total = 0
        self._request_id: str | None = None  # a claim whose answer has not arrived yet
        self._last_claim_empty = 0.0
        self._last_heartbeat = 0.0
        self._high_waiting = False
        self._error: str | None = None
        self._refused = False  # start() refused: the final stop() must not call the server
        self.outbox = OfflineSync(runtime, self.client, self._note)  # outbox + offline: docs/supabase-outbox.md
        self.web_jobs = WebFormJobs(runtime, self.client, self.owner, self._note)  # docs/supabase-results.md

    # -------------------------------------------------------------- QueueBackend
    async def start(self) -> None:
        """Register the console and take the first batch.

        A refused key, missing functions, or a server still unreachable after a few tries stop
        the start with a :class:`ConfigError` (exit 2) naming the variable to check."""
        from ...config import ConfigError

        self.runtime.queue.new_rows_not_before = FORWARD
        await self.client.connect()
        for attempt in range(START_ATTEMPTS):
            try:
                await self.presence.beat(force=True)
                await self.outbox.start()  # capture on; the project must have the outbox functions
                break
            except SupabaseError as exc:
                if exc.transient and attempt + 1 < START_ATTEMPTS:
                    await asyncio.sleep(START_RETRY_SECONDS)
                    continue
                self._refused = True
                await self.client.close()
                hint = f" (SUPABASE_URL is {self.client.url})" if exc.transient else ""
                raise ConfigError(f"{exc}{hint}") from None
        await self.sync()

    async def sync(self) -> None:
        """Outbox first, then the queue steps; offline, only a probe (docs/supabase-outbox.md)."""
        if not self.outbox.may_call():
            await self.outbox.while_offline()
            return
        try:
            await self.outbox.step()  # the probe when offline, then drain: nothing is claimed before
            await self._forward()
            await self._push()
            await self._heartbeat()
            await self._claim()
            await self.web_jobs.step(paused=self.presence.shared_paused)
            if await self.presence.beat() is not None:
                self._high_waiting = self._high_waiting or self.presence.high_waiting
            self._error = None
        except SupabaseError as exc:
            self._offline(exc)
            self.busy = True  # a batch run waits for the server to come back
            await self.outbox.went_offline()

    async def push_outbox(self) -> Any:
        """``viralspot outbox retry`` while this engine runs: replay the outbox now."""
        return await self.outbox.drain()

    async def stop(self) -> None:
        """Push what finished, give back every other lease, leave the console registry."""
        if self._refused:
            return
        try:
            await self.outbox.drain()
            await self.web_jobs.report()  # after the drain: a finished job's results are there first
            await self._forward()
            await self._push(claim=False)
            held = [h for h in await self.runtime.db.read(held_sync) if h[2] != "PROCESSING"]
            if held:
                answer = await self.client.release([token for _, token, *_ in held], pause=False)
                ids = [local_id for local_id, *_ in held]
                await self.runtime.db.write(mark_pushed_sync, ids, ids)  # theirs again: never run here unleased
                self._note(f"gave {len(answer.released)} unfinished item(s) back to the shared queue")
            await self.presence.leave()
        except SupabaseError as exc:
            self._offline(exc)
        finally:
            await self.client.close()

    def state(self) -> BackendState:
        return BackendState(
            description=f"supabase {self.client.host}{self.presence.describe()}",
            online=self.online,
            outbox_depth=self.outbox.depth,
            outbox_oldest_age=self.outbox.oldest_age,
            messages=tuple(self.messages[-5:]),
            busy=self.busy,
            held=self.presence.held(),
        )

    # -------------------------------------------------------------- the steps
    async def _forward(self) -> None:
        rows = await self.runtime.db.read(unforwarded_sync)
        if not rows:
            return
        items = [
            {"username": name, "priority": prio, "source": source, "max_attempts": attempts}
            for _, name, prio, source, attempts in rows
        ]
        answer = await self.client.enqueue(items)
        await self.runtime.db.write(forwarded_sync, [local_id for local_id, *_ in rows])
        added = sum(1 for r in answer if r.outcome != "already_queued")
        self.busy, self._last_claim_empty = True, 0.0
        self._note(f"sent {len(rows)} name(s) found here to the shared queue ({added} new there)")

    def _claim_size(self, held: list[tuple[int, str, str, str]]) -> tuple[int, int | None]:
        """How many to claim, and how many of them may be LOW (``None``: no cap).

        When the server says HIGH work waits while LOW items run here, HIGH items are claimed
        for the LOW slots too (their arrival pauses the LOW items, docs/priority.md)."""
        if self.presence.shared_paused:
            return 0, None
        free = self.runtime.settings.queue.max_concurrent - len(held)
        low_running = sum(1 for _, _, status, prio in held if status == "PROCESSING" and prio == "LOW")
        high_local = any(prio == "HIGH" and status != "PROCESSING" for _, _, status, prio in held)
        if self._high_waiting and low_running and not high_local:
            return max(free, 0) + low_running, max(free, 0)
        return free, None

    def _claim_due(self) -> bool:
        return self._request_id is not None or time.monotonic() - self._last_claim_empty >= IDLE_CLAIM_SECONDS

    async def _push(self, *, claim: bool = True) -> None:
        ended = await self.runtime.db.read(ended_sync)
        if not ended:
            return
        done: list[int] = []
        park: list[int] = []
        completed = [(i, token) for i, token, status, *_ in ended if status == "COMPLETED"]
        if completed:
            await self._complete(completed, claim=claim)
            done += [i for i, _ in completed]
        for local_id, token, status, error, attempts, claimed in ended:
            if status == "COMPLETED":
                continue
            if status == "FAILED" or (status == "PENDING" and attempts >= claimed):
                qs = self.runtime.settings.queue
                await self.client.fail(
                    token,
                    error or "failed",
                    permanent=status == "FAILED",
                    backoff_base=qs.retry_base_seconds,
                    backoff_max=qs.retry_max_seconds,
                )
                done.append(local_id)
                if status == "PENDING":
                    park.append(local_id)  # the server schedules the retry; it may go to any console
                    self.busy, self._last_claim_empty = True, 0.0
        if done:
            await self.runtime.db.write(mark_pushed_sync, done, park)
            self.pushed_total += len(done)

    async def _complete(self, completed: list[tuple[int, str]], *, claim: bool) -> None:
        """One call: complete these items and claim the next batch for the freed slots."""
        limit, low_limit = 0, None
        if claim and self._claim_due():
            held = await self.runtime.db.read(held_sync)
            limit, low_limit = self._claim_size(held)
        if limit > 0:
            self._request_id = self._request_id or str(uuid.uuid4())
        answer = await self.client.complete(
            [token for _, token in completed],
            owner=self.owner,
            request_id=self._request_id,
            claim_limit=max(limit, 0),
            lease_seconds=self.lease_seconds,
            low_limit=low_limit,
        )
        if limit > 0:
            self._request_id, self._high_waiting = None, False
            await self._claimed(answer.claimed, asked=limit)
        self._high_waiting = self._high_waiting or answer.high_waiting
        if answer.stale:
            self._note(f"{len(answer.stale)} completion(s) came too late: another console took the item over")
            await self.outbox.superseded(answer.stale)

    async def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat < self.lease_seconds / 3:
            return
        held = await self.runtime.db.read(held_sync)
        self._last_heartbeat = time.monotonic()
        if not held:
            return
        answer = await self.client.heartbeat([token for _, token, *_ in held], self.lease_seconds)
        self._high_waiting = answer.high_waiting
        await self.outbox.renewed(answer.renewed)
        if answer.lost:
            names = await self.runtime.db.write(drop_lost_sync, answer.lost)
            self._note(f"lost the lease of {len(names)} item(s) to another console: {', '.join(names[:5])}")

    async def _claim(self) -> None:
        held = await self.runtime.db.read(held_sync)
        limit, low_limit = self._claim_size(held)
        if (limit <= 0 and self._request_id is None) or not self._claim_due():
            return
        self._request_id = self._request_id or str(uuid.uuid4())
        asked = max(limit, 1)
        rows = await self.client.claim(self.owner, self._request_id, asked, self.lease_seconds, low_limit)
        self._request_id = None
        self._high_waiting = False
        await self._claimed(rows, asked=asked)

    async def _claimed(self, rows: list[RemoteRow], *, asked: int) -> None:
        """Mirror what a claim brought; a short batch means the server has no more for now."""
        if len(rows) < asked:
            self._last_claim_empty = time.monotonic()
        if not rows:
            self.busy = await self._retry_due_soon()
            return
        self.busy = True
        await self.runtime.db.write(insert_claimed_sync, rows, to_iso(self.runtime.clock.now()))
        self.outbox.claimed(rows)
        self.claimed_total += len(rows)
        self.runtime.events.emit(
            "supabase.claimed", f"claimed {len(rows)} item(s) from {self.client.host}", level="debug"
        )

    async def _retry_due_soon(self) -> bool:
        """Nothing claimable now: is there still work that may come here? (idle detection, as locally)

        Yes while other consoles hold items (they may fail them into a retry, or die and leave
        them to be taken over when their lease runs out), or a retry falls due within a minute."""
        summary = await self.client.summary()
        try:
            if any(c["status"] == "PROCESSING" and int(c["count"]) > 0 for c in summary["counts"]):
                return True
            waiting = sum(int(c["count"]) for c in summary["counts"] if c["status"] in ("PENDING", "PAUSED"))
            due, now = summary.get("next_retry_at"), datetime.fromisoformat(str(summary["now"]))
            if due is None:  # every waiting row is due now: the claim just missed them (a retry falling due)
                return waiting > 0
            return (datetime.fromisoformat(str(due)) - now).total_seconds() <= RETRY_HORIZON
        except (KeyError, ValueError) as exc:
            raise SupabaseError(f"Supabase queue_summary: unexpected answer ({exc})", transient=False) from None

    # -------------------------------------------------------------- reporting
    @property
    def online(self) -> bool:
        """Reachable as of the last call: one flag, kept where the offline rules are (supabase_offline.py)."""
        return self.outbox.online

    def _offline(self, exc: SupabaseError) -> None:
        message = str(exc)
        self.outbox.online = False
        if message != self._error:
            self._error = message
            self._note(f"{self.client.host} unreachable, retrying: {message}", level="warning")
            log.warning("supabase: %s", message)

    def _note(self, message: str, level: str = "info") -> None:
        self.messages.append(message)
        del self.messages[:-50]
        self.runtime.events.emit("supabase.note", message, level=level)
