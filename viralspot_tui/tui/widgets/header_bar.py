"""The two header lines: where the queue lives, whether it is reachable, what is simulated.

Operators glance here first, so the things that change their decisions are loud: a
SIMULATED DATA banner (nobody should mistake demo numbers for real ones), offline state
with the outbox depth, parked or nearly spent API quota, paused processors and draining.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ...core.snapshot import EngineSnapshot
from ...core.store.outbox_store import format_age
from ..format import count, quota_left

__all__ = ["HeaderBar"]

_STATE_MARK = {"running": "▶", "paused": "⏸", "restarting": "↻", "starting": "…", "stopping": "■", "stopped": "■"}
_QUOTA_NAMES = {"instagram": "ig", "transcripts": "tr", "openai": "ai"}


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 2; background: $panel; color: $foreground; padding: 0 1;
                text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(Content.from_markup("[b]ViralSpot[/b]  starting…"), **kwargs)  # type: ignore[arg-type]
        self._last: tuple[object, ...] | None = None

    def show_snapshot(self, snap: EngineSnapshot) -> None:
        now = snap.at
        quota = tuple((_QUOTA_NAMES.get(name, name), quota_left(state, now)) for name, state in snap.quota.items())
        procs = tuple((name, info.state, info.restarts) for name, info in snap.processors.items())
        key = (
            snap.simulated,
            snap.sim_speed,
            snap.backend,
            snap.online,
            snap.outbox_depth,
            None if snap.outbox_oldest_age is None else int(snap.outbox_oldest_age // 60),
            quota,
            procs,
            snap.draining,
            self.size.width,
        )
        if key == self._last:
            return
        self._last = key
        self.update(self.render_header(snap, quota, procs, width=self.size.width))

    @staticmethod
    def render_header(
        snap: EngineSnapshot,
        quota: tuple[tuple[str, str], ...],
        procs: tuple[tuple[str, str, int], ...],
        width: int = 0,
    ) -> Content:
        parts: list[Content] = [Content.from_markup("[b]ViralSpot[/b] ")]
        if snap.simulated:
            speed = f" · time x{snap.sim_speed:g}" if snap.sim_speed > 1 else ""
            parts.append(Content.from_markup(f"[reverse $warning] SIMULATED DATA{speed} [/] "))
        # The backend (with the queue file's path) gets what the line leaves: cut from the left
        # only when it must (the file name is the end an operator needs), never at 200 columns.
        room = max(32, width - 60)
        backend = snap.backend if len(snap.backend) <= room else "…" + snap.backend[-(room - 1) :]
        parts.append(Content(f"{backend} "))
        if snap.online:
            parts.append(Content.from_markup("[$success]● online[/] "))
        else:
            parts.append(Content.from_markup("[b $error]● OFFLINE[/] "))
        oldest = f" (oldest {format_age(snap.outbox_oldest_age)})" if snap.outbox_oldest_age is not None else ""
        parts.append(Content(f"outbox {count(snap.outbox_depth)}{oldest}"))
        if snap.draining:
            parts.append(Content.from_markup("  [reverse $error] DRAINING [/]"))
        line2: list[Content] = []
        for name, state, restarts in procs:
            mark = _STATE_MARK.get(state, "?")
            style = "$warning" if state == "paused" else ("$error" if state == "restarting" else "$success")
            text = f"{name} {mark}" + (f" ↻{restarts}" if restarts else "")
            line2.append(Content.styled(text, style))
            line2.append(Content("  "))
        if quota:
            line2.append(Content("quota "))
            for name, left in quota:
                style = "$error" if left.startswith("PARKED") else ""
                line2.append(Content.styled(f"{name} {left}", style) if style else Content(f"{name} {left}"))
                line2.append(Content(" "))
        return Content("\n").join([Content("").join(parts), Content("").join(line2).rstrip()])
