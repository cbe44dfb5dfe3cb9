"""The console's few calls into the crawler and viral-ideas APIs, behind plain functions.

Asking for a crawl or creating a job only *records* it (a row in the shared database) and
wakes the processor, exactly like ``viralspot crawl`` / ``viralspot analyze`` from a shell, so
the console adds no second way of doing either. Reading a job's details is the only query the
console makes outside the snapshot: it is one operator request, not a refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.models.usernames import InvalidUsername
from .operator import OperatorError

if TYPE_CHECKING:
    from ..core.supervisor import Supervisor

__all__ = ["request_crawl", "create_job", "JobDetail", "load_job_detail"]


def _wake(supervisor: "Supervisor", name: str) -> bool:
    if name in supervisor.slots:
        supervisor.wake(name)
        return True
    return False


async def request_crawl(supervisor: "Supervisor", seeds: list[str]) -> str:
    from ..core.crawler.store import CrawlerStore

    runtime = supervisor.runtime
    cfg = runtime.settings.crawler
    store = CrawlerStore(runtime.db, runtime.clock)
    try:
        request = await store.create_request(seeds, cfg.target_new_profiles, cfg.max_rounds, source="console")
    except (InvalidUsername, ValueError) as exc:
        raise OperatorError(str(exc)) from None
    seeds_text = ", ".join(request.seeds) or "automatic seeds"
    where = "starting now" if _wake(supervisor, "crawler") else "the crawler is not running in this console"
    if "crawler" in supervisor.slots and supervisor.is_paused("crawler"):
        where = "the crawler is paused: press space on its pane to resume"
    return f"crawl #{request.id} ({seeds_text}, target {request.target}) — {where}"


async def create_job(
    supervisor: "Supervisor", primary: str, competitors: list[str], strategy: dict[str, str] | None
) -> str:
    from ..core.viral.api import create_job as api_create_job
    from ..core.viral.models import ContentStrategy

    try:
        job = await api_create_job(supervisor.runtime, primary, competitors, ContentStrategy(**(strategy or {})))
    except (InvalidUsername, ValueError) as exc:
        raise OperatorError(str(exc)) from None
    where = "queued" if _wake(supervisor, "viral") else "recorded (the viral processor is not running here)"
    return f"job #{job.id} for {job.primary_username} with {len(job.competitors)} competitor(s) {where}"


@dataclass
class JobDetail:
    """Everything the job detail screen shows, read once when it opens (and on ``r``)."""

    job: dict[str, Any]
    strategy: dict[str, Any] = field(default_factory=dict)
    competitor_states: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] | None = None
    reels: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[dict[str, Any]] = field(default_factory=list)


async def load_job_detail(supervisor: "Supervisor", job_id: int) -> JobDetail:
    from ..core.viral.api import JobNotFound, get_job
    from ..core.viral.results import ResultStore

    runtime = supervisor.runtime
    try:
        job = await get_job(runtime, job_id)
    except JobNotFound:
        raise OperatorError(f"job #{job_id} no longer exists") from None
    detail = JobDetail(
        job=job.summary(),
        strategy=job.content_strategy.model_dump(),
        competitor_states=[c.model_dump() for c in job.competitor_states],
    )
    results = ResultStore(runtime.db, runtime.clock)
    run = await results.get_run(job_id, completed_only=False)
    if run is None:
        return detail
    detail.run = {
        "number": run.run_number,
        "type": run.run_type.value,
        "status": run.status,
        "error": run.error,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "tokens": sum(int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0)) for u in run.usage.values()),
        "cost": sum(float(u.get("cost_usd", 0.0)) for u in run.usage.values()),
    }
    detail.reels = await results.selection(run.id)
    detail.hooks = list((run.generated_hooks or {}).get("hooks", []))
    detail.scripts = await results.scripts(run.id)
    return detail
