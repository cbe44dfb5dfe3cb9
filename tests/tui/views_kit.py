"""Pane inputs built by the real engine code, for render tests.

Jobs are created through the viral ideas API and read back by a real ViralIdeasProcessor; crawl
rounds are recorded through the CrawlerStore and read back as the crawler's typed views. The
only shortcut is setting a job's stage and progress in its row, as a run in flight would have
left them, so a frame can show a job mid-run without running the AI pipeline.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from viralspot_tui.core.clock import to_iso
from viralspot_tui.core.crawler.models import RoundReport
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.views import CrawlerSnapshot, RoundView, ViralSnapshot
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.processor import ViralIdeasProcessor


async def jobs_view(runtime: Any, jobs: list[dict[str, Any]], running: int) -> ViralSnapshot:
    """Create each job (primary, competitors) and leave its row as ``jobs`` says (status, stage, …)."""
    for spec in jobs:
        job = await api.create_job(runtime, spec["primary"], spec["competitors"])
        row = {k: spec[k] for k in ("status", "stage", "progress", "runs", "error") if k in spec}
        if spec.get("next_run_at") is not None:
            row["next_run_at"] = to_iso(spec["next_run_at"])
        sets = ", ".join(f"{k} = :{k}" for k in row)
        await runtime.db.write(
            lambda c, sets=sets, row=row, job_id=job.id: c.execute(
                f"UPDATE viral_ideas_queue SET {sets} WHERE id = :id", {**row, "id": job_id}
            )
        )
    processor = ViralIdeasProcessor(runtime)
    await processor.refresh_view()
    return replace(processor.snapshot(), running=running)


async def crawler_view(runtime: Any, rounds: list[dict[str, Any]], target: int) -> CrawlerSnapshot:
    """Record each round of one crawl request and return what the crawler pane is given."""
    store = CrawlerStore(runtime.db, runtime.clock)
    request = await store.create_request([r["seed"] for r in rounds], target, max(len(rounds), 1), source="cli")
    now = runtime.clock.now()
    for number, spec in enumerate(rounds, 1):
        report = RoundReport(request_id=request.id, round=number, started_at=now, finished_at=now, **spec)
        await store.record_round(report)
    views = tuple(RoundView.of(r) for r in await store.rounds_for(request.id))
    return CrawlerSnapshot(rounds=views, queued=sum(v.queued for v in views), target=target)
