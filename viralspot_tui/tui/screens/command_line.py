"""The ``:`` command line (k9s/vim style): one line at the bottom, completion, history.

It only collects the text; :mod:`viralspot_tui.core.ops.command_line` interprets it, so
``:pause crawler`` here and ``viralspot pause crawler`` in a shell share one meaning. The
line remembers what was typed this session (``up``/``down``) because operators repeat
commands (``:bump``, ``:retry``) far more often than they invent new ones.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from ...core.ops.command_line import COMMAND_HELP

__all__ = ["CommandLineScreen"]

_SUGGESTIONS = [
    "pause queue",
    "pause viral",
    "pause crawler",
    "pause all",
    "resume queue",
    "resume viral",
    "resume crawler",
    "resume all",
    "bump ",
    "add ",
    "retry all",
    "retry ",
    "remove ",
    "crawl",
    "concurrency ",
    "filter ",
    "screenshot ",
    "help",
    "quit",
    "q",
    "q!",
]


class CommandLineScreen(ModalScreen[str | None]):
    history: ClassVar[list[str]] = []

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cmdline_cancel"),
        Binding("up", "history(-1)", "Previous", show=False, id="cmdline_previous"),
        Binding("down", "history(1)", "Next", show=False, id="cmdline_next"),
    ]

    def __init__(self, initial: str = "") -> None:
        super().__init__(classes="cmdline-screen")
        self.initial = initial
        self._position = len(self.history)

    def compose(self) -> ComposeResult:
        yield Label("  ".join(cmd.split()[0] for cmd, _ in COMMAND_HELP), id="cmdline-hint")
        with Horizontal(id="cmdline"):
            yield Label(":", id="cmdline-prompt")
            yield Input(
                self.initial,
                id="cmdline-input",
                suggester=SuggestFromList(_SUGGESTIONS),
                placeholder="pause crawler · bump NAME high · retry all · q",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-100]
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + step))
        value = self.history[self._position] if self._position < len(self.history) else ""
        field = self.query_one(Input)
        field.value = value
        field.cursor_position = len(value)
