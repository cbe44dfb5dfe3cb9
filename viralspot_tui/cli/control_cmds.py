"""``viralspot pause|resume|status|config show`` — steering a running engine from outside.

Pause and resume go through the control table; the running supervisor applies them within a
second and the command prints its answer. With no engine running the paused set is stored
and honoured at the next start. ``status`` combines the database's own counts with the
snapshot the engine publishes.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .common import CliState, echo_json, open_ops, open_runtime, pass_state, report, run_async, run_op

__all__ = ["register"]

_TARGET = click.Choice(["queue", "viral", "crawler", "all"], case_sensitive=False)
_PROCESSORS = ("queue", "viral", "crawler")


def _steer_command(command: str) -> click.Command:
    @click.command(command, help=f"{command.capitalize()} a processor (queue, viral, crawler) or all.")
    @click.argument("target", type=_TARGET)
    @pass_state
    def steer(state: CliState, target: str) -> None:
        async def go():  # noqa: ANN202
            async with open_ops(state) as ops:
                return await (ops.pause(target) if command == "pause" else ops.resume(target))

        report(run_op(go()))

    return steer


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Counts by priority and status, processors, jobs, crawler, online/offline and outbox depth."""
    from ..core.control import read_engine
    from ..core.store.outbox_store import OutboxStore, format_age

    async def go() -> dict[str, object]:
        async with open_runtime(state) as runtime:
            counts = await runtime.queue.counts()
            published = await runtime.db.read(read_engine, runtime.clock.now())
            stored = await runtime.db.read(_stored_work_sync)
            paused = json.loads(await runtime.control_state("paused") or "[]")
            outbox = OutboxStore(runtime.db, runtime.clock)
            depth, oldest = await outbox.depth()  # the local outbox itself: right with or without an engine
            halted = (await outbox.client()).halted
            shared = await _shared_queue(runtime.settings)
        by_priority: dict[str, dict[str, int]] = {}
        for (prio, st), n in sorted(counts.items()):
            by_priority.setdefault(prio.value, {})[st.value] = n
        engine, running = published.state, published.alive
        return {
            "engine_running": running,
            "queue": by_priority,
            "processors": engine.get("processors", {}) if running else {},
            "backend": engine.get("backend"),
            "online": engine.get("online") if running else None,
            "outbox_depth": depth,
            "outbox_oldest_age_seconds": None if oldest is None else round(oldest, 1),
            "outbox_halted": halted,
            "simulated": engine.get("simulated"),
            "quota": engine.get("quota", {}) if running else {},
            "viral": engine.get("viral", {}) if running else {},
            "crawler": engine.get("crawler", {}) if running else {},
            "jobs": stored["jobs"],
            "crawls": stored["crawls"],
            "last_seen": engine.get("heartbeat"),
            "paused": paused,
            "shared_queue": shared,
        }

    data = run_async(go())
    if as_json:
        echo_json(data)
        return
    running = bool(data["engine_running"])
    seen = f", last heartbeat {data['last_seen']}" if not running and data["last_seen"] else ""
    click.echo("engine: " + ("running" if running else "not running") + (f" ({data['backend']})" if running else seen))
    queue = data["queue"]
    assert isinstance(queue, dict)
    for prio in ("HIGH", "LOW"):
        row = queue.get(prio, {})
        click.echo(f"  {prio:<4} " + (" ".join(f"{k.lower()}={v}" for k, v in row.items()) or "empty"))
    for label, key in (("analysis jobs", "jobs"), ("crawls", "crawls")):
        counts = data[key]
        assert isinstance(counts, dict)
        click.echo(f"  {label}: " + (" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    oldest_age = data["outbox_oldest_age_seconds"]
    if not data["engine_running"] and data["outbox_depth"]:
        click.echo(f"  outbox: {data['outbox_depth']} waiting for Supabase, oldest {format_age(oldest_age)}")  # type: ignore[arg-type]
    if data["outbox_halted"]:
        click.echo(f"  outbox STOPPED: {data['outbox_halted']}")
    if data["engine_running"]:
        procs = data["processors"]
        assert isinstance(procs, dict)
        click.echo("  processors: " + " ".join(f"{n}={p['state']}" for n, p in procs.items()))
        click.echo(
            f"  backend {'online' if data['online'] else 'OFFLINE'}, outbox depth {data['outbox_depth']}"
            + (f", oldest {format_age(oldest_age)}" if isinstance(oldest_age, float) else "")
            + (" [SIMULATED DATA]" if data["simulated"] else "")
        )
        quota = data["quota"]
        assert isinstance(quota, dict)
        from datetime import UTC, datetime

        from ..core.clock import from_iso

        for name, q in quota.items():
            until = from_iso(q.get("parked_until")) if isinstance(q, dict) else None
            if until is not None and until > datetime.now(UTC):
                click.echo(f"  {name}: PARKED until {q['parked_until']} ({q.get('parked_reason') or 'quota'})")
    elif data["paused"]:
        click.echo(f"  paused at next start: {', '.join(data['paused'])}")  # type: ignore[arg-type]
    if isinstance(shared := data["shared_queue"], dict):
        _echo_shared(shared)


async def _shared_queue(settings: Any) -> dict[str, Any] | None:
    """The shared Supabase queue as every console sees it (None with the CSV backend)."""
    from ..core.ops.queue_ops import uses_supabase

    if not uses_supabase(settings):  # the remote actions (and their models) only when needed
        return None
    from ..core.ops.remote_queue import RemoteQueueActions
    from ..core.ops.results import OpError

    try:
        return await RemoteQueueActions(settings).overview()
    except OpError as exc:
        return {"error": str(exc)}


def _echo_shared(shared: dict[str, Any]) -> None:
    if "error" in shared:
        click.echo(f"shared queue: UNREACHABLE ({shared['error']})")
        return
    state = f"PAUSED by {shared['paused_by'] or 'an operator'}" if shared["paused"] else "running"
    consoles = shared["consoles"]
    click.echo(f"shared queue on {shared['host']}: {state}, {len(consoles)} console(s) live")
    for prio in ("HIGH", "LOW"):
        row = shared["queue"].get(prio, {})
        click.echo(f"  {prio:<4} " + (" ".join(f"{k.lower()}={v}" for k, v in sorted(row.items())) or "empty"))
    for c in consoles:
        click.echo(f"  console {c['console']} (last beat {c['last_beat_at']})")


def _stored_work_sync(conn: Any) -> dict[str, dict[str, int]]:
    """Analysis jobs and crawl requests by status, straight from the database (engine or not)."""
    jobs = dict(conn.execute("SELECT status, COUNT(*) FROM viral_ideas_queue GROUP BY status").fetchall())
    crawls = dict(conn.execute("SELECT status, COUNT(*) FROM crawler_requests GROUP BY status").fetchall())
    return {"jobs": jobs, "crawls": crawls}


@click.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def show(state: CliState, as_json: bool) -> None:
    """Print the effective configuration (defaults < viralspot.toml < env < flags), secrets masked."""
    settings = state.settings
    data = _masked(json.loads(settings.model_dump_json()))
    assert isinstance(data, dict)
    for key in ("rapidapi_key", "openai_api_key", "supabase_service_role_key"):
        data.pop(key, None)
    if as_json:
        echo_json(data)
        return
    _print_tree(data, "")


def _masked(value: object) -> object:
    """Secrets are SecretStr already; also mask a password in a URL and any known key in text."""
    from urllib.parse import urlsplit, urlunsplit

    from ..logs import MASK, redact

    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if not isinstance(value, str):
        return value
    if "://" in value and "@" in value:
        try:
            parts = urlsplit(value)
            if parts.password is not None:
                host = parts.hostname or ""
                netloc = f"{parts.username}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
                value = urlunsplit(parts._replace(netloc=netloc))
        except ValueError:
            pass
    return redact(value)


def _print_tree(data: dict[str, object], prefix: str) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and value:
            _print_tree(value, f"{prefix}{key}.")
        else:
            click.echo(f"{prefix}{key} = {json.dumps(value)}")


def register(cli: click.Group) -> None:
    cli.add_command(_steer_command("pause"))
    cli.add_command(_steer_command("resume"))
    cli.add_command(status)
    cli.add_command(config_group)
