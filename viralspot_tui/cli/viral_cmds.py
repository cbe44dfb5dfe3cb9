"""``viralspot analyze``, ``viralspot jobs list`` and ``viralspot export`` — viral ideas jobs (§4, §9).

``analyze`` records the job and nudges a running engine; with ``--wait`` it follows the job to
the end, doing the work itself when no engine runs. Exit codes: 0 done (or recorded), 1 the
job failed, 2 bad input. Nothing here imports Textual, and openai only when work runs here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from .common import (
    EXIT_ERROR,
    EXIT_USAGE,
    CliState,
    echo_json,
    engine_running,
    fail,
    notify_engine,
    open_runtime,
    pass_state,
    run_async,
)

__all__ = ["register"]

_TERMINAL = ("completed", "failed")


@click.command("analyze")
@click.argument("primary")
@click.option(
    "--competitor",
    "-c",
    "competitors",
    multiple=True,
    required=True,
    help="A competitor username (repeat for each, 1 to 20).",
)
@click.option("--strategy-type", "content_type", default=None, help="Content type, e.g. 'cooking reels'.")
@click.option("--audience", default=None, help="Target audience.")
@click.option("--goals", default=None, help="What the content should achieve.")
@click.option("--auto-rerun", is_flag=True, help="Re-run on a schedule to track new content.")
@click.option(
    "--rerun-every",
    "rerun_hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Hours between re-runs (default viral.rerun_every_hours).",
)
@click.option("--wait", is_flag=True, help="Wait for the result; run the job here when no engine is running.")
@pass_state
def analyze(
    state: CliState,
    primary: str,
    competitors: tuple[str, ...],
    content_type: str | None,
    audience: str | None,
    goals: str | None,
    auto_rerun: bool,
    rerun_hours: float | None,
    wait: bool,
) -> None:
    """Create a viral ideas job for PRIMARY against the given competitors."""
    from ..core.viral import api
    from ..core.viral.models import ContentStrategy

    fields = {"content_type": content_type, "target_audience": audience, "goals": goals}
    try:
        strategy = ContentStrategy(**{k: v for k, v in fields.items() if v is not None})
    except ValueError as exc:
        fail(f"invalid content strategy: {exc}", code=EXIT_USAGE)

    async def go() -> int:
        async with open_runtime(state, with_providers=False) as runtime:
            try:
                job = await api.create_job(runtime, primary, list(competitors), strategy, auto_rerun, rerun_hours)
            except ValueError as exc:
                fail(str(exc), code=EXIT_USAGE)
            click.echo(
                f"job {job.id} created: @{job.primary_username} vs {', '.join('@' + c for c in job.competitors)}"
            )
            code = await _hand_over(runtime, job.id, wait)
        return await _run_here(state, job.id) if code is None else code

    code = run_async(go())
    if code:
        raise SystemExit(code)


async def _hand_over(runtime: Any, job_id: int, wait: bool) -> int | None:
    """A job is ready to run: wake the engine (and follow it with ``--wait``), or say how it starts.

    Returns an exit code, or ``None`` when no engine runs and the caller waits: running here
    needs providers, so the caller closes its runtime first and calls :func:`_run_here`."""
    if await engine_running(runtime):
        await notify_engine(runtime, "wake", target="viral")
        if not wait:
            click.echo("the running engine picks it up now")
            return 0
        return await _follow(runtime, job_id)
    if not wait:
        click.echo("no engine is running: it starts with the next `viralspot run`, or use --wait")
        return 0
    return None


async def _follow(runtime: Any, job_id: int) -> int:
    """Poll the shared database while a running engine works on the job."""
    from ..core.viral import api

    last = None
    polls = 0
    while True:
        job = await api.get_job(runtime, job_id)
        line = f"  {job.status.value}: {job.stage} {job.progress}%"
        if line != last:
            click.echo(line)
            last = line
        if job.status.value in _TERMINAL:
            return _report(job)
        polls += 1
        if polls % 10 == 0 and not await engine_running(runtime):  # it died or was stopped meanwhile
            click.echo(
                f"error: the engine stopped before job {job_id} finished; it is {job.status.value} and "
                "resumes with the next `viralspot run` (or run `analyze --wait` again)",
                err=True,
            )
            return EXIT_ERROR
        await asyncio.sleep(0.5)


async def _run_here(state: CliState, job_id: int) -> int:
    from ..core.viral import api

    async with open_runtime(state, with_providers=True) as runtime:
        if runtime.simulated:
            click.echo("running here (no engine running) on SIMULATED data")
        unsubscribe = runtime.events.subscribe(
            lambda e: (
                click.echo(f"  {e.message}")
                if e.kind in ("viral.progress", "viral.failed") and e.data.get("job_id") == job_id
                else None
            )
        )
        try:
            await api.run_job_now(runtime, job_id)
        except api.JobBusy:  # an engine started meanwhile and claimed it
            return await _follow(runtime, job_id)
        finally:
            unsubscribe()
        return _report(await api.get_job(runtime, job_id))


def _report(job: Any) -> int:
    if job.status.value == "completed":
        click.echo(f"job {job.id} completed (run {job.runs}); export it with `viralspot export {job.id}`")
        return 0
    click.echo(f"error: job {job.id} {job.status.value}: {job.error}", err=True)
    return EXIT_ERROR


@click.group("jobs")
def jobs_group() -> None:
    """Viral ideas analysis jobs."""


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_jobs(state: CliState, as_json: bool) -> None:
    """List analysis jobs, newest first."""
    from ..core.viral import api

    async def go() -> list[Any]:
        async with open_runtime(state) as runtime:
            return await api.list_jobs(runtime)

    jobs = run_async(go())
    if as_json:
        echo_json(
            [
                {
                    **j.summary(),
                    "content_strategy": j.content_strategy.model_dump(),
                    "competitor_status": [c.model_dump() for c in j.competitor_states],
                }
                for j in jobs
            ]
        )
        return
    click.echo(f"{'ID':>5}  {'PRIMARY':<24} {'COMP':>4}  {'STATUS':<10} {'STAGE':<18} {'PCT':>4} {'RUNS':>4}  NEXT RUN")
    for j in jobs:
        next_run = j.next_run_at.strftime("%Y-%m-%d %H:%M") if j.next_run_at else "-"
        click.echo(
            f"{j.id:>5}  {j.primary_username:<24} {len(j.competitors):>4}  {j.status.value:<10} "
            f"{j.stage:<18} {j.progress:>3}% {j.runs:>4}  {next_run}"
        )
        if j.error:
            click.echo(f"       error: {j.error[:100]}")


@jobs_group.command("retry")
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--wait", is_flag=True, help="Wait for the result; run the job here when no engine is running.")
@pass_state
def retry_job(state: CliState, job_id: int, wait: bool) -> None:
    """Retry a failed JOB: its failed run resumes at the stage that failed, earlier stages are kept."""
    _requeue(state, job_id, wait, "retry")


@jobs_group.command("rerun")
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--wait", is_flag=True, help="Wait for the result; run the job here when no engine is running.")
@pass_state
def rerun_job(state: CliState, job_id: int, wait: bool) -> None:
    """Start JOB's next run now (it turns on re-runs): only reels new since the last run are analysed."""
    _requeue(state, job_id, wait, "rerun")


def _requeue(state: CliState, job_id: int, wait: bool, how: str) -> None:
    from ..core.viral import api

    async def go() -> int:
        async with open_runtime(state, with_providers=False) as runtime:
            try:
                job = await (
                    api.retry_job(runtime, job_id) if how == "retry" else api.schedule_rerun_now(runtime, job_id)
                )
            except api.JobNotFound as exc:
                fail(str(exc), code=EXIT_ERROR)
            except ValueError as exc:
                fail(str(exc), code=EXIT_USAGE)
            click.echo(
                f"job {job.id} {'back to pending' if how == 'retry' else 'due now'} "
                f"(@{job.primary_username}, {job.runs} run(s) so far)"
            )
            code = await _hand_over(runtime, job.id, wait)
        return await _run_here(state, job_id) if code is None else code

    code = run_async(go())
    if code:
        raise SystemExit(code)


@click.command("export")
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--run", "run_number", type=click.IntRange(min=1), default=None, help="Run number (default: latest).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output.",
)
@pass_state
def export(state: CliState, job_id: int, fmt: str, run_number: int | None, output: Path | None) -> None:
    """Export a finished run of JOB: hooks, scripts and source reels."""
    from ..core.viral.export import NoResults, export_bundle, render
    from ..core.viral.store import JobNotFound

    async def go() -> str:
        async with open_runtime(state) as runtime:
            return render(await export_bundle(runtime, job_id, run_number), fmt)

    try:
        text = run_async(go())
    except (JobNotFound, NoResults) as exc:
        fail(str(exc), code=EXIT_ERROR)
    if output is None:
        click.echo(text, nl=False)
        return
    from ..core.atomic_file import write_atomic

    write_atomic(output, text)  # atomic, and owner-only when the file is new (exports hold client work)
    click.echo(f"wrote {output}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(analyze)
    cli.add_command(jobs_group)
    cli.add_command(export)
