"""What an operator action returns, and how it refuses: one shape for both front ends.

Every action in :mod:`viralspot_tui.core.ops` returns an :class:`OpResult` (the message both the
console's toast and the command line print, plus typed data for ``--json``) or raises an
:class:`OpError` whose ``kind`` decides the command line's exit code. The console shows the same
message as a warning. See docs/cli.md for the exit-code contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["ErrorKind", "OpError", "OpResult", "EXIT_CODES"]


class ErrorKind(StrEnum):
    USAGE = "usage"  # bad input: an invalid name, an unknown processor, a wrong argument
    NOT_FOUND = "not_found"  # the thing named does not exist (no such item, no such job)
    REFUSED = "refused"  # valid, but not possible in the current state (retry of a COMPLETED item)
    ENGINE = "engine"  # the running engine did not answer, or answered with an error


EXIT_CODES = {ErrorKind.USAGE: 2, ErrorKind.NOT_FOUND: 1, ErrorKind.REFUSED: 1, ErrorKind.ENGINE: 1}


class OpError(Exception):
    """A refused operator request; ``str(exc)`` is shown to the operator as is."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.REFUSED) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]


@dataclass(frozen=True)
class OpResult:
    """An action that was carried out (perhaps only partly: ``exit_code`` says so).

    ``lines`` are one line per name for batch actions (``add alice bob``); ``message`` is the
    one-line summary; ``data`` is what ``--json`` prints.
    """

    message: str
    lines: tuple[str, ...] = ()
    data: Any = None
    exit_code: int = 0
    woke: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Everything the operator reads, one item per line."""
        return "\n".join(self.lines) if self.lines else self.message
