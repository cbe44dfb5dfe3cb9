"""Export a finished run as Markdown (for people) or JSON (for tools) — docs/viral.md.

Both are rendered from one bundle so they can never disagree. The JSON is stable: keys sorted,
lists in a defined order (reels by role then rank, hooks and scripts by position), so two
exports of the same run are byte-identical and diffs between runs show only real changes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..clock import to_iso
from ..models.instagram import reel_url
from .results import ResultStore
from .store import JobNotFound, ViralStore

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["NoResults", "export_bundle", "to_json", "to_markdown", "render"]


class NoResults(LookupError):
    """The job has no finished run (yet) to export."""


async def export_bundle(runtime: "Runtime", job_id: int, run_number: int | None = None) -> dict[str, Any]:
    """Everything a run produced: strategy, analysis, source reels, hooks, scripts and costs."""
    job = await ViralStore(runtime.db, runtime.clock).get_job(job_id)
    if job is None:
        raise JobNotFound(job_id)
    results = ResultStore(runtime.db, runtime.clock)
    run = await results.get_run(job_id, run_number)
    if run is None or run.status != "completed":
        which = f"completed run {run_number}" if run_number is not None else "completed run"
        raise NoResults(f"job {job_id} has no {which} to export (status: {job.status.value})")
    reels = await results.selection(run.id)
    scripts = await results.scripts(run.id)
    analyses = run.hook_analysis
    usage = run.usage
    return {
        "job": {
            "id": job.id,
            "primary": job.primary_username,
            "competitors": list(job.competitors),
            "content_strategy": job.content_strategy.model_dump(),
            "competitor_status": {c.username: {"status": c.status, "error": c.error} for c in job.competitor_states},
        },
        "run": {
            "number": run.run_number,
            "type": run.run_type.value,
            "started_at": to_iso(run.started_at),
            "completed_at": to_iso(run.completed_at),
            "notes": run.notes,
            "usage": usage,
            "total_tokens": sum(s["prompt_tokens"] + s["completion_tokens"] for s in usage.values()),
            "total_cost_usd": round(sum(s["cost_usd"] for s in usage.values()), 8),
        },
        "profile_analysis": run.profile_analysis,
        "source_reels": [
            {
                "shortcode": r["shortcode"],
                "url": reel_url(r["shortcode"]),
                "username": r["username"],
                "role": r["role"],
                "rank": r["rank"],
                "reason": r["reason"],
                "views": r["views"],
                "likes": r["likes"],
                "comments": r["comments"],
                "outlier_score": r["outlier_score"],
                "engagement_rate": r["engagement_rate"],
                "taken_at": r["taken_at"],
                "transcript_reused": bool(r["transcript_reused"]),
                "hook": analyses.get(r["shortcode"]),
            }
            for r in reels
        ],
        "hooks": [
            {
                "position": s["position"],
                "hook_text": s["hook_text"],
                "hook_type": s["hook_type"],
                "adaptation": s["adaptation"],
                "source_shortcode": s["source_shortcode"],
                "source_username": s["source_username"],
                "source_url": reel_url(s["source_shortcode"]),
            }
            for s in scripts
        ],
        "scripts": [
            {"position": s["position"], "source_shortcode": s["source_shortcode"], **s["script"]} for s in scripts
        ],
    }


def to_json(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def to_markdown(bundle: dict[str, Any]) -> str:
    job, run = bundle["job"], bundle["run"]
    strategy = job["content_strategy"]
    lines = [
        f"# Viral ideas for @{job['primary']}",
        "",
        f"Job {job['id']}, {run['type']} run {run['number']}, completed {run['completed_at']}.",
        f"Competitors: {', '.join('@' + c for c in job['competitors'])}.",
        "",
        "## Content strategy",
        "",
        f"- Content type: {strategy['content_type'] or '–'}",
        f"- Target audience: {strategy['target_audience'] or '–'}",
        f"- Goals: {strategy['goals'] or '–'}",
    ]
    failed = {name: s["error"] for name, s in job["competitor_status"].items() if s["status"] == "failed"}
    if failed:
        lines += ["", "Competitors left out: " + "; ".join(f"@{n} ({e})" for n, e in sorted(failed.items())) + "."]
    if run["notes"]:
        lines += ["", f"Note: {run['notes']}."]
    analysis = bundle["profile_analysis"]
    if analysis:
        lines += [
            "",
            "## Profile analysis",
            "",
            f"- Themes: {', '.join(analysis['themes'])}",
            f"- Audience: {analysis['audience']}",
            f"- Voice: {analysis['voice']}",
            f"- Opportunities: {'; '.join(analysis['content_opportunities'])}",
        ]
    reels = {r["shortcode"]: r for r in bundle["source_reels"]}
    lines += ["", "## Hooks", ""]
    for hook in bundle["hooks"]:
        src = reels.get(hook["source_shortcode"], {})
        lines.append(
            f"{hook['position']}. **{hook['hook_text']}** ({hook['hook_type']}) — adapted from "
            f"@{hook['source_username']}'s reel [{hook['source_shortcode']}]({hook['source_url']}) "
            f"({src.get('views', 0):,} views). {hook['adaptation']}"
        )
    lines += ["", "## Scripts"]
    for script in bundle["scripts"]:
        lines += [
            "",
            f"### {script['position']}. {script['title']}",
            "",
            f"*About {script['estimated_duration_seconds']} s — source reel `{script['source_shortcode']}`*",
            "",
            f"**Hook:** {script['hook']}",
            "",
        ]
        lines += [f"- **{section['label']}:** {section['text']}" for section in script["sections"]]
        lines += ["", f"**Call to action:** {script['call_to_action']}"]
    lines += [
        "",
        "## Source reels",
        "",
        "| role | rank | reel | account | views | outlier | hook score | why chosen |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in bundle["source_reels"]:
        hook = r["hook"] or {}
        reason = r["reason"].replace("|", "/")
        lines.append(
            f"| {r['role']} | {r['rank']} | [{r['shortcode']}]({r['url']}) | @{r['username']} | "
            f"{r['views']:,} | {_num(r['outlier_score'])} | {hook.get('score', '–')} | {reason} |"
        )
    lines += ["", "## Cost", "", f"{run['total_tokens']:,} tokens, ${run['total_cost_usd']:.4f}.", ""]
    for stage, used in sorted(run["usage"].items()):
        lines.append(
            f"- {stage}: {used['calls']} call(s), {used['prompt_tokens'] + used['completion_tokens']:,} "
            f"tokens, ${used['cost_usd']:.4f}"
        )
    return "\n".join(lines) + "\n"


def render(bundle: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return to_json(bundle)
    if fmt == "md":
        return to_markdown(bundle)
    raise ValueError(f"unknown export format {fmt!r}: choose md or json")
