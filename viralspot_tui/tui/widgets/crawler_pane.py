"""The crawler pane: each round's seed and what became of the accounts it found.

Every dropped candidate has a reason (docs/crawler.md); the table shows the total and the tooltip-less
terminal gets the biggest reasons inline, so an operator sees at a glance *why* a round queued
little (private accounts, small accounts, or everything already known). Under 120 terminal
columns the table keeps the round, seed, found and queued counts.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ...core.snapshot import EngineSnapshot
from ...core.views import CrawlerSnapshot, CrawlView, RoundView
from ...logs import redact
from ..format import bar, short
from .pane import Pane

__all__ = ["CrawlerPane"]


def _dropped(r: RoundView) -> tuple[int, str]:
    top = sorted(r.dropped.items(), key=lambda kv: -kv[1])[:2]
    return r.dropped_total, ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in top)


class CrawlerPane(Pane):
    pane_id = "crawler"
    title = "3 Crawler"
    processor = "crawler"
    wide_columns = (
        ("round", "Rnd", 5),
        ("seed", "Seed", 16),
        ("found", "Found", 5),
        ("dropped", "Drop", 4),
        ("dup", "Dup", 4),
        ("queued", "Queued", 6),
        ("why", "Dropped because", 12),
    )
    narrow_columns = (("round", "Rnd", 4), ("seed", "Seed", 6), ("found", "Fnd", 3), ("queued", "Queued", 6))
    flex_column = "seed"
    wide_flex_column = "why"
    drop_order = ("why", "dup", "dropped")
    compact = {"seed": 10}
    grow = {"seed": 30}

    def compose(self) -> ComposeResult:
        yield Static("no crawl yet — press c to run one", id="crawler-totals", markup=False)
        yield self.make_table(id_column="round", id="crawler-table")

    def apply(self, snap: EngineSnapshot) -> None:
        self.last_snapshot = snap
        crawler = snap.crawler
        self._apply_totals(crawler, snap)
        rounds = list(crawler.rounds) if crawler else []
        assert self.table is not None
        self.want({"seed": max((len(r.seed) for r in rounds), default=0)})
        seed_width = self.table.widths.get("seed") or 16
        rows = []
        for r in reversed(rounds):  # newest first: the live round is what the operator watches
            label = f"{r.request_id or 0}.{r.round}"
            if not self.matches(r.seed):
                continue
            total, why = _dropped(r)
            rows.append(
                (
                    label,
                    {
                        "round": label,
                        "seed": short(r.seed, seed_width),
                        "found": r.found,
                        "dropped": total,
                        "dup": r.duplicates,
                        "queued": r.queued,
                        "why": short(redact(why or (r.error or "")), self.table.widths.get("why") or 40),
                    },
                )
            )
        self.table.sync(rows)

    def _apply_totals(self, crawler: CrawlerSnapshot | None, snap: EngineSnapshot) -> None:
        parts = []
        if crawler is not None and crawler.target:
            parts.append(f"queued {crawler.queued}/{crawler.target} {bar(crawler.queued / crawler.target, 10)}")
        if crawler is not None and crawler.current is not None:
            parts.append(f"now: {short(_describe_current(crawler.current), 40)}")
        if crawler is not None and crawler.budget is not None:
            budget = crawler.budget
            parts.append(
                f"budget {budget.used} calls today"
                if budget.unlimited
                else f"budget {budget.used}/{budget.limit} calls today"
            )
        info = snap.processors.get("crawler")
        state = info.state if info else "not running"
        self.set_titles(*self.titles_with_state(self.title, state=state))
        text = "  ".join(parts) if parts else ("idle — press c to crawl now" if crawler else "no crawl yet")
        self.query_one("#crawler-totals", Static).update(text)


def _describe_current(current: CrawlView) -> str:
    text = f"#{current.request_id} {current.state}"
    if current.max_rounds:
        text += f" round {min(current.rounds_done + 1, current.max_rounds)}/{current.max_rounds}"
    seed = current.detail.get("seed")
    if seed:
        text += f" seed {seed}"
    return text
