"""The outbox pusher: sends the local outbox to Supabase's ``outbox_apply``, in seq order.

Why a sequence and one server function (docs/supabase-outbox.md): the server applies a batch
and records the last seq it holds for this database's client id in the same transaction, so a
batch whose answer was lost is simply sent again and answered "already" — exactly one effect.
The pusher therefore keeps no state of its own beyond the outbox tables:

- each entry is mapped with ``supabase_mapping.to_remote`` when it is sent; a row that does not
  map (``MappingError``) is rejected here with the mapping's reason and sent as a ``skip``, so
  the server's sequence has no hole and the entries behind it still apply;
- the answer is validated; "applied"/"already" are forgotten, "rejected" are kept with the
  server's reason for ``viralspot outbox``; the local ``acked_through`` moves to the answer's
  ``last_seq``;
- a gap answer, and the first push of a run, read the server's record (``outbox_client``): if the
  server holds a seq this database never allocated, the file is an old copy restored over a
  newer one; pushing stops (persisted, so new local entries cannot slip under the server's
  numbers) and the operator is told. A lost answer is not that case: local max seq ≥ server's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..store.outbox_store import OutboxEntry, OutboxStore
from .supabase_client import SupabaseError, SupabaseQueue
from .supabase_web_jobs import sessions_sync

__all__ = ["OutboxPusher", "PushReport", "ApplyAnswer", "fold_repeats", "restored_message"]

log = logging.getLogger("viralspot.supabase.outbox")
BATCH = 500  # entries per outbox_apply call (the server takes up to 1,000): fewer round trips while a backlog drains
# The local tables whose rows belong to a viral job: a web-form job's go under the web form's session_id.
WEB_FORM_TABLES = frozenset(
    {"viral_ideas_queue", "viral_ideas_competitors", "viral_analysis_results", "viral_analysis_reels", "viral_scripts"}
)


# Remote tables whose outbox rows are whole-row snapshots under one natural key (their triggers
# capture every column). A row stored and then updated in one transaction (a profile's reels, then
# their outlier scores) is captured twice; within one batch only the last snapshot matters.
FOLDED_KEYS = {"primary_profiles": "username", "content": "shortcode", "secondary_profiles": "username"}


def fold_repeats(wire: list[dict[str, Any]], entries: list[OutboxEntry]) -> list[dict[str, Any]]:
    """Send a row upserted twice in one batch once: the later snapshot goes at the earlier
    position (what came in between may need the row: content needs its profile) and the later
    seq as ``superseded`` by it, which the server applies only if that upsert applied.

    Only into an entry never sent before: the server cannot have applied it yet (a replayed
    batch after a lost answer is answered "already", and a fold into it would be lost)."""
    if len(wire) != len(entries):
        raise ValueError("one wire mutation per outbox entry")
    first: dict[tuple[str, Any], int] = {}
    out = list(wire)
    for i, w in enumerate(wire):
        key_column = FOLDED_KEYS.get(str(w.get("table"))) if w["kind"] == "upsert" else None
        if key_column is None:
            continue
        key = (str(w["table"]), w["row"].get(key_column))
        j = first.get(key)
        if j is None or entries[j].attempts or out[j].get("refs") != w.get("refs"):
            first[key] = i
            continue
        out[j] = {**out[j], "row": {**out[j]["row"], **w["row"]}}
        out[i] = {"seq": w["seq"], "kind": "superseded", "by": out[j]["seq"]}
    return out


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Rejected(_Model):
    seq: int
    reason: str = "rejected"


class Gap(_Model):
    expected: int
    got: int


class ApplyAnswer(_Model):
    last_seq: int
    applied: list[int] = Field(default_factory=list)
    already: list[int] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    gap: Gap | None = None


class ClientAnswer(_Model):
    known: bool = False
    last_seq: int = 0


@dataclass
class PushReport:
    applied: int = 0
    already: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    halted: str | None = None
    batches: int = 0

    def summary(self) -> str:
        if self.halted:
            return self.halted
        text = f"{self.applied} applied, {self.already} already there, {len(self.rejected)} rejected"
        return f"outbox: {text} ({self.batches} batch(es))"


def restored_message(local: int, server: int) -> str:
    return (
        f"this database is older than what Supabase has recorded for it (local seq {local}, server {server}):"
        " restored from a copy? Nothing is replayed; see docs/supabase-outbox.md"
    )


def _parse(model: type[_Model], data: Any, function: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SupabaseError(
            f"Supabase {function}: unexpected answer ({first['loc']} {first['msg']}); are the migrations current?",
            transient=False,
        ) from None


class OutboxPusher:
    """Drains one database's outbox into one Supabase project."""

    def __init__(self, store: OutboxStore, client: SupabaseQueue, *, batch: int = BATCH) -> None:
        self.store = store
        self.client = client
        self.batch = batch
        self._checked = False  # the server's record was compared once this run

    async def server_seq(self, client_id: str) -> int:
        data = await self.client.call("outbox_client", p_client_id=client_id)
        return _parse(ClientAnswer, data, "outbox_client").last_seq

    async def _check(self, client_id: str, max_seq: int) -> str | None:
        """The restored-copy rule: the server may never hold more than this file allocated."""
        server = await self.server_seq(client_id)
        self._checked = True
        if server > max_seq:
            message = restored_message(max_seq, server)
            await self.store.halt(message, server)
            log.error("supabase outbox: %s", message)
            return message
        return None

    async def _wire(self, entry: OutboxEntry, client_id: str, sessions: dict[int, str]) -> dict[str, Any]:
        from .supabase_mapping import MappingError, enqueue_mutation, to_remote

        if entry.state != "pending" or entry.kind == "note":
            return {"seq": entry.seq, "kind": "skip", "reason": entry.reason or entry.state}
        try:
            if entry.kind == "enqueue":
                return enqueue_mutation(list(entry.payload.get("items", []))).wire(entry.seq)
            row = entry.payload
            job = row.get("id" if entry.local_table == "viral_ideas_queue" else "job_id")
            if entry.local_table in WEB_FORM_TABLES and job in sessions:  # the web form's job: its session_id
                row = {**row, "remote_session_id": sessions[job]}
            return to_remote(str(entry.local_table), row, client_id=client_id).wire(entry.seq)
        except MappingError as exc:
            reason = f"not sent: {exc}"
            await self.store.reject_local(entry.seq, reason)
            return {"seq": entry.seq, "kind": "skip", "reason": reason}

    async def push(self, *, max_batches: int | None = None) -> PushReport:
        """Send everything waiting (or ``max_batches`` batches); a SupabaseError leaves the rest
        waiting, to be sent again, unchanged, at the next push."""
        report = PushReport()
        client = await self.store.client()
        if client.halted:
            report.halted = client.halted
            return report
        if not self._checked and (halted := await self._check(client.client_id, client.max_seq)):
            report.halted = halted
            return report
        gaps = 0
        while max_batches is None or report.batches < max_batches:
            entries = await self.store.pending(self.batch)
            if not entries:
                break
            viral = any(e.local_table in WEB_FORM_TABLES for e in entries)  # else no lookup on the hot path
            sessions = await self.store.db.read(sessions_sync) if viral else {}
            wire = fold_repeats([await self._wire(e, client.client_id, sessions) for e in entries], entries)
            await self.store.count_attempt(entries[0].seq, entries[-1].seq)
            data = await self.client.call("outbox_apply", p_client_id=client.client_id, p_mutations=wire)
            answer: ApplyAnswer = _parse(ApplyAnswer, data, "outbox_apply")
            report.batches += 1
            if answer.gap is not None:
                gaps += 1
                report.halted = await self._gap(client.client_id) if gaps == 1 else self._stuck(answer.gap)
                if report.halted:
                    return report
                continue
            skipped = tuple(w["seq"] for w in wire if w["kind"] == "skip")
            rejected = {r.seq: r.reason for r in answer.rejected}
            await self.store.ack(answer.last_seq, rejected, skipped)
            report.applied += len(answer.applied)
            report.already += len(answer.already)
            report.rejected += sorted(rejected.items())
            for seq, reason in sorted(rejected.items()):
                log.warning("supabase outbox: seq %d rejected: %s", seq, reason)
        return report

    @staticmethod
    def _stuck(gap: Gap) -> str:
        return f"Supabase refused the outbox batch twice with a gap (expected seq {gap.expected}, got {gap.got})"

    async def _gap(self, client_id: str) -> str:
        """The server expects another seq than the one sent first: re-read its record."""
        client = await self.store.client()
        if halted := await self._check(client_id, client.max_seq):
            return halted
        server = await self.server_seq(client_id)
        if server >= client.acked_through:  # it holds more than we knew (a lost answer): move on
            await self.store.ack(server, {})
            return ""
        message = (
            f"Supabase holds seq {server} for this database but acknowledged {client.acked_through} before:"
            " the project was restored or its outbox record removed; pushing stops (docs/supabase-outbox.md)"
        )
        await self.store.halt(message, server)
        log.error("supabase outbox: %s", message)
        return message
