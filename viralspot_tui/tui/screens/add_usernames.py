"""The "add usernames" dialog: paste names, pick a priority, see problems before submitting.

Validation happens in the dialog with the same rules as the queue (docs/queue.md, "Usernames"): an invalid name
keeps the dialog open with the reason shown inline under the field, so the operator fixes the
one bad name instead of retyping the list. What the dialog returns has already been
normalised; the App only enqueues it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ...core.models.queue import Priority
from ...core.ops import DEFAULT_PRIORITY, OpError
from ...core.ops.queue_ops import parse_names

__all__ = ["AddUsernamesScreen", "AddRequest"]


@dataclass(frozen=True)
class AddRequest:
    names: list[str]
    priority: Priority


class AddUsernamesScreen(ModalScreen[AddRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="add-dialog"):
            yield Label("Add usernames to the queue", classes="dialog-title")
            yield Input(placeholder="alice, @bob, https://instagram.com/carol", id="names")
            yield Static("", id="names-error", classes="field-error")
            with RadioSet(id="priority"):
                yield RadioButton("HIGH — run next", value=DEFAULT_PRIORITY is Priority.HIGH, id="prio-high")
                yield RadioButton("LOW", value=DEFAULT_PRIORITY is Priority.LOW, id="prio-low")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#names", Input).focus()

    @property
    def priority(self) -> Priority:
        return Priority.LOW if self.query_one("#prio-low", RadioButton).value else Priority.HIGH

    def _show_error(self, message: str) -> None:
        error = self.query_one("#names-error", Static)
        error.update(message)
        error.set_class(bool(message), "-visible")

    @on(Input.Changed, "#names")
    def _clear_error(self) -> None:
        self._show_error("")

    @on(Input.Submitted, "#names")
    @on(Button.Pressed, "#add")
    def submit(self) -> None:
        text = self.query_one("#names", Input).value
        try:
            names = parse_names(text)
        except OpError as exc:
            self._show_error(str(exc))
            self.query_one("#names", Input).focus()
            return
        self.dismiss(AddRequest(names, self.priority))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
