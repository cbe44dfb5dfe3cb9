"""Local ↔ remote names: the one place that knows both schemas (see docs/supabase-results.md).

The local SQLite tables use the console's names (``views``, ``caption``, ``job_id``...); Supabase
holds the original ViralSpot tables, whose readers expect the original's names (``view_count``,
``description``, ``queue_id``...). ``to_remote`` turns one local row into one validated upsert
mutation of the outbox wire format (docs/supabase-results.md, "Wire format"); foreign ids are
never sent, only the natural keys the server resolves them from (``refs``). Local integer ids
are only unique in one database, so they are combined with the database's client id.
``local_job_from_remote`` is the reverse: a job submitted by the ViralSpot web form becomes the
arguments of the local job creation (:func:`viralspot_tui.core.viral.api.create_job`).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..models.usernames import InvalidUsername, normalize_username
from ..viral.models import MAX_COMPETITORS, MAX_RERUN_HOURS, ContentStrategy
from .supabase_models import ROW_MODELS

__all__ = [
    "MappingError",
    "RemoteMutation",
    "LocalJobArgs",
    "REMOTE_TABLES",
    "REMOTE_NAME",
    "LOCAL_ROW_SQL",
    "session_id_for",
    "to_remote",
    "enqueue_mutation",
    "local_job_from_remote",
]


class MappingError(ValueError):
    """A local row that cannot become a remote one; the message names the table, key and problem."""


class RemoteMutation(BaseModel):
    """One outbox mutation, without its sequence number (the outbox assigns it)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["upsert", "enqueue"]
    table: str | None = None
    row: dict[str, Any] = Field(default_factory=dict)
    refs: dict[str, Any] = Field(default_factory=dict)
    items: list[dict[str, Any]] = Field(default_factory=list)

    def wire(self, seq: int) -> dict[str, Any]:
        """The JSON object ``outbox_apply`` takes for this mutation at position ``seq``."""
        if self.kind == "enqueue":
            return {"seq": seq, "kind": "enqueue", "items": self.items}
        out: dict[str, Any] = {"seq": seq, "kind": "upsert", "table": self.table, "row": self.row}
        if self.refs:
            out["refs"] = self.refs
        return out


REMOTE_NAME: dict[str, str] = {
    "primary_profiles": "primary_profiles",
    "content": "content",
    "secondary_profiles": "secondary_profiles",
    "viral_ideas_queue": "viral_ideas_queue",
    "viral_ideas_competitors": "viral_ideas_competitors",
    "viral_analysis_results": "viral_analysis_results",
    "viral_analysis_reels": "viral_analysis_reels",
    "viral_scripts": "viral_scripts",
    "crawler_rounds": "viralspot_crawler_rounds",
}
REMOTE_TABLES: frozenset[str] = frozenset(REMOTE_NAME)

# How the pusher reads a local row for to_remote: reels and scripts carry their run's number, the
# server's key for the analysis they belong to.
LOCAL_ROW_SQL: dict[str, str] = {
    "primary_profiles": "SELECT * FROM primary_profiles",
    "content": "SELECT * FROM content",
    "secondary_profiles": "SELECT * FROM secondary_profiles",
    "viral_ideas_queue": "SELECT * FROM viral_ideas_queue",
    "viral_ideas_competitors": "SELECT * FROM viral_ideas_competitors",
    "viral_analysis_results": "SELECT * FROM viral_analysis_results",
    "viral_analysis_reels": "SELECT r.*, v.run_number FROM viral_analysis_reels r"
    " JOIN viral_analysis_results v ON v.id = r.result_id",
    "viral_scripts": "SELECT s.*, v.run_number FROM viral_scripts s JOIN viral_analysis_results v ON v.id = s.result_id",
    "crawler_rounds": "SELECT * FROM crawler_rounds",
}


def session_id_for(client_id: str, job_id: int) -> str:
    """The remote ``session_id`` (varchar 255) of local job ``job_id``: stable, globally unique."""
    return f"console-{uuid.UUID(str(client_id))}-job-{int(job_id)}"


def _sid(row: dict[str, Any], client_id: str, job_column: str) -> str:
    """The job's remote session_id: the web form's own (``remote_session_id``, which the pusher
    adds to the rows of a job that came from Supabase), else the one derived from the local id."""
    given = row.get("remote_session_id")
    return str(given) if given else session_id_for(client_id, row[job_column])


# Columns of a web-form job the console's upserts leave alone: the status and run columns only the
# fenced viral_job_claim / viral_job_finish / viral_job_rerun write (an upserted "completed" would
# make the finish stale), and the web form's own input. Without them an upsert cannot insert: a job
# the web form deleted is not brought back, its upserts are rejected (docs/supabase-results.md).
WEB_FORM_OWNED = frozenset(
    {"status", "error_message", "total_runs", "last_analysis_at", "primary_username", "content_strategy"}
)


def _json(row: dict[str, Any], column: str, default: Any) -> Any:
    """A local JSON text column, decoded; a clear ValueError naming the column if it is not JSON."""
    value = row.get(column)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"column {column!r} is not valid JSON ({exc})") from None


def _int(value: Any) -> int | None:
    return None if value is None else int(round(float(value)))


def _primary(r: dict[str, Any], _c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "username": r["username"],
        "profile_name": r.get("full_name"),
        "bio": r.get("biography"),
        "followers": r.get("followers") or 0,
        "posts_count": r.get("media_count") or 0,
        "is_verified": bool(r.get("is_verified")),
        "is_business_account": bool(r.get("is_business")),
        "profile_image_url": r.get("hd_profile_pic_url") or r.get("profile_pic_url"),
        "total_reels": r.get("reels_count") or 0,
        "median_views": _int(r.get("median_views")) or 0,
        "mean_views": round(float(r.get("mean_views") or 0), 2),
        "std_views": round(float(r.get("std_views") or 0), 2),
        "total_views": r.get("total_views") or 0,
        "total_likes": r.get("total_likes") or 0,
        "total_comments": r.get("total_comments") or 0,
        "last_full_scrape": r.get("last_scraped_at"),
    }, {}


def _content(r: dict[str, Any], _c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    score = r.get("outlier_score")
    return {
        "content_id": r["content_id"],
        "shortcode": r["shortcode"],
        "url": r.get("url"),
        "description": r.get("caption"),
        "thumbnail_url": r.get("thumbnail_url"),
        "view_count": r.get("views") or 0,
        "like_count": r.get("likes") or 0,
        "comment_count": r.get("comments") or 0,
        "outlier_score": None if score is None else round(float(score), 2),
        "date_posted": r.get("taken_at"),
        "username": r["username"],
    }, {"profile_username": r["username"]}


def _secondary(r: dict[str, Any], _c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    pk = r.get("pk")
    return {
        "username": r["username"],
        "full_name": r.get("full_name"),
        "followers_count": r.get("followers"),
        "profile_pic_url": r.get("profile_pic_url"),
        "is_verified": bool(r.get("is_verified")),
        "is_private": bool(r.get("is_private")),
        "pk": None if pk in (None, "") else int(pk),
        "social_context": r.get("social_context"),
        "discovered_by": r.get("discovered_by"),
    }, {}


def _job(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    strategy = _json(r, "content_strategy", {})
    hours = float(r.get("rerun_every_hours") or 24)
    row = {
        "session_id": _sid(r, c, "id"),
        "primary_username": r["primary_username"],
        "content_strategy": {
            "contentType": strategy.get("content_type", ""),
            "targetAudience": strategy.get("target_audience", ""),
            "goals": strategy.get("goals", ""),
        },
        "status": r["status"],
        "current_step": r.get("stage"),
        "progress_percentage": r.get("progress") or 0,
        "error_message": r.get("error"),
        "auto_rerun_enabled": bool(r.get("auto_rerun")),
        "rerun_frequency_hours": max(1, math.ceil(hours)) if math.isfinite(hours) else hours,
        "last_analysis_at": r.get("completed_at"),
        "next_scheduled_run": r.get("next_run_at"),
        "total_runs": r.get("runs") or 0,
    }
    if r.get("remote_session_id"):  # the web form's job: updated, never created (WEB_FORM_OWNED)
        return {k: v for k, v in row.items() if k not in WEB_FORM_OWNED}, {"update_only": True}
    return row, {}


def _competitor(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "competitor_username": r["username"],
        "is_active": True,
        "processing_status": r.get("status") or "pending",
    }, {"session_id": _sid(r, c, "job_id")}


_RESULT_STATUS = {"running": "processing", "completed": "completed", "failed": "failed"}


def _result(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    hooks = _json(r, "generated_hooks", {}) or {}
    return {
        "analysis_run": r["run_number"],
        "analysis_type": r["run_type"],
        "status": _RESULT_STATUS.get(r.get("status") or "", r.get("status")),
        "viral_ideas": list(hooks.get("hooks", [])) if isinstance(hooks, dict) else hooks,
        "hook_analysis": _json(r, "hook_analysis", {}),
        "started_at": r.get("started_at"),
        "analysis_completed_at": r.get("completed_at"),
    }, {"session_id": _sid(r, c, "job_id")}


def _reel(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    score = r.get("outlier_score")
    return {
        "reel_type": r["role"],
        "username": r.get("username"),
        "selection_reason": r.get("reason"),
        "rank_in_selection": r.get("rank"),
        "view_count_at_analysis": r.get("views"),
        "like_count_at_analysis": r.get("likes"),
        "comment_count_at_analysis": r.get("comments"),
        "outlier_score_at_analysis": None if score is None else round(float(score), 2),
        "hook_text": r.get("hook_text"),
    }, {"session_id": _sid(r, c, "job_id"), "analysis_run": r["run_number"], "shortcode": r["shortcode"]}


def _script(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "script_title": r.get("title"),
        "script_content": r.get("script"),
        "estimated_duration": r.get("estimated_duration_seconds"),
        "primary_hook": r.get("hook_text"),
        "source_reels": [r["source_shortcode"]] if r.get("source_shortcode") else [],
        "script_structure": {
            "hook_type": r.get("hook_type"),
            "adaptation": r.get("adaptation"),
            "source_username": r.get("source_username"),
            "position": r.get("position"),
        },
    }, {"session_id": _sid(r, c, "job_id"), "analysis_run": r["run_number"], "position": r["position"]}


def _round(r: dict[str, Any], c: str) -> tuple[dict[str, Any], dict[str, Any]]:
    row = {k: r.get(k) for k in ("request_id", "round", "seed", "found", "dropped_total", "duplicates")}
    row.update({k: r.get(k) for k in ("queued", "calls", "error", "started_at", "finished_at")})
    row.update({k: _json(r, k, d) for k, d in (("dropped", {}), ("drops", []))})
    row.update({k: _json(r, k, []) for k in ("duplicate_names", "queued_names")})
    return {"client_id": str(uuid.UUID(str(c))), "local_id": r["id"], **row}, {}


_MAPPERS: dict[str, Callable[[dict[str, Any], str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "primary_profiles": _primary,
    "content": _content,
    "secondary_profiles": _secondary,
    "viral_ideas_queue": _job,
    "viral_ideas_competitors": _competitor,
    "viral_analysis_results": _result,
    "viral_analysis_reels": _reel,
    "viral_scripts": _script,
    "crawler_rounds": _round,
}
_KEYS = {
    "primary_profiles": ("username",),
    "content": ("shortcode",),
    "secondary_profiles": ("username",),
    "viral_ideas_queue": ("id",),
    "viral_ideas_competitors": ("job_id", "username"),
    "viral_analysis_results": ("job_id", "run_number"),
    "viral_analysis_reels": ("job_id", "run_number", "shortcode"),
    "viral_scripts": ("job_id", "run_number", "position"),
    "crawler_rounds": ("id",),
}


def _key(table: str, row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={str(row.get(k))[:60]!r}" for k in _KEYS.get(table, ()))


def to_remote(table: str, row: dict[str, Any], *, client_id: str) -> RemoteMutation:
    """The upsert of local ``row`` (local column names) of local ``table``; ``MappingError`` if it cannot be one."""
    if table not in _MAPPERS:
        raise MappingError(f"{table!r} is not a table the outbox maps (it maps {', '.join(sorted(REMOTE_TABLES))})")
    where = f"{table} ({_key(table, row)})"
    try:
        remote, refs = _MAPPERS[table](row, client_id)
        model = ROW_MODELS[REMOTE_NAME[table]].model_validate(remote)
    except KeyError as exc:
        raise MappingError(f"{where}: column {exc.args[0]!r} missing") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{where}: {problems}") from None
    except (TypeError, ValueError) as exc:  # bad JSON text, a non-numeric number, a bad client id
        raise MappingError(f"{where}: {exc}") from None
    wire = model.model_dump(mode="json")
    wire = {k: v for k, v in wire.items() if k in remote}  # only the columns the mapping gives
    return RemoteMutation(kind="upsert", table=REMOTE_NAME[table], row=wire, refs=refs)


def enqueue_mutation(items: list[dict[str, Any]]) -> RemoteMutation:
    """Usernames added while offline, as ``queue_enqueue`` takes them (username, priority, source)."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items, 1):
        try:
            name = normalize_username(item.get("username"))
        except InvalidUsername as exc:
            raise MappingError(f"enqueue item {i}: {exc}") from None
        priority = str(item.get("priority") or "LOW").upper()
        if priority not in ("HIGH", "LOW"):
            raise MappingError(f"enqueue item {i} ({name}): priority must be HIGH or LOW, got {item.get('priority')!r}")
        source = str(item.get("source") or "manual")
        if len(source) > 100:
            raise MappingError(f"enqueue item {i} ({name}): source is longer than 100 characters")
        entry: dict[str, Any] = {"username": name, "priority": priority, "source": source}
        for extra in ("request_id", "max_attempts"):
            if item.get(extra) is not None:
                entry[extra] = item[extra]
        out.append(entry)
    if not out:
        raise MappingError("enqueue: no items")
    return RemoteMutation(kind="enqueue", items=out)


class LocalJobArgs(BaseModel):
    """What ``viral.api.create_job`` takes, for a job submitted remotely (plus where it came from)."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    remote_id: str
    primary: str
    competitors: list[str]
    strategy: ContentStrategy
    auto_rerun: bool
    rerun_every_hours: float = Field(gt=0, le=MAX_RERUN_HOURS)
    created_at: datetime | None = None


def local_job_from_remote(row: dict[str, Any], competitors: list[dict[str, Any]] | None = None) -> LocalJobArgs:
    """A remote ``viral_ideas_queue`` row and its competitor rows (default: the row's embedded
    ``viral_ideas_competitors``) as local job arguments; inactive competitors are left out."""
    where = f"viral_ideas_queue (session_id={row.get('session_id')!r})"
    comps = competitors if competitors is not None else row.get("viral_ideas_competitors") or []
    try:
        primary = normalize_username(row.get("primary_username"))
        names: list[str] = []
        for c in comps:
            if c.get("is_active", True) is False:
                continue
            name = normalize_username(c.get("competitor_username"))
            if name != primary and name not in names:
                names.append(name)
        if not 1 <= len(names) <= MAX_COMPETITORS:
            raise ValueError(f"a job needs 1 to {MAX_COMPETITORS} active competitors, got {len(names)}")
        s = _json(row, "content_strategy", {}) or {}
        strategy = ContentStrategy(
            content_type=str(s.get("contentType") or "short-form video"),
            target_audience=str(s.get("targetAudience") or ""),
            goals=str(s.get("goals") or ""),
        )
        return LocalJobArgs(
            session_id=str(row["session_id"]),
            remote_id=str(row["id"]),
            primary=primary,
            competitors=names,
            strategy=strategy,
            auto_rerun=bool(row.get("auto_rerun_enabled")),
            rerun_every_hours=float(row.get("rerun_frequency_hours") or 24),
            created_at=row.get("created_at"),
        )
    except KeyError as exc:
        raise MappingError(f"{where}: column {exc.args[0]!r} missing") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{where}: {problems}") from None
    except (TypeError, ValueError) as exc:
        raise MappingError(f"{where}: {exc}") from None
