"""What the operator sees after quitting: the graceful drain (docs/queue.md, "Shutdown") as it happens.

Quitting does not cut work in half: the supervisor stops claiming, lets in-flight items
finish within the grace period and hands the rest back to the queue. That can take seconds,
so this screen counts it down with what is still running; a second ``ctrl+q`` asks for the
fast (still safe) exit.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static

__all__ = ["DrainScreen"]


class DrainScreen(ModalScreen[None]):
    BINDINGS = [Binding("ctrl+q,escape", "app.force_quit", "Quit faster", priority=True, id="drain_force")]

    def __init__(self, grace_seconds: float) -> None:
        super().__init__()
        self.grace = max(0.0, grace_seconds)
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="drain-dialog"):
            yield Label("Shutting down gracefully", classes="dialog-title")
            yield Static("stopping intake…", id="drain-status")
            yield ProgressBar(total=max(self.grace, 0.1), show_eta=False, show_percentage=False, id="drain-bar")
            yield Static(
                "in-flight items finish or go back to the queue · ctrl+q or esc: faster", classes="dialog-detail"
            )

    def on_mount(self) -> None:
        self.set_interval(0.25, self.tick)
        self.tick()

    def tick(self) -> None:
        try:
            elapsed = time.monotonic() - self.started
            in_flight = self.app.in_flight_summary()  # type: ignore[attr-defined]
            self.query_one("#drain-status", Static).update(
                f"{in_flight} · {max(0.0, self.grace - elapsed):.0f}s of {self.grace:.0f}s grace left"
            )
            self.query_one("#drain-bar", ProgressBar).update(progress=min(elapsed, self.grace))
        except Exception:  # noqa: BLE001 - a cosmetic timer must never take the app down
            pass
