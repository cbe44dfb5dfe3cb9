"""The analysis pane: one row per viral-ideas job with its stage and a progress bar.

Progress arrives as a number in the snapshot, not as a message per tick, so three busy jobs
cost the UI nothing between refreshes (docs/viral.md without a message storm).

Under 120 terminal columns the table keeps the primary, a compact progress (``45%``) and the
stage, in its short form when the full name does not fit. Wider, it adds the job number, runs,
next run and competitors, giving way in that order's reverse (``drop_order``).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from ...core.snapshot import EngineSnapshot
from ...core.views import JobView
from ...core.viral.models import CANCELLED
from ..format import bar, short, until
from .pane import Pane

__all__ = ["AnalysisPane"]

_STATUS_STYLE = {"processing": "$success", "failed": "$error", "paused": "$warning", "completed": "$text-muted"}
_WIDE_STAGE = 16
# Short forms of the workflow's stages (core.viral.models.Stage) for a narrow Stage column.
_SHORT_STAGE = {
    "fetching profiles": "fetching",
    "selecting reels": "select",
    "transcripts": "transcr.",
    "profile analysis": "profile",
    "hook analysis": "hooks",
    "hook generation": "hook gen",
    "script writing": "scripts",
}


class AnalysisPane(Pane):
    pane_id = "analysis"
    title = "2 Analysis"
    processor = "viral"
    wide_columns = (
        ("id", "#", 3),
        ("primary", "Primary", 12),
        ("progress", "Progress", 11),
        ("stage", "Stage", 12),
        ("runs", "Runs", 4),
        ("next", "Next run", 8),
        ("comp", "Competitors", 12),
    )
    narrow_columns = (("primary", "Primary", 11), ("progress", "Prog", 4), ("stage", "Stage", 8))
    flex_column = "stage"
    wide_flex_column = "comp"
    # Give way in this order as the pane narrows; the bar becomes "45%" and the stage its short
    # form before anything goes. The job number stays, so two jobs for one creator differ.
    drop_order = ("comp", "next", "runs")
    compact = {"progress": 4, "stage": 9}
    grow = {"primary": 30, "stage": _WIDE_STAGE + 4, "comp": 200}  # as far as their text, in this order

    def compose(self) -> ComposeResult:
        yield Static("no jobs yet — n creates one", id="analysis-empty")
        yield self.make_table(id_column="id", id="analysis-table")

    def on_mount(self) -> None:
        self._jobs: dict[str, JobView] = {}

    def selected_job(self) -> JobView | None:
        key = self.table.selected_key if self.table else None
        return self._jobs.get(key) if key else None

    def apply(self, snap: EngineSnapshot) -> None:
        self.last_snapshot = snap
        viral = snap.viral
        jobs = list(viral.jobs) if viral else []
        self._jobs = {str(job.id): job for job in jobs if self.matches(job.primary_username, *job.competitors)}
        self.query_one("#analysis-empty").display = not jobs
        running = viral.running if viral else 0
        info = snap.processors.get("viral")
        state = info.state if info else "not running"
        self.set_titles(
            *self.titles_with_state(
                f"{self.title} · {len(jobs)} jobs, {running} running",
                f"{self.title} · {len(jobs)} jobs, {running} run",
                f"{self.title} · {running}/{len(jobs)} run",
                state=state,
            )
        )
        assert self.table is not None
        self.want(
            {
                "primary": max((len(j.primary_username) for j in jobs), default=0),
                "stage": max((len(_stage(j, j.status, 99)) for j in jobs), default=0),
                "comp": max((len(_competitors(j)) for j in jobs), default=0),
            }
        )
        widths = self.table.widths
        self.table.sync([(key, self._row(job, snap, widths)) for key, job in self._jobs.items()])

    @staticmethod
    def _row(job: JobView, snap: EngineSnapshot, widths: dict[str, int | None]) -> dict[str, object]:
        """Cells by column key, sized to the current column set (narrow columns squeeze the text)."""
        comp_text = _competitors(job)
        status = job.status
        progress = float(job.progress or 0)
        pct = f"{progress:3.0f}%"
        primary = job.primary_username
        stage_width = widths.get("stage") or _WIDE_STAGE
        return {
            "primary": short(primary, widths.get("primary") or 12),
            "progress": f"{bar(progress / 100, 6)} {pct}" if (widths.get("progress") or 11) >= 11 else pct,
            "stage": Content.styled(
                short(_stage(job, status, stage_width), stage_width), _STATUS_STYLE.get(status, "")
            ),
            "runs": str(job.runs),
            "next": until(job.next_run_at, snap.at) if job.next_run_at else "—",
            "comp": short(comp_text, widths.get("comp") or 24),
            "id": job.id,
        }


def _competitors(job: JobView) -> str:
    return f"{len(job.competitors)}: {', '.join(job.competitors)}" if job.competitors else "—"


def _stage(job: JobView, status: str, width: int) -> str:
    """The stage as it fits ``width`` (the short form when the full one does not).

    A failed job shows ``✗`` and the stage it reached (the full error is in its details, and in
    ``jobs list``); a cancelled one says so."""
    stage = job.stage or status
    if len(stage) > width - (2 if status == "failed" else 0):
        stage = _SHORT_STAGE.get(stage, stage)
    if status == "failed":
        cancelled = (job.error or "").startswith(CANCELLED)
        short_cancel = "cancelled" if width >= 11 else "cancel"
        return f"✗ {short_cancel if cancelled and width < _WIDE_STAGE + 4 else stage}" + (
            " (cancelled)" if cancelled and width >= _WIDE_STAGE + 4 else ""
        )
    return stage
