"""The crawler pane: each round's seed and what became of the accounts it found.

Every dropped candidate has a reason (SPEC C4); the table shows the total and the tooltip-less
terminal gets the biggest reasons inline, so an operator sees at a glance *why* a round queued
little (private accounts, small accounts, or everything already known). Under 120 terminal
columns the table keeps the round, seed, found and queued counts.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from ...core.snapshot import EngineSnapshot
from ...logs import redact
from ..format import bar, short
from .pane import Pane

__all__ = ["CrawlerPane"]


def _dropped(value: Any) -> tuple[int, str]:
    if isinstance(value, dict):
        total = sum(int(v) for v in value.values())
        top = sorted(value.items(), key=lambda kv: -int(kv[1]))[:2]
        return total, ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in top)
    return int(value or 0), ""


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

    def compose(self) -> ComposeResult:
        yield Static("no crawl yet — press c to run one", id="crawler-totals", markup=False)
        yield self.make_table(id_column="round", id="crawler-table")

    def apply(self, snap: EngineSnapshot) -> None:
        self.last_snapshot = snap
        crawler = snap.crawler or {}
        self._apply_totals(crawler, snap)
        rounds = list(crawler.get("rounds", []))
        assert self.table is not None
        seed_width = self.table.widths.get("seed") or 16
        rows = []
        for r in reversed(rounds):  # newest first: the live round is what the operator watches
            label = f"{r.get('request_id') or 0}.{r.get('round', '?')}"
            if not self.matches(str(r.get("seed", ""))):
                continue
            total, why = _dropped(r.get("dropped"))
            queued = r.get("queued", 0)
            queued = len(queued) if isinstance(queued, list) else int(queued or 0)
            rows.append(
                (
                    label,
                    {
                        "round": label,
                        "seed": short(str(r.get("seed", "")), seed_width),
                        "found": int(r.get("found", 0)),
                        "dropped": total,
                        "dup": int(r.get("duplicates", 0)),
                        "queued": queued,
                        "why": short(redact(why or str(r.get("error") or "")), self.table.widths.get("why") or 40),
                    },
                )
            )
        self.table.sync(rows)

    def _apply_totals(self, crawler: dict[str, Any], snap: EngineSnapshot) -> None:
        totals = crawler.get("totals") or {}
        queued, target = int(totals.get("queued", 0) or 0), int(totals.get("target", 0) or 0)
        parts = []
        if target:
            parts.append(f"queued {queued}/{target} {bar(queued / target, 10)}")
        current = crawler.get("current")
        if current:
            parts.append(f"now: {short(_describe_current(current), 40)}")
        budget = crawler.get("budget")
        if isinstance(budget, dict) and budget:
            used, limit = budget.get("used", budget.get("calls")), budget.get("limit", budget.get("daily"))
            if used is not None and limit:
                parts.append(f"budget {used}/{limit} calls today")
        elif budget:
            parts.append(f"budget {budget}")
        info = snap.processors.get("crawler")
        state = info.state if info else "not running"
        self.set_titles(*self.titles_with_state(self.title, state=state))
        text = "  ".join(parts) if parts else ("idle — press c to crawl now" if crawler else "no crawl yet")
        self.query_one("#crawler-totals", Static).update(text)


def _describe_current(current: Any) -> str:
    if not isinstance(current, dict):
        return str(current)
    text = f"#{current.get('request_id', '?')} {current.get('state', 'running')}"
    if current.get("max_rounds"):
        text += (
            f" round {min(int(current.get('rounds_done', 0)) + 1, int(current['max_rounds']))}/{current['max_rounds']}"
        )
    if current.get("seed"):
        text += f" seed {current['seed']}"
    return text
