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

from .common import CliState, echo_json, engine_running, open_runtime, pass_state, run_async

__all__ = ["register"]

_TARGET = click.Choice(["queue", "viral", "crawler", "all"])
_PROCESSORS = ("queue", "viral", "crawler")


async def _steer(state: CliState, command: str, target: str) -> str:
    from ..core.control import ControlChannel

    async with open_runtime(state) as runtime:
        channel = ControlChannel(runtime.db, runtime.clock)
        if await engine_running(runtime):
            result = await channel.wait_result(await channel.post(command, target=target), timeout=5.0)
            if result is None:
                return f"{command} {target}: sent, but the running engine did not answer within 5 s"
            return result.result or "done"
        stored = set(json.loads(await channel.get_state("paused") or "[]"))
        names = set(_PROCESSORS) if target == "all" else {target}
        stored = stored | names if command == "pause" else stored - names
        await channel.set_state("paused", json.dumps(sorted(stored)))
        return f"no engine running; {target} will start {'paused' if command == 'pause' else 'running'}"


def _steer_command(command: str) -> click.Command:
    @click.command(command, help=f"{command.capitalize()} a processor (queue, viral, crawler) or all.")
    @click.argument("target", type=_TARGET)
    @pass_state
    def steer(state: CliState, target: str) -> None:
        click.echo(run_async(_steer(state, command, target)))

    return steer


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Counts by priority and status, processors, jobs, crawler, online/offline and outbox depth."""
    from ..core.control import engine_is_running, read_state_sync

    async def go() -> dict[str, object]:
        async with open_runtime(state) as runtime:
            counts = await runtime.queue.counts()
            published = await runtime.db.read(read_state_sync, "engine")
            running = engine_is_running(published, runtime.clock.now())
            stored = await runtime.db.read(_stored_work_sync)
        by_priority: dict[str, dict[str, int]] = {}
        for (prio, st), n in sorted(counts.items()):
            by_priority.setdefault(prio.value, {})[st.value] = n
        engine = json.loads(published) if published else {}
        return {
            "engine_running": running,
            "queue": by_priority,
            "processors": engine.get("processors", {}) if running else {},
            "backend": engine.get("backend"),
            "online": engine.get("online") if running else None,
            "outbox_depth": engine.get("outbox_depth", 0),
            "simulated": engine.get("simulated"),
            "quota": engine.get("quota", {}) if running else {},
            "viral": engine.get("viral", {}) if running else {},
            "crawler": engine.get("crawler", {}) if running else {},
            "jobs": stored["jobs"],
            "crawls": stored["crawls"],
            "last_seen": engine.get("heartbeat"),
        }

    data = run_async(go())
    if as_json:
        echo_json(data)
        return
    click.echo(
        "engine: "
        + ("running" if data["engine_running"] else "not running")
        + (f" ({data['backend']})" if data["backend"] else "")
    )
    queue = data["queue"]
    assert isinstance(queue, dict)
    for prio in ("HIGH", "LOW"):
        row = queue.get(prio, {})
        click.echo(f"  {prio:<4} " + (" ".join(f"{k.lower()}={v}" for k, v in row.items()) or "empty"))
    for label, key in (("analysis jobs", "jobs"), ("crawls", "crawls")):
        counts = data[key]
        assert isinstance(counts, dict)
        click.echo(f"  {label}: " + (" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    if data["engine_running"]:
        procs = data["processors"]
        assert isinstance(procs, dict)
        click.echo("  processors: " + " ".join(f"{n}={p['state']}" for n, p in procs.items()))
        click.echo(
            f"  backend {'online' if data['online'] else 'OFFLINE'}, outbox depth {data['outbox_depth']}"
            + (" [SIMULATED DATA]" if data["simulated"] else "")
        )


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
