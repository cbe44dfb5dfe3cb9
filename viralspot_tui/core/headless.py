"""The headless runner (``--no-ui``): the same supervisor, with logs instead of widgets.

Signals (docs/queue.md, "Shutdown"): the first SIGTERM/SIGINT/SIGHUP starts a graceful drain (stop claiming,
let in-flight items finish within the grace period, release the rest); a second one forces
a fast exit that is still safe — in-flight items are released at once, leases would expire
anyway. Events go to the log; a status line is logged periodically.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

from .clock import from_iso
from .engine import open_engine
from .events import Event
from .idle import IdleVerdict, IdleWatch
from .models.queue import Priority, Status
from .store.outbox_store import format_age

if TYPE_CHECKING:
    from ..config import Settings
    from .supervisor import Supervisor

__all__ = ["run_headless", "status_line"]

log = logging.getLogger("viralspot")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def status_line(supervisor: "Supervisor") -> str:
    snap = supervisor.snapshot()
    q = snap.queue
    parts = [
        f"{p.value}: " + (" ".join(f"{s.value.lower()}={q.count(p, s)}" for s in Status if q.count(p, s)) or "empty")
        for p in Priority
    ]
    procs = " ".join(f"{n}={i.state}" for n, i in snap.processors.items())
    rate = sum(q.throughput[-10:]) / 10 if q.throughput else 0.0
    waiting = f"outbox {snap.outbox_depth}" + (
        f", oldest {format_age(snap.outbox_oldest_age)}" if snap.outbox_oldest_age is not None else ""
    )
    online = ("online" + (f" ({waiting})" if snap.outbox_depth else "")) if snap.online else f"OFFLINE ({waiting})"
    speed = f", time x{snap.sim_speed:g}" if snap.sim_speed > 1 else ""
    sim = f" [SIMULATED DATA{speed}]" if snap.simulated else ""
    parked = "".join(
        f" | {name} PARKED until {quota['parked_until']}"
        for name, quota in snap.quota.items()
        if (until := from_iso(quota.get("parked_until"))) is not None and until > snap.at
    )
    return f"{' | '.join(parts) or 'queue empty'} | in-flight {q.in_flight} | {rate:.1f}/s | {procs} | {online}{sim}{parked}"


def _log_event(event: Event) -> None:
    log.log(_LEVELS.get(event.level, logging.INFO), event.message, extra={"kind": event.kind})


async def run_headless(
    settings: "Settings", *, exit_when_idle: bool = False, setup: Any = None, **engine_kwargs: Any
) -> int:
    """Run until a signal, a ``quit`` control command, or (optionally) idleness. Returns the exit code.

    ``setup`` is an optional coroutine function called with the started supervisor (the demo
    seeds its sample work there).
    """
    code = 0
    async with open_engine(settings, **engine_kwargs) as supervisor:
        loop = asyncio.get_running_loop()
        signals = {"count": 0}
        stop = asyncio.Event()

        def on_signal(signame: str) -> None:
            signals["count"] += 1
            if signals["count"] == 1:
                log.warning("%s received: draining (send again to exit fast)", signame)
                stop.set()
            else:
                log.warning("%s received again: fast exit", signame)
                stop.set()
                supervisor.force_stop()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, on_signal, sig.name)
        unsubscribe = supervisor.runtime.events.subscribe(_log_event)
        try:
            await supervisor.start()
            if setup is not None:
                await setup(supervisor)
            verdict = await _wait_until_done(supervisor, stop, exit_when_idle, settings.status_interval_seconds)
            if verdict is not None:
                log.log(logging.ERROR if verdict.exit_code else logging.INFO, "batch run: %s", verdict.reason)
                code = verdict.exit_code
            log.info("stopping: %s", status_line(supervisor))
            await supervisor.stop()
            log.info("final: %s", status_line(await _final_refresh(supervisor)))
        finally:
            unsubscribe()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
    return code


async def _final_refresh(supervisor: "Supervisor") -> "Supervisor":
    try:
        await supervisor.refresh()
    except Exception:  # noqa: BLE001 - the database may already be closing
        pass
    return supervisor


async def _wait_until_done(
    supervisor: "Supervisor", stop: asyncio.Event, exit_when_idle: bool, status_every: float
) -> IdleVerdict | None:
    """Wait for a stop request, or (batch mode) the engine's idle verdict (core/idle.py)."""
    loop = asyncio.get_running_loop()
    next_status = loop.time() + status_every
    watch = IdleWatch(supervisor)
    while not stop.is_set() and not supervisor.quit_requested.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.25)
        except TimeoutError:
            pass
        if loop.time() >= next_status:
            next_status = loop.time() + status_every
            log.info(status_line(supervisor))
        if exit_when_idle and (verdict := await watch.check()) is not None:
            return verdict
    return None
