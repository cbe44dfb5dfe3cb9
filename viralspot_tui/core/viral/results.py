"""Per-run results of viral ideas jobs: what each run used, produced and cost (V5, V6, V8).

One ``viral_analysis_results`` row per run doubles as the run's checkpoint: the selection, each
AI stage's validated output and each script are written the moment they exist, so a retried
or crashed run reloads them and resumes at the first stage that has no output yet — the
earlier calls are never paid for twice. ``viral_analysis_reels`` keeps the numbers the reels had
*at analysis time*, so runs can be compared later even though ``content`` keeps changing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import Clock, from_iso, from_iso_required, to_iso
from ..store.database import Database
from .models import RunType

__all__ = ["ResultStore", "Run", "StageUsage"]

_REEL_COLUMNS = (
    "shortcode",
    "username",
    "role",
    "rank",
    "reason",
    "views",
    "likes",
    "comments",
    "outlier_score",
    "engagement_rate",
    "taken_at",
    "caption",
    "transcript_reused",
)
_STAGE_COLUMNS = {"profile_analysis", "generated_hooks"}


@dataclass(frozen=True)
class StageUsage:
    """What one stage (or one call of it) cost."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Run:
    """A run's row, with its checkpoints decoded."""

    id: int
    job_id: int
    run_number: int
    run_type: RunType
    status: str
    started_at: datetime
    since: datetime | None = None
    baseline: dict[str, list[str]] | None = None
    selection_done: bool = False
    profile_analysis: dict[str, Any] | None = None
    hook_analysis: dict[str, dict[str, Any]] = field(default_factory=dict)
    generated_hooks: dict[str, Any] | None = None
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str | None = None
    error: str | None = None
    completed_at: datetime | None = None


def _run(row: sqlite3.Row) -> Run:
    def js(value: str | None) -> Any:
        return json.loads(value) if value else None

    return Run(
        id=row["id"],
        job_id=row["job_id"],
        run_number=row["run_number"],
        run_type=RunType(row["run_type"]),
        status=row["status"],
        started_at=from_iso_required(row["started_at"]),
        since=from_iso(row["since"]),  # type: ignore[arg-type]
        baseline=js(row["baseline"]),
        selection_done=bool(row["selection_done"]),
        profile_analysis=js(row["profile_analysis"]),
        hook_analysis=js(row["hook_analysis"]) or {},
        generated_hooks=js(row["generated_hooks"]),
        usage=js(row["usage"]) or {},
        notes=row["notes"],
        error=row["error"],
        completed_at=from_iso(row["completed_at"]),
    )


def _add_usage(conn: sqlite3.Connection, result_id: int, stage: str, used: StageUsage) -> None:
    """Accumulate a call's usage into the run's per-stage totals (same transaction as its output)."""
    usage = json.loads(
        conn.execute("SELECT usage FROM viral_analysis_results WHERE id = ?", (result_id,)).fetchone()[0] or "{}"
    )
    cur = usage.get(stage, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0})
    cur = {
        "calls": cur["calls"] + used.calls,
        "prompt_tokens": cur["prompt_tokens"] + used.prompt_tokens,
        "completion_tokens": cur["completion_tokens"] + used.completion_tokens,
        "cost_usd": round(cur["cost_usd"] + used.cost_usd, 8),
    }
    usage[stage] = cur
    conn.execute(
        "UPDATE viral_analysis_results SET usage = ?, total_tokens = total_tokens + ?,"
        " total_cost_usd = total_cost_usd + ? WHERE id = ?",
        (json.dumps(usage, sort_keys=True), used.prompt_tokens + used.completion_tokens, used.cost_usd, result_id),
    )


class ResultStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def open_run(self, job_id: int) -> tuple[Run, bool]:
        """Resume the job's unfinished run, or start the next one. Returns (run, resumed)."""
        now = to_iso(self.clock.now())

        def write(conn: sqlite3.Connection) -> tuple[Run, bool]:
            last = conn.execute(
                "SELECT * FROM viral_analysis_results WHERE job_id = ? ORDER BY run_number DESC LIMIT 1", (job_id,)
            ).fetchone()
            if last is not None and last["status"] != "completed":
                conn.execute(
                    "UPDATE viral_analysis_results SET status = 'running', error = NULL WHERE id = ?", (last["id"],)
                )
                return _run(
                    conn.execute("SELECT * FROM viral_analysis_results WHERE id = ?", (last["id"],)).fetchone()
                ), True
            run_type = RunType.INITIAL if last is None else RunType.RECURRING
            since = last["started_at"] if last is not None else None
            number = (last["run_number"] if last is not None else 0) + 1
            rid = conn.execute(
                "INSERT INTO viral_analysis_results (job_id, run_number, run_type, since, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, number, run_type.value, since, now),
            ).lastrowid
            return _run(conn.execute("SELECT * FROM viral_analysis_results WHERE id = ?", (rid,)).fetchone()), False

        return await self.db.write(write)

    async def known_before(self, usernames: list[str], cutoff: datetime) -> dict[str, list[str]]:
        """Per account, the reels stored by ``cutoff`` (the last run's end): what a re-run has seen (V8)."""
        stamp = to_iso(cutoff)

        def read(conn: sqlite3.Connection) -> dict[str, list[str]]:
            known: dict[str, list[str]] = {u: [] for u in usernames}
            rows = conn.execute(
                "SELECT username, shortcode FROM content WHERE first_seen_at <= ? AND username IN"
                " (SELECT value FROM json_each(?)) ORDER BY shortcode",
                (stamp, json.dumps(usernames)),
            )
            for name, code in rows:
                known[name].append(code)
            return known

        return await self.db.read(read)

    async def set_baseline(self, result_id: int, baseline: dict[str, list[str]]) -> dict[str, list[str]]:
        """Record what was stored before a recurring run fetched; the first record wins (resume-safe)."""

        def write(conn: sqlite3.Connection) -> dict[str, list[str]]:
            conn.execute(
                "UPDATE viral_analysis_results SET baseline = ? WHERE id = ? AND baseline IS NULL",
                (json.dumps(baseline, sort_keys=True), result_id),
            )
            return json.loads(
                conn.execute("SELECT baseline FROM viral_analysis_results WHERE id = ?", (result_id,)).fetchone()[0]
            )

        return await self.db.write(write)

    async def save_selection(self, run: Run, rows: list[dict[str, Any]]) -> None:
        """The reels this run uses, with their numbers now; replaces any earlier partial attempt."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM viral_analysis_reels WHERE result_id = ?", (run.id,))
            conn.executemany(
                f"INSERT INTO viral_analysis_reels (result_id, job_id, {', '.join(_REEL_COLUMNS)}) VALUES"
                f" ({', '.join('?' * (len(_REEL_COLUMNS) + 2))})",
                [(run.id, run.job_id, *(r.get(c) for c in _REEL_COLUMNS)) for r in rows],
            )
            conn.execute("UPDATE viral_analysis_results SET selection_done = 1 WHERE id = ?", (run.id,))

        await self.db.write(write)

    async def selection(self, result_id: int) -> list[dict[str, Any]]:
        return await self.db.read(
            lambda c: [
                dict(r)
                for r in c.execute(
                    "SELECT * FROM viral_analysis_reels WHERE result_id = ? ORDER BY role DESC, rank", (result_id,)
                )
            ]
        )

    async def save_stage(
        self, result_id: int, column: str, value: dict[str, Any], stage: str, used: StageUsage
    ) -> None:
        """Checkpoint one whole-stage output together with what it cost."""
        if column not in _STAGE_COLUMNS:
            raise ValueError(f"not a stage checkpoint column: {column}")

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE viral_analysis_results SET {column} = ? WHERE id = ?",
                (json.dumps(value, sort_keys=True), result_id),
            )
            _add_usage(conn, result_id, stage, used)

        await self.db.write(write)

    async def add_usage(self, result_id: int, stage: str, used: StageUsage) -> None:
        """Usage of calls whose output was refused (a failed stage is still paid for)."""
        await self.db.write(_add_usage, result_id, stage, used)

    async def save_hook_analysis(
        self, result_id: int, shortcode: str, value: dict[str, Any], stage: str, used: StageUsage
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            current = json.loads(
                conn.execute("SELECT hook_analysis FROM viral_analysis_results WHERE id = ?", (result_id,)).fetchone()[
                    0
                ]
                or "{}"
            )
            current[shortcode] = value
            conn.execute(
                "UPDATE viral_analysis_results SET hook_analysis = ? WHERE id = ?",
                (json.dumps(current, sort_keys=True), result_id),
            )
            conn.execute(
                "UPDATE viral_analysis_reels SET hook_text = ?, hook_type = ?, hook_score = ?"
                " WHERE result_id = ? AND shortcode = ?",
                (value["hook_text"], value["hook_type"], value["score"], result_id, shortcode),
            )
            _add_usage(conn, result_id, stage, used)

        await self.db.write(write)

    async def save_script(
        self,
        run: Run,
        position: int,
        hook: dict[str, Any],
        source_username: str,
        script: dict[str, Any],
        stage: str,
        used: StageUsage,
    ) -> None:
        now = to_iso(self.clock.now())

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO viral_scripts (result_id, job_id, position, hook_text, hook_type, source_shortcode,"
                " source_username, adaptation, title, script, estimated_duration_seconds, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (result_id, position) DO NOTHING",
                (
                    run.id,
                    run.job_id,
                    position,
                    hook["hook_text"],
                    hook["hook_type"],
                    hook["source_shortcode"],
                    source_username,
                    hook.get("adaptation"),
                    script["title"],
                    json.dumps(script, sort_keys=True),
                    script["estimated_duration_seconds"],
                    now,
                ),
            )
            _add_usage(conn, run.id, stage, used)

        await self.db.write(write)

    async def scripts(self, result_id: int) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT * FROM viral_scripts WHERE result_id = ? ORDER BY position", (result_id,))
            return [{**dict(r), "script": json.loads(r["script"])} for r in rows]

        return await self.db.read(read)

    async def fail_run(self, result_id: int, error: str) -> None:
        """Mark the run failed; its checkpoints stay, so a retry resumes it (completion: ViralStore.finish)."""
        now = to_iso(self.clock.now())
        await self.db.write(
            lambda c: c.execute(
                "UPDATE viral_analysis_results SET status = 'failed', error = ?, completed_at = ? WHERE id = ?",
                (error, now, result_id),
            )
        )

    async def get_run(self, job_id: int, run_number: int | None = None, *, completed_only: bool = True) -> Run | None:
        """A run of the job: ``run_number``, or the latest (completed) one."""

        def read(conn: sqlite3.Connection) -> Run | None:
            sql = "SELECT * FROM viral_analysis_results WHERE job_id = ?"
            args: list[Any] = [job_id]
            if run_number is not None:
                sql, args = sql + " AND run_number = ?", [*args, run_number]
            elif completed_only:
                sql += " AND status = 'completed'"
            row = conn.execute(sql + " ORDER BY run_number DESC LIMIT 1", args).fetchone()
            return _run(row) if row else None

        return await self.db.read(read)

    async def runs(self, job_id: int) -> list[Run]:
        return await self.db.read(
            lambda c: [
                _run(r)
                for r in c.execute(
                    "SELECT * FROM viral_analysis_results WHERE job_id = ? ORDER BY run_number", (job_id,)
                )
            ]
        )
