"""The crawler's own tables: requests, round history, blocklist and the daily call budget.

Everything the crawler must remember across processes lives here, in the shared SQLite file:
a ``viralspot crawl`` in one shell records a request that the engine in another picks up; the
round history survives restarts (so the console shows it at once and an interrupted crawl
resumes where it stopped); the blocklist is edited by operators while the engine runs; and the
budget must be counted per UTC day across every process that spends it. Each method is one
round trip to the database thread (docs/queue.md, "Concurrency"); claims and budget reservations are single
transactions so two processes can never take the same request or overspend the day.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..clock import Clock, from_iso, to_iso
from ..models.usernames import normalize_username
from ..store.database import Database
from ..store.leases import CRAWLS, Lease, fenced_update_sync, recover_sync
from .models import CrawlOutcome, CrawlRequest, Drop, RequestStatus, RoundReport

__all__ = ["CrawlerStore"]

_REQ_COLS = (
    "id, seeds, target, max_rounds, source, status, outcome, rounds_done, queued, error, owner,"
    " created_at, started_at, finished_at"
)
_ROUND_COLS = (
    "request_id, round, seed, found, dropped, drops, duplicates, duplicate_names, queued_names,"
    " calls, error, started_at, finished_at"
)


def _request(row: sqlite3.Row | tuple[Any, ...]) -> CrawlRequest:
    (
        id_,
        seeds,
        target,
        max_rounds,
        source,
        status,
        outcome,
        rounds_done,
        queued,
        error,
        owner,
        created,
        started,
        finished,
    ) = tuple(row)
    return CrawlRequest(
        id=id_,
        seeds=json.loads(seeds),
        target=target,
        max_rounds=max_rounds,
        source=source,
        status=RequestStatus(status),
        outcome=CrawlOutcome(outcome) if outcome else None,
        rounds_done=rounds_done,
        queued=queued,
        error=error,
        owner=owner,
        created_at=from_iso(created),  # type: ignore[arg-type]  # NOT NULL column
        started_at=from_iso(started),
        finished_at=from_iso(finished),
    )


def _round(row: sqlite3.Row | tuple[Any, ...]) -> RoundReport:
    (
        request_id,
        round_no,
        seed,
        found,
        dropped,
        drops,
        duplicates,
        duplicate_names,
        queued_names,
        calls,
        error,
        started,
        finished,
    ) = tuple(row)
    return RoundReport(
        request_id=request_id,
        round=round_no,
        seed=seed,
        found=found,
        dropped=json.loads(dropped),
        drops=[Drop.model_validate(d) for d in json.loads(drops)],
        duplicates=duplicates,
        duplicate_names=json.loads(duplicate_names),
        queued=json.loads(queued_names),
        calls=calls,
        error=error,
        started_at=from_iso(started),
        finished_at=from_iso(finished),
    )


class CrawlerStore:
    """Async access to the crawler tables; ``clock`` stamps rows and defines the UTC day."""

    def __init__(self, db: Database, clock: Clock, *, lease_seconds: float = 300.0) -> None:
        self.db = db
        self.clock = clock
        self.lease_seconds = lease_seconds

    def _now(self) -> str:
        return to_iso(self.clock.now())  # type: ignore[return-value]

    def _lease(self) -> str:
        return to_iso(self.clock.now() + timedelta(seconds=self.lease_seconds))  # type: ignore[return-value]

    # ------------------------------------------------------------------ requests
    async def create_request(
        self, seeds: Iterable[str], target: int, max_rounds: int, source: str = "cli"
    ) -> CrawlRequest:
        """Record a crawl; seeds are validated (InvalidUsername) before anything is written."""
        names = list(dict.fromkeys(normalize_username(s) for s in seeds))
        if target < 1 or max_rounds < 1:
            raise ValueError("target and rounds must be at least 1")
        now = self._now()
        row = await self.db.write(
            lambda c: c.execute(
                "INSERT INTO crawler_requests (seeds, target, max_rounds, source, created_at, updated_at)"
                f" VALUES (?, ?, ?, ?, ?, ?) RETURNING {_REQ_COLS}",
                (json.dumps(names), target, max_rounds, source, now, now),
            ).fetchone()
        )
        return _request(row)

    async def claim(self, owner: str, request_id: int | None = None) -> CrawlRequest | None:
        """Atomically take the oldest pending request (or a given one) and lease it to ``owner``.

        ``owner`` must be fresh for this claim (:func:`~viralspot_tui.core.store.leases.claim_owner`):
        it is the fencing token renew, release and finish must present (docs/leases.md).
        """
        where = "status = 'pending'" + (" AND id = :id" if request_id is not None else "")
        now = self._now()
        row = await self.db.write(
            lambda c: c.execute(
                "UPDATE crawler_requests SET status = 'running', owner = :owner, lease_expires_at = :lease,"
                " started_at = COALESCE(started_at, :now), updated_at = :now"
                f" WHERE id = (SELECT id FROM crawler_requests WHERE {where} ORDER BY id LIMIT 1)"
                f" RETURNING {_REQ_COLS}",
                {"owner": owner, "lease": self._lease(), "now": now, "id": request_id},
            ).fetchone()
        )
        return _request(row) if row else None

    def lease(self, request_id: int, owner: str) -> Lease:
        """The lease a claim took, for the process's LeaseKeeper to renew."""
        return Lease(CRAWLS, request_id, owner)

    async def renew(self, request_id: int, owner: str) -> bool:
        """Extend one lease; False means the request is no longer ours (the engine renews through
        the one LeaseKeeper instead)."""
        return await self.db.write(
            fenced_update_sync,
            CRAWLS,
            request_id,
            owner,
            self._now(),
            "lease_expires_at = :lease",
            {"lease": self._lease()},
        )

    async def release(self, request_id: int, owner: str) -> bool:
        """Hand an interrupted crawl back to pending; it resumes from its recorded rounds."""
        return await self.db.write(
            fenced_update_sync, CRAWLS, request_id, owner, self._now(), f"status = 'pending', {CRAWLS.clear}"
        )

    async def recover_expired(self) -> int:
        """Crawls whose owner stopped renewing its lease, or whose process died on this machine,
        become pending: the crawls' part of the LeaseKeeper's recovery (docs/leases.md)."""
        recovered = await self.db.write(partial(recover_sync, tables=(CRAWLS,)), self._now())
        return len(recovered.get(CRAWLS.name, []))

    async def finish(
        self,
        request_id: int,
        owner: str,
        status: RequestStatus,
        outcome: CrawlOutcome | None,
        error: str | None = None,
    ) -> bool:
        """Record the crawl's end, only while ``owner`` holds it; the owner stays on the row as history."""
        return await self.db.write(
            fenced_update_sync,
            CRAWLS,
            request_id,
            owner,
            self._now(),
            "status = :status, outcome = :outcome, error = :error, finished_at = :now, lease_expires_at = NULL",
            {"status": status.value, "outcome": outcome.value if outcome else None, "error": error},
        )

    async def get_request(self, request_id: int) -> CrawlRequest | None:
        row = await self.db.read(
            lambda c: c.execute(f"SELECT {_REQ_COLS} FROM crawler_requests WHERE id = ?", (request_id,)).fetchone()
        )
        return _request(row) if row else None

    async def list_requests(self, limit: int = 20) -> list[CrawlRequest]:
        rows = await self.db.read(
            lambda c: c.execute(
                f"SELECT {_REQ_COLS} FROM crawler_requests ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        )
        return [_request(r) for r in rows]

    async def open_count(self) -> int:
        """Requests pending or running (the processor is idle only when this is zero)."""
        return await self.db.read(
            lambda c: c.execute(
                "SELECT COUNT(*) FROM crawler_requests WHERE status IN ('pending','running')"
            ).fetchone()[0]
        )

    async def last_scheduled_at(self) -> datetime | None:
        value = await self.db.read(
            lambda c: c.execute("SELECT MAX(created_at) FROM crawler_requests WHERE source = 'schedule'").fetchone()[0]
        )
        return from_iso(value)

    # ------------------------------------------------------------------ rounds
    async def record_round(self, report: RoundReport) -> None:
        """Store a round and bump its request's progress in the same transaction."""
        await self.db.write(self._record_round_sync, report)

    @staticmethod
    def _record_round_sync(conn: sqlite3.Connection, r: RoundReport) -> None:
        conn.execute(
            f"INSERT INTO crawler_rounds ({_ROUND_COLS}, dropped_total, queued)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.request_id,
                r.round,
                r.seed,
                r.found,
                json.dumps(r.dropped),
                json.dumps([d.model_dump(mode="json") for d in r.drops]),
                r.duplicates,
                json.dumps(r.duplicate_names),
                json.dumps(r.queued),
                r.calls,
                r.error,
                to_iso(r.started_at),
                to_iso(r.finished_at),
                r.dropped_total,
                len(r.queued),
            ),
        )
        if r.request_id is not None:
            conn.execute(
                "UPDATE crawler_requests SET rounds_done = ?, queued = queued + ?, updated_at = ? WHERE id = ?",
                (r.round, len(r.queued), to_iso(r.finished_at), r.request_id),
            )

    async def rounds_for(self, request_id: int) -> list[RoundReport]:
        rows = await self.db.read(
            lambda c: c.execute(
                f"SELECT {_ROUND_COLS} FROM crawler_rounds WHERE request_id = ? ORDER BY round", (request_id,)
            ).fetchall()
        )
        return [_round(r) for r in rows]

    async def recent_rounds(self, limit: int = 20) -> list[RoundReport]:
        """The newest ``limit`` rounds, oldest first (the order a pane lists them)."""
        rows = await self.db.read(
            lambda c: c.execute(
                f"SELECT {_ROUND_COLS} FROM crawler_rounds ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        )
        return [_round(r) for r in reversed(rows)]

    # ------------------------------------------------------------------ blocklist
    async def block(self, username: str, note: str | None = None) -> bool:
        """Block a username (validated); False if it was already blocked."""
        name = normalize_username(username)
        now = self._now()
        return await self.db.write(
            lambda c: (
                c.execute(
                    "INSERT INTO crawler_blocklist (username, note, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(username) DO NOTHING",
                    (name, note, now),
                ).rowcount
                == 1
            )
        )

    async def unblock(self, username: str) -> bool:
        name = normalize_username(username)
        return await self.db.write(
            lambda c: c.execute("DELETE FROM crawler_blocklist WHERE username = ?", (name,)).rowcount == 1
        )

    async def blocked(self) -> set[str]:
        rows = await self.db.read(lambda c: c.execute("SELECT username FROM crawler_blocklist").fetchall())
        return {r[0] for r in rows}

    # ------------------------------------------------------------------ budget
    async def reserve_calls(self, day: str, wanted: int, limit: int) -> int:
        """Take up to ``wanted`` calls from ``day``'s budget; returns how many were granted.

        ``limit`` 0 means unlimited (the calls are still counted, for the console).
        """
        if wanted <= 0:
            return 0
        return await self.db.write(self._reserve_sync, day, wanted, limit, self._now())

    @staticmethod
    def _reserve_sync(conn: sqlite3.Connection, day: str, wanted: int, limit: int, now: str) -> int:
        row = conn.execute("SELECT calls FROM crawler_budget WHERE day = ?", (day,)).fetchone()
        spent = row[0] if row else 0
        granted = wanted if limit <= 0 else max(0, min(wanted, limit - spent))
        if granted:
            conn.execute(
                "INSERT INTO crawler_budget (day, calls, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(day) DO UPDATE SET calls = calls + excluded.calls, updated_at = excluded.updated_at",
                (day, granted, now),
            )
        return granted

    async def refund_calls(self, day: str, count: int) -> None:
        """Give back reserved calls that were never made."""
        if count > 0:
            await self.db.write(
                lambda c: c.execute("UPDATE crawler_budget SET calls = MAX(0, calls - ?) WHERE day = ?", (count, day))
            )

    async def spent(self, day: str) -> int:
        row = await self.db.read(
            lambda c: c.execute("SELECT calls FROM crawler_budget WHERE day = ?", (day,)).fetchone()
        )
        return row[0] if row else 0
