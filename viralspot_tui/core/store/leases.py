"""Fenced leases, one mechanism for every table that hands out work (see docs/leases.md).

Queue items, viral ideas jobs and crawl requests are all "claimed" by a worker that may die at
any moment (kill -9, power loss, a closed laptop). Each claimed row carries a lease: an owner
and an expiry. The owner is the fencing token: it is unique per claim, and every write a worker
makes to its row (renew, complete, fail, release, progress) matches on it, so a worker whose
lease was taken over changes nothing. A row whose lease expired, or whose owner is a process on
this machine that no longer exists, is *recovered*: handed back as pending, to resume from its
checkpoints.

The three tables differ only in names — which column holds the owner, which status means
"held", what "back to pending" sets — so they are described by a small :class:`LeaseTable` and
every statement here is built from one, with all values bound as parameters.

A lease owner is ``host:pid:uuid:...``. The uuid makes each process start unique, so a
restarted worker with a recycled pid never inherits a dead one's leases; host and pid let a
restart on the same machine recognise leases of a process that is certainly gone.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .queue_reads import group_moves, move_counts_sync

__all__ = [
    "CRAWLS",
    "JOBS",
    "QUEUE",
    "TABLES",
    "Lease",
    "LeaseLost",
    "claim_owner",
    "LeaseTable",
    "fenced_update_sync",
    "new_instance_id",
    "owner_is_dead_here",
    "recover_sync",
    "renew_sync",
]


class LeaseLost(RuntimeError):
    """The work is no longer ours (the lease expired and was taken over, or it was cancelled)."""


def new_instance_id() -> str:
    """``host:pid:uuid`` — unique per process start; the prefix of every lease it takes."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_CLAIMS = itertools.count(1)


def claim_owner(instance_id: str, kind: str) -> str:
    """A fresh owner for one claim: ``<instance>:<kind>:<seq>``, never reused in this process, so
    a late write of an earlier claim of the same row is refused (the owner is the fencing token)."""
    return f"{instance_id}:{kind}:{next(_CLAIMS)}"


def owner_is_dead_here(owner: str, host: str) -> bool:
    """True only when the owner ran on this host and its pid no longer exists.

    A process killed with SIGKILL can linger as a zombie until it is reaped; that counts as dead.
    """
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@dataclass(frozen=True)
class LeaseTable:
    """How one table stores its leases. Every table has ``id``, ``lease_expires_at`` and
    ``updated_at``; the fragments below are fixed SQL written here, never caller input."""

    name: str
    owner: str
    """The column holding the lease owner (the fencing token)."""
    held: str
    """A predicate true for rows a worker holds (and may renew, finish or lose)."""
    recover_set: str
    """What recovery sets besides clearing the lease; may use ``:now`` and ``:dead`` (a JSON
    array of the dead owners, to tell a killed worker from an expired one)."""
    label: str
    """The column recovery returns for each recovered row (for the operator's message)."""
    counted: tuple[str, str] | None = None
    """(held status, recovered status) when the table's counts are kept by its writers: the
    queue's ``queue_counts`` (migration 7), adjusted by recovery in its own transaction."""

    @property
    def returned(self) -> str:
        """What recovery returns per row: the label, and the priority when counts are kept."""
        return self.label + (", priority" if self.counted else "")

    @property
    def clear(self) -> str:
        """The SET fragment that gives the lease up."""
        return f"{self.owner} = NULL, lease_expires_at = NULL"


QUEUE = LeaseTable(
    name="queue",
    owner="lease_owner",
    held="status = 'PROCESSING'",
    # The attempt counted at claim is given back: a lost worker is not the item's fault.
    recover_set="status = 'PENDING', attempts = MAX(attempts - 1, 0), last_error = CASE"
    " WHEN lease_owner IN (SELECT value FROM json_each(:dead)) THEN 'worker process died, requeued'"
    " ELSE 'lease expired: worker lost, requeued' END",
    label="username",
    counted=("PROCESSING", "PENDING"),
)
JOBS = LeaseTable(
    name="viral_ideas_queue",
    owner="lease_owner",
    held="status IN ('processing','paused')",  # a job paused at a stage boundary keeps its lease
    recover_set="status = 'pending'",
    label="id",
)
CRAWLS = LeaseTable(
    name="crawler_requests",
    owner="owner",
    held="status = 'running'",
    recover_set="status = 'pending'",
    label="id",
)
TABLES: tuple[LeaseTable, ...] = (QUEUE, JOBS, CRAWLS)


def _known(table: LeaseTable) -> LeaseTable:
    """Only the three tables above: their names and fragments are interpolated into SQL."""
    if table not in TABLES:
        raise ValueError(f"not a lease table: {table.name!r}")
    return table


@dataclass(frozen=True)
class Lease:
    """One held row: the table, its id and the owner written at claim."""

    table: LeaseTable
    row_id: int
    owner: str


def fenced_update_sync(
    conn: sqlite3.Connection,
    table: LeaseTable,
    row_id: int,
    owner: str,
    now: str,
    set_sql: str,
    params: dict[str, Any] | None = None,
) -> bool:
    """``UPDATE … SET set_sql`` on one row, only while ``owner`` still holds it; True if it did.

    ``set_sql`` is a fixed fragment from the calling store (values go in ``params``; ``:now``
    is bound to ``now``); ``updated_at`` is stamped here.
    """
    _known(table)
    values = {**(params or {}), "now": now, "lease_id": row_id, "lease_owner": owner}
    cur = conn.execute(
        f"UPDATE {table.name} SET {set_sql}, updated_at = :now"
        f" WHERE id = :lease_id AND {table.owner} = :lease_owner AND {table.held}",
        values,
    )
    return cur.rowcount == 1


def renew_sync(conn: sqlite3.Connection, leases: Iterable[tuple[Lease, str]], now: str) -> set[Lease]:
    """Extend every ``(lease, new expiry)`` still held by its owner; returns the leases kept.

    One UPDATE per table whatever the number of leases (the pairs travel as one JSON array),
    all inside the caller's single transaction: this is the heartbeat's one round trip.
    """
    by_table: dict[LeaseTable, list[tuple[Lease, str]]] = {}
    for lease, expires in leases:
        by_table.setdefault(lease.table, []).append((lease, expires))
    kept: set[Lease] = set()
    for table, entries in by_table.items():
        _known(table)
        wanted = {(lease.row_id, lease.owner): lease for lease, _ in entries}
        rows = conn.execute(
            f"UPDATE {table.name} SET lease_expires_at = r.expires, updated_at = :now"
            " FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner,"
            " json_extract(value, '$[2]') AS expires FROM json_each(:leases)) AS r"
            f" WHERE {table.name}.id = r.id AND {table.name}.{table.owner} = r.owner AND {table.held}"
            f" RETURNING {table.name}.id, {table.name}.{table.owner}",
            {"now": now, "leases": json.dumps([[lease.row_id, lease.owner, exp] for lease, exp in entries])},
        ).fetchall()
        kept.update(wanted[(r[0], r[1])] for r in rows if (r[0], r[1]) in wanted)
    return kept


def _existing(conn: sqlite3.Connection, tables: Sequence[LeaseTable]) -> list[LeaseTable]:
    names = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (SELECT value FROM json_each(?))",
            (json.dumps([t.name for t in tables]),),
        )
    }
    return [t for t in tables if t.name in names]


def recover_sync(
    conn: sqlite3.Connection,
    now: str,
    *,
    host: str | None = None,
    tables: Sequence[LeaseTable] = TABLES,
    expired: bool = True,
    dead: bool = True,
) -> dict[str, list[Any]]:
    """Hand back every held row whose lease expired or whose owner died on this host.

    Returns, per table name, the labels of the rows recovered (only tables with some). A held
    row without an expiry can never be renewed, so it counts as expired. Tables not created in
    this database yet are skipped.
    """
    host = host or socket.gethostname()
    recovered: dict[str, list[Any]] = {}
    for table in _existing(conn, [_known(t) for t in tables]):
        dead_owners: list[str] = []
        if dead:
            owners = conn.execute(
                f"SELECT DISTINCT {table.owner} FROM {table.name} WHERE {table.held} AND {table.owner} IS NOT NULL"
            ).fetchall()
            dead_owners = sorted(o[0] for o in owners if owner_is_dead_here(o[0], host))
        conditions = []
        if expired:
            conditions.append("lease_expires_at IS NULL OR lease_expires_at < :now")
        if dead_owners:
            conditions.append(f"{table.owner} IN (SELECT value FROM json_each(:dead))")
        if not conditions:
            continue
        rows = conn.execute(
            f"UPDATE {table.name} SET {table.recover_set}, {table.clear}, updated_at = :now"
            f" WHERE {table.held} AND ({' OR '.join(conditions)}) RETURNING {table.returned}",
            {"now": now, "dead": json.dumps(dead_owners)},
        ).fetchall()
        if rows and table.counted:
            move_counts_sync(conn, group_moves((r[1] for r in rows), *table.counted))
        if rows:
            recovered[table.name] = [r[0] for r in rows]
    return recovered
