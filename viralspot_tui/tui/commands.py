"""Command-palette entries (``ctrl+p``) for everything an operator does from the keyboard.

The palette is the discoverable way in: an operator who forgot that ``R`` retries all failed
items types "retry" and finds it. Entries call the same App methods as the keys, and a few
are generated from the live board ("Raise alice to HIGH") so the palette doubles as a
search over the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import ViralSpotApp

__all__ = ["ViralSpotCommands"]


class ViralSpotCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app: ViralSpotApp = self.app  # type: ignore[assignment]
        entries: list[tuple[str, str, Callable[[], object]]] = [
            ("Pause or resume all processors", "p", app.action_pause_all),
            ("Add usernames to the queue", "a", app.action_add_usernames),
            ("New viral ideas analysis job", "n", app.action_new_job),
            ("Run the network crawler now", "c", app.action_run_crawler),
            ("Retry all failed queue items", "R", app.action_retry_all),
            ("Command line", ":", app.action_command_line),
            ("Show keys and commands", "?", app.action_help),
            ("Save a screenshot (SVG)", "f8", app.action_screenshot_to_dir),
            ("Quit (drain gracefully)", "q", app.action_request_quit),
        ]
        supervisor = app.supervisor
        for name in supervisor.slots if supervisor is not None else ():
            paused = supervisor.is_paused(name)
            entries.append(
                (f"{'Resume' if paused else 'Pause'} the {name} processor", "space", partial(app.op_toggle, name))
            )
        snap = app.last_snapshot
        for job in snap.viral.jobs[:20] if snap is not None and snap.viral is not None else ():
            who = f"job #{job.id} (@{job.primary_username})"
            if job.status in ("pending", "processing", "paused") or job.auto_rerun:
                entries.append(
                    (f"Cancel {who}", "d", partial(app.confirm_cancel_job, job.id, f" (@{job.primary_username})"))
                )
            schedule = "off" if job.auto_rerun else f"on (every {job.rerun_every_hours:g} h)"
            entries.append((f"Turn re-runs of {who} {schedule}", "s", partial(app.confirm_schedule, job)))
        if snap is not None:
            seen: set[str] = set()
            for item in snap.queue.board[:60]:
                if item.username in seen:
                    continue
                seen.add(item.username)
                if item.status.value == "FAILED":
                    entries.append((f"Retry {item.username}", "r", partial(app.op_retry, item.username)))
                elif item.priority.value == "LOW":
                    entries.append((f"Raise {item.username} to HIGH", "]", partial(app.op_bump, item.username, "HIGH")))
                else:
                    entries.append((f"Lower {item.username} to LOW", "[", partial(app.op_bump, item.username, "LOW")))
        return entries

    async def discover(self) -> Hits:
        for title, key, callback in self._entries()[:12]:
            yield DiscoveryHit(title, callback, help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, key, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=f"key: {key}")
