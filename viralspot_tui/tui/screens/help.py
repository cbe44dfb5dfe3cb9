"""The help screen (``?``): every key as it is *currently* bound, plus the ``:`` commands.

It is generated from the binding lists and the App's keymap, so an operator who remapped a
key in viralspot.toml sees their key here, and a key added to bindings.py documents itself.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from ...core.ops.command_line import COMMAND_HELP
from ..bindings import APP_BINDINGS, DASHBOARD_BINDINGS, TABLE_BINDINGS

__all__ = ["HelpScreen", "effective_keys"]

_SECTIONS = (("Anywhere", APP_BINDINGS), ("Focused pane", DASHBOARD_BINDINGS), ("Moving", TABLE_BINDINGS))


def effective_keys(binding: Binding, keymap: dict[str, str]) -> str:
    keys = keymap.get(binding.id or "", binding.key)
    from textual.keys import format_key

    return " ".join(format_key(k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Label(
                "ViralSpot console — keys (remap them under [keys] in viralspot.toml)",
                classes="dialog-title",
                markup=False,
            )
            yield DataTable(id="help-keys", cursor_type="none", show_header=False, zebra_stripes=True)
            yield Label(": commands", classes="dialog-title")
            yield DataTable(id="help-commands", cursor_type="none", show_header=False, zebra_stripes=True)

    def on_mount(self) -> None:
        keymap = getattr(self.app, "_keymap", {}) or {}
        keys = self.query_one("#help-keys", DataTable)
        keys.add_columns("Keys", "Action", "Id")
        for section, bindings in _SECTIONS:
            keys.add_row(f"— {section}", "", "")
            for b in bindings:
                keys.add_row(effective_keys(b, keymap), b.description or b.action, b.id or "")
        commands = self.query_one("#help-commands", DataTable)
        commands.add_columns("Command", "Does")
        for cmd, what in COMMAND_HELP:
            commands.add_row(cmd, what)
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
