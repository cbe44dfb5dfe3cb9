"""The "new analysis job" dialog: a primary creator, competitors, and the content strategy.

Every field is checked with the domain's own rules (docs/viral.md: valid usernames, 1–20
competitors, the primary not among them) before the dialog closes, and each problem is
shown under its field, so a job is never half-created from a typo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...core.models.usernames import InvalidUsername, normalize_username
from ...core.ops import OpError
from ...core.ops.queue_ops import parse_names

__all__ = ["NewJobScreen", "NewJobRequest", "MAX_COMPETITORS"]

MAX_COMPETITORS = 20


@dataclass(frozen=True)
class NewJobRequest:
    primary: str
    competitors: list[str]
    strategy: dict[str, str] = field(default_factory=dict)


class NewJobScreen(ModalScreen[NewJobRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]

    def __init__(self, primary: str = "") -> None:
        super().__init__()
        self.initial_primary = primary

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="job-dialog"):
            yield Label("New viral ideas analysis", classes="dialog-title")
            yield Label("Primary creator")
            yield Input(self.initial_primary, placeholder="the creator to write hooks for", id="primary")
            yield Static("", id="primary-error", classes="field-error")
            yield Label(f"Competitors (1–{MAX_COMPETITORS}, comma separated)")
            yield Input(placeholder="rival_one, rival_two", id="competitors")
            yield Static("", id="competitors-error", classes="field-error")
            yield Label("Content type / target audience / goals (optional)")
            yield Input("short-form video", id="content_type")
            yield Input(placeholder="who watches", id="target_audience")
            yield Input(placeholder="what the creator wants", id="goals")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#primary" if not self.initial_primary else "#competitors", Input).focus()

    def _error(self, field_id: str, message: str) -> None:
        widget = self.query_one(f"#{field_id}-error", Static)
        widget.update(message)
        widget.set_class(bool(message), "-visible")

    @on(Input.Changed)
    def _clear(self, event: Input.Changed) -> None:
        if event.input.id in ("primary", "competitors"):
            self._error(event.input.id, "")

    def validate(self) -> NewJobRequest | None:
        ok = True
        primary = ""
        try:
            primary = normalize_username(self.query_one("#primary", Input).value)
        except InvalidUsername as exc:
            self._error("primary", exc.reason if exc.raw else "enter the primary creator")
            ok = False
        competitors: list[str] = []
        try:
            competitors = list(dict.fromkeys(parse_names(self.query_one("#competitors", Input).value)))
            if primary and primary in competitors:
                raise OpError(f"{primary} is the primary; it cannot also be a competitor")
            if len(competitors) > MAX_COMPETITORS:
                raise OpError(f"at most {MAX_COMPETITORS} competitors ({len(competitors)} given)")
        except OpError as exc:
            message = str(exc)
            self._error("competitors", "enter at least one competitor" if "at least one" in message else message)
            ok = False
        if not ok:
            return None
        strategy = {
            key: self.query_one(f"#{key}", Input).value.strip() for key in ("content_type", "target_audience", "goals")
        }
        return NewJobRequest(primary, competitors, {k: v for k, v in strategy.items() if v})

    @on(Button.Pressed, "#create")
    @on(Input.Submitted)
    def submit(self) -> None:
        request = self.validate()
        if request is not None:
            self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
