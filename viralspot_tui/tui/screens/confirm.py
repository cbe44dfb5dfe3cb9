"""A yes/no question before anything destructive or disruptive (delete, quit while busy).

Modal so that no other key can act underneath it. ``y`` always confirms and ``n``/``escape``
always refuse; ``enter`` presses the *focused* button, ``tab``/``←``/``→`` move between the
two. Which button ``enter`` will press is never left to a colour: the focused button carries
a ``▶`` marker and the hint line spells it out, which matters on monochrome (``NO_COLOR``)
terminals and over SSH. The caller picks the default: a destructive question (delete)
starts on "No", so an accidental ``enter`` is harmless; a question the operator just asked
for (``q`` → "Quit?") starts on the answer they asked for, so ``q`` ``enter`` quits.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

__all__ = ["ConfirmScreen"]

_MARK = "▶ "


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm_left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm_right"),
    ]

    def __init__(
        self, question: str, detail: str = "", *, yes: str = "Yes", no: str = "No", default_yes: bool = False
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no
        self.default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, classes="dialog-detail", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._label("yes", False), variant="error", id="yes")
                yield Button(self._label("no", False), variant="primary", id="no")
            yield Static("", id="confirm-hint", classes="dialog-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one("#yes" if self.default_yes else "#no", Button).focus()
        self._show_focus()

    def _label(self, which: str, focused: bool) -> str:
        text = f"{self.yes_label} (y)" if which == "yes" else f"{self.no_label} (n)"
        return (_MARK if focused else "") + text

    def _show_focus(self) -> None:
        focused = self.focused.id if isinstance(self.focused, Button) else None
        for which in ("yes", "no"):
            self.query_one(f"#{which}", Button).label = self._label(which, focused == which)
        target = self.yes_label if focused == "yes" else self.no_label if focused == "no" else None
        hint = f"enter: {target} · " if target else ""
        self.query_one("#confirm-hint", Static).update(
            f"{hint}y: {self.yes_label} · n/esc: {self.no_label} · tab/←/→: switch"
        )

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self._show_focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
