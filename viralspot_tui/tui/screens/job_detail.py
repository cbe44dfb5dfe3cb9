"""One analysis job in full: strategy, competitors, the reels chosen and why, hooks, scripts.

The dashboard row says *how far* a job is; this screen says *what it produced*. It reads the
stores once when opened (and again when the job's run changes or on ``r``), while a slow
timer keeps the progress line current from the snapshot, so an open detail screen costs
nothing per dashboard refresh.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, ProgressBar, Static

from ...core.ops import JobDetail, OpError
from ...core.views import JobView
from ...logs import redact
from ..format import short, until
from ..widgets.footer_fit import fit_footer
from ..widgets.pane import NARROW_BELOW

if TYPE_CHECKING:
    from ...core.supervisor import Supervisor

__all__ = ["JobDetailScreen"]

log = logging.getLogger("viralspot.tui")


SECTIONS = ("Competitors", "Selected reels", "Hooks", "Scripts")


class JobDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="detail_close"),
        Binding("r", "reload", "Reload", id="detail_reload"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="detail_down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="detail_up"),
        Binding("g,home", "scroll('top')", "Top", show=False, id="detail_top"),
        Binding("G,end", "scroll('bottom')", "Bottom", show=False, id="detail_bottom"),
        Binding("right_square_bracket,tab", "section(1)", "Next section", id="detail_next_section"),
        Binding("left_square_bracket,shift+tab", "section(-1)", "Prev section", id="detail_previous_section"),
        *(
            Binding(str(n), f"jump({n - 1})", name, show=False, id=f"detail_section_{n}")
            for n, name in enumerate(SECTIONS, 1)
        ),
    ]

    def __init__(self, supervisor: "Supervisor", job: JobView) -> None:
        super().__init__()
        self.supervisor = supervisor
        self.job_id = job.id
        self.job = job
        self.detail: JobDetail | None = None
        self._seen: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="job-summary", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="job-progress")
        with VerticalScroll(id="job-body"):
            titles = iter(SECTIONS)
            yield Label(f"1 {next(titles)}", classes="section-title", id="section-0")
            yield Static("", id="job-competitors", classes="job-block", markup=False)
            yield Label(f"2 {next(titles)}", classes="section-title", id="section-1")
            reels: DataTable[Any] = DataTable(id="job-reels", cursor_type="row", zebra_stripes=True)
            reels.can_focus = False  # the body keeps the focus, so j/k/g/G always scroll the whole page
            yield reels
            yield Label(f"3 {next(titles)}", classes="section-title", id="section-2")
            yield Static("", id="job-hooks", classes="job-block", markup=False)
            yield Label(f"4 {next(titles)}", classes="section-title", id="section-3")
            yield Static("", id="job-scripts", classes="job-block", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        fit_footer(self.query_one(Footer), self.app.size.width)
        self._show_summary()
        self.action_reload()
        self.set_interval(1.0, self._follow_progress)
        self.query_one("#job-body").focus()  # arrows and page keys scroll the results

    # ------------------------------------------------------------------ loading
    def action_reload(self) -> None:
        self.run_worker(
            self._load(), name=f"job-{self.job_id}-detail", group="detail", exclusive=True, exit_on_error=False
        )

    async def _load(self) -> None:
        try:
            detail = await self.supervisor.operations().job_detail(self.job_id)
        except OpError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.detail = detail
        self.job = detail.job
        self._show_summary()
        self._show_detail(detail)

    def _follow_progress(self) -> None:
        """Keep the header current; reload the results when the job moves to another run or status."""
        try:
            self._follow()
        except Exception:  # noqa: BLE001 - the engine may be stopping; a timer exception would end the app
            log.exception("job detail refresh failed")

    def _follow(self) -> None:
        viral = self.supervisor.snapshot().viral
        for job in viral.jobs if viral else ():
            if job.id == self.job_id:
                self.job = job
                break
        self._show_summary()
        marker = (self.job.status, self.job.runs, self.job.stage)
        if self._seen is not None and marker != self._seen:
            self.action_reload()
        self._seen = marker

    # ------------------------------------------------------------------ rendering
    def _show_summary(self) -> None:
        job = self.job
        snap_at = self.supervisor.runtime.clock.now()
        strategy = self.detail.strategy if self.detail else {}
        lines = [
            f"Job #{self.job_id} · {job.primary_username} · {job.status} · "
            f"{job.stage} · runs {job.runs} · next run "
            f"{until(job.next_run_at, snap_at) if job.next_run_at else '—'}"
        ]
        if strategy:
            lines.append("strategy: " + " · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in strategy.items() if v))
        run = self.detail.run if self.detail else None
        if run:
            lines.append(
                f"run {run['number']} ({run['type']}) {run['status']} · {run['tokens']:,} tokens · "
                f"${run['cost']:.4f}" + (f" · error: {run['error']}" if run.get("error") else "")
            )
        if job.error:
            lines.append(f"error: {job.error}")
        self.query_one("#job-summary", Static).update(redact("\n".join(lines)))
        self.query_one("#job-progress", ProgressBar).update(progress=float(job.progress or 0))

    def _show_detail(self, detail: JobDetail) -> None:
        states = {c.get("username"): c for c in detail.competitor_states}
        comps = []
        for name in detail.job.competitors:
            state = states.get(name, {})
            text = f"{name}: {state.get('status', 'pending')}"
            comps.append(text + (f" ({state['error']})" if state.get("error") else ""))
        self.query_one("#job-competitors", Static).update(redact("\n".join(comps)) or "—")
        self._fill_reels()
        hooks = [
            f"{i}. [{h.get('hook_type', '')}] {h.get('hook_text', '')}\n   from {h.get('source_shortcode', '')}:"
            f" {short(h.get('adaptation'), 100)}"
            for i, h in enumerate(detail.hooks, 1)
        ]
        self.query_one("#job-hooks", Static).update("\n".join(hooks) or "no hooks yet")
        self.query_one("#job-scripts", Static).update(_scripts_text(detail.scripts) or "no scripts yet")

    def _fill_reels(self) -> None:
        """The reels table in the column set that fits: under 120 columns the rank, shortcode and
        hook give way (the hooks have their own section) so the reason a reel was chosen shows."""
        table = self.query_one("#job-reels", DataTable)
        narrow = self.app.size.width < NARROW_BELOW
        columns = _NARROW_REEL_COLUMNS if narrow else _REEL_COLUMNS
        if tuple(str(c.label) for c in table.columns.values()) != columns:
            table.clear(columns=True)
            table.add_columns(*columns)
        else:
            table.clear()
        why_width = max(12, self.app.size.width - 52) if narrow else 50
        for r in self.detail.reels if self.detail else []:
            outlier = r.get("outlier_score")
            cells = {
                "Role": r.get("role", ""),
                "Account": short(r.get("username"), 16 if narrow else 30),
                "Rank": r.get("rank", ""),
                "Reel": r.get("shortcode", ""),
                "Views": f"{int(r.get('views') or 0):,}",
                "Outlier": f"{outlier:.1f}×" if outlier else "—",
                "Hook": short(r.get("hook_text"), 40),
                "Why chosen": short(r.get("reason"), why_width),
            }
            table.add_row(*(cells[c] for c in columns))
        if self.detail is not None and not self.detail.reels:
            table.add_row(*("no reels selected yet" if c == "Account" else "" for c in columns))

    def on_resize(self) -> None:
        fit_footer(self.query_one(Footer), self.app.size.width)
        if self.detail is not None:
            self._fill_reels()

    # ------------------------------------------------------------------ moving around
    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#job-body", VerticalScroll)

    def action_scroll(self, where: str) -> None:
        body = self.body
        match where:
            case "down":
                body.scroll_down(animate=False)
            case "up":
                body.scroll_up(animate=False)
            case "top":
                body.scroll_home(animate=False)
            case "bottom":
                body.scroll_end(animate=False)

    def current_section(self) -> int:
        """The last section whose title is at or above the top of the view."""
        top = self.body.scroll_y
        tops = [self.query_one(f"#section-{i}").virtual_region.y for i in range(len(SECTIONS))]
        return max((i for i, y in enumerate(tops) if y <= top + 0.5), default=0)

    def action_section(self, step: int) -> None:
        """``]``/``tab`` and ``[``/``shift+tab``: the next or previous section's title to the top."""
        self.action_jump(max(0, min(len(SECTIONS) - 1, self.current_section() + step)))

    def action_jump(self, index: int) -> None:
        """``1``–``4``: scroll a section's title to the top of the view (scripts are below the fold)."""
        title = self.query_one(f"#section-{index}")
        self.body.scroll_to(y=title.virtual_region.y, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)


_REEL_COLUMNS = ("Role", "Account", "Rank", "Reel", "Views", "Outlier", "Hook", "Why chosen")
_NARROW_REEL_COLUMNS = ("Role", "Account", "Views", "Outlier", "Why chosen")


def _scripts_text(scripts: list[dict[str, Any]]) -> str:
    blocks = []
    for s in scripts:
        body = s.get("script") or {}
        lines = [
            f"{s.get('position', '?')}. {body.get('title', s.get('title', ''))} "
            f"(~{s.get('estimated_duration_seconds', '?')}s, after {s.get('source_username', '?')})",
            f"   hook: {body.get('hook', s.get('hook_text', ''))}",
        ]
        for section in body.get("sections", []):
            lines.append(f"   {section.get('label', '')}: {section.get('text', '')}")
        if body.get("call_to_action"):
            lines.append(f"   call to action: {body['call_to_action']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
