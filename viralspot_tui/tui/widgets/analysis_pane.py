"""The analysis pane: one row per viral-ideas job with its stage and a progress bar.

Progress arrives as a number in the snapshot, not as a message per tick, so three busy jobs
cost the UI nothing between refreshes (SPEC V7 without a message storm).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from ...core.snapshot import EngineSnapshot
from ...logs import redact
from ..format import bar, short, until
from .keyed_table import KeyedTable
from .pane import Pane

__all__ = ["AnalysisPane"]

_STATUS_STYLE = {"processing": "$success", "failed": "$error", "paused": "$warning", "completed": "$text-muted"}


def _competitors(value: Any) -> list[str]:
    out = []
    for c in value or []:
        out.append(c.get("username", "?") if isinstance(c, dict) else str(c))
    return out


class AnalysisPane(Pane):
    pane_id = "analysis"
    title = "2 Analysis"
    processor = "viral"

    def compose(self) -> ComposeResult:
        yield Static("no jobs yet — n creates one", id="analysis-empty")
        yield KeyedTable([("primary", "Primary", 14), ("progress", "Progress", 11), ("stage", "Stage", 16),
                          ("runs", "Runs", 4), ("next", "Next run", 8), ("comp", "Competitors", 24), ("id", "#", 4)],
                         id_column="id", id="analysis-table")

    def on_mount(self) -> None:
        self._jobs: dict[str, dict[str, Any]] = {}

    def selected_job(self) -> dict[str, Any] | None:
        key = self.table.selected_key if self.table else None
        return self._jobs.get(key) if key else None

    def apply(self, snap: EngineSnapshot) -> None:
        jobs = list((snap.viral or {}).get("jobs", []))
        self._jobs = {str(job.get("id")): job for job in jobs
                      if self.matches(str(job.get("primary", "")), *_competitors(job.get("competitors")))}
        self.query_one("#analysis-empty").display = not jobs
        running = (snap.viral or {}).get("running", 0)
        info = snap.processors.get("viral")
        state = info.state if info else "not running"
        self.border_title = f"{self.title} · {len(jobs)} jobs, {running} running" + (
            f" · {state}" if state != "running" else "")
        assert self.table is not None
        self.table.sync([(key, self._row(job, snap)) for key, job in self._jobs.items()])

    @staticmethod
    def _row(job: dict[str, Any], snap: EngineSnapshot) -> tuple[object, ...]:
        comps = _competitors(job.get("competitors"))
        comp_text = f"{len(comps)}: {', '.join(comps)}" if comps else "—"
        status = str(job.get("status", ""))
        stage = str(job.get("stage") or status)
        if status == "failed" and job.get("error"):
            stage = f"failed: {redact(str(job['error']))}"
        progress = float(job.get("progress") or 0)
        return (str(job.get("primary", "")), f"{bar(progress / 100, 6)} {progress:3.0f}%",
                Content.styled(short(stage, 16), _STATUS_STYLE.get(status, "")), str(job.get("runs", 0)),
                until(job.get("next_run_at"), snap.at) if job.get("next_run_at") else "—", short(comp_text, 24),
                job.get("id"))
