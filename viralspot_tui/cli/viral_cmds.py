"""``viralspot analyze``, ``viralspot jobs …`` and ``viralspot export`` — viral ideas jobs (docs/viral.md).

``analyze`` records the job and nudges a running engine; with ``--wait`` it follows the job to
the end, doing the work itself when no engine runs. Exit codes: 0 done (or recorded), 1 the
job failed, 2 bad input. Nothing here imports Textual, and openai only when work runs here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from .common import EXIT_ERROR, CliState, echo_json, open_ops, pass_state, report, run_op

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
    fields = {"content_type": content_type, "target_audience": audience, "goals": goals}

    async def go() -> int:
        async with open_ops(state) as ops:
            result = await ops.create_job(primary, list(competitors), fields, auto_rerun, rerun_hours)
            click.echo(result.text() if not wait else result.message)
            code = await _hand_over(ops, result.data.id, wait)
        return await _run_here(state, result.data.id) if code is None else code

    code = run_op(go())
    if code:
        raise SystemExit(code)


async def _hand_over(ops: Any, job_id: int, wait: bool) -> int | None:
    """The job is recorded (and a running engine woken): follow it with ``--wait``.

    Returns an exit code, or ``None`` when no engine runs and the caller waits: running here
    needs providers, so the caller closes its runtime first and calls :func:`_run_here`."""
    if not wait:
        return 0
    if await ops.link.engine_running():
        return await _follow(ops, job_id)
    return None


async def _follow(ops: Any, job_id: int) -> int:
    """Poll the shared database while a running engine works on the job."""
    last = None
    polls = 0
    while True:
        job = await ops.get_job(job_id)
        line = f"  {job.status.value}: {job.stage} {job.progress}%"
        if line != last:
            click.echo(line)
            last = line
        if job.status.value in _TERMINAL:
            return _report(job)
        polls += 1
        if polls % 10 == 0 and not await ops.link.engine_running():  # it died or was stopped meanwhile
            click.echo(
                f"error: the engine stopped before job {job_id} finished; it is {job.status.value} and "
                "resumes with the next `viralspot run` (or run `analyze --wait` again)",
                err=True,
            )
            return EXIT_ERROR
        await asyncio.sleep(0.5)


async def _run_here(state: CliState, job_id: int) -> int:
    from ..core.viral import api

    async with open_ops(state, with_providers=True) as ops:
        runtime = ops.runtime
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
            job = await ops.run_job_here(job_id)
        except api.JobBusy:  # an engine started meanwhile and claimed it
            return await _follow(ops, job_id)
        finally:
            unsubscribe()
        return _report(job)


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
    from ..core.views import JobView

    async def go() -> list[Any]:
        async with open_ops(state) as ops:
            return (await ops.list_jobs()).data

    jobs = run_op(go())
    if as_json:
        echo_json(
            [
                {
                    **JobView.of(j).to_json(),
                    "rerun_every_hours": j.rerun_every_hours,
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
            error = j.error if len(j.error) <= 100 else j.error[:99].rsplit(" ", 1)[0] + "…"
            click.echo(f"       error: {error}")


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
    """Start JOB's next run now (its schedule is left as it is): only reels new since the last run are analysed."""
    _requeue(state, job_id, wait, "rerun")


@jobs_group.command("cancel")
@click.argument("job_id", metavar="JOB", type=int)
@pass_state
def cancel_job(state: CliState, job_id: int) -> None:
    """Stop JOB: its unfinished run ends (a running engine stops it), and its re-runs are turned off.

    A cancelled job is `failed` at the stage it reached; `jobs retry JOB` resumes it."""

    async def go() -> Any:
        async with open_ops(state) as ops:
            return await ops.cancel_job(job_id)

    report(run_op(go()))


@jobs_group.command("schedule")
@click.argument("job_id", metavar="JOB", type=int)
@click.option(
    "--every",
    "every_hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="HOURS",
    help="Re-run every HOURS hours (the next run that long from now).",
)
@click.option("--off", is_flag=True, help="Turn re-runs off.")
@pass_state
def schedule_job(state: CliState, job_id: int, every_hours: float | None, off: bool) -> None:
    """Turn JOB's re-runs on (--every HOURS) or off (--off)."""
    if (every_hours is None) == (not off):
        raise click.UsageError("give exactly one of --every HOURS or --off")

    async def go() -> Any:
        async with open_ops(state) as ops:
            return await ops.schedule_job(job_id, None if off else every_hours)

    report(run_op(go()))


def _requeue(state: CliState, job_id: int, wait: bool, how: str) -> None:
    async def go() -> int:
        async with open_ops(state) as ops:
            result = await (ops.retry_job(job_id) if how == "retry" else ops.rerun_job(job_id))
            click.echo(result.text() if not wait else result.message)
            code = await _hand_over(ops, job_id, wait)
        return await _run_here(state, job_id) if code is None else code

    code = run_op(go())
    if code:
        raise SystemExit(code)


@click.command("export")
@click.argument("job_id", metavar="JOB", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "json"], case_sensitive=False), default="md", show_default=True
)
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

    async def go() -> str:
        async with open_ops(state) as ops:
            return await ops.export_job(job_id, fmt, run_number)

    text = run_op(go())
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
