"""``viralspot run`` / ``viralspot demo`` with a terminal: build the app, run it, return a code.

Textual owns the event loop (the engine is opened *inside* it, by the App), so this module
only prepares the process around it: logging goes to a file instead of stderr (anything
written to the terminal would corrupt the screen; secrets stay redacted), the mouse can be
left to the terminal for copy-and-paste over SSH (``--no-mouse``), and ``NO_COLOR`` is
honoured by Textual itself. SIGTERM/SIGHUP handling lives in the App, which installs it on
its own loop and restores the terminal on the way out.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["run_console", "console_log_path"]

PROCESSORS = ("queue", "viral", "crawler")


def console_log_path(settings: "Settings") -> Path:
    return Path(settings.data_dir) / "console.log"


def _log_to_file(settings: "Settings") -> Path:
    """Same formatting and redaction as headless logging, but into a file in the data folder."""
    from ..logs import configure_logging

    secrets = [
        s.get_secret_value()
        for s in (settings.rapidapi.key, settings.openai.api_key, settings.supabase.service_role_key)
        if s is not None
    ]
    configure_logging(settings.log_format, settings.log_level, secrets)
    path = console_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger()
    file_handler = logging.FileHandler(path, encoding="utf-8")
    os.chmod(path, 0o600)
    for handler in root.handlers:
        file_handler.setFormatter(handler.formatter)
    root.handlers[:] = [file_handler]
    return path


def agree_on_unknown_terminal_size(app: Any) -> None:
    """Give Rich the same fallback size as Textual's driver when the terminal reports 0x0.

    A pseudo-terminal opened without a window size (``docker exec -t``, some SSH clients,
    ``script``) reports 0 rows and 0 columns. Textual's driver then falls back to
    ``shutil.get_terminal_size()`` (80x24) but its first layout uses Rich's fallback (80x25),
    and the two sizes made the dashboard resize back and forth forever: 100% CPU, no frame
    drawn, signals unanswered. Pinning only the Rich fallback keeps later real resizes
    (SIGWINCH) working, since Textual reads those from the driver.
    """
    import shutil

    try:
        columns, lines = os.get_terminal_size(1)
    except OSError:
        return
    if columns and lines:
        return
    app.console.size = tuple(shutil.get_terminal_size())


def flush_terminal_output() -> None:
    """Let Textual's output thread write what it still holds before the process exits.

    Textual queues every terminal write, the sequences that restore the terminal included, to
    a daemon thread, and joins it at the end of its shutdown. If that shutdown is cut short,
    the thread dies with the interpreter and the queued bytes are lost: the process exits 0
    with the terminal still on the alternate screen (seen once in CI, not reproduced since).
    Stopping a thread that is still alive writes its queue out and joins it; a thread Textual
    already stopped is not alive and is left alone.
    """
    import threading

    for thread in threading.enumerate():
        if thread.name == "textual-output" and thread.is_alive() and callable(getattr(thread, "stop", None)):
            thread.stop()  # type: ignore[attr-defined]  # Textual's output thread has stop()


def run_console(
    settings: "Settings",
    *,
    mouse: bool = True,
    exit_when_idle: bool = False,
    setup: Any = None,
    processors: Iterable[str] = PROCESSORS,
) -> int:
    """Run the Textual console over a fresh engine; 0 after a graceful exit, 1 on error, 2 on bad config."""
    from ..core.engine import open_engine
    from .app import ViralSpotApp
    from .bindings import KeymapError, build_keymap

    try:
        build_keymap(settings.keys)  # before the terminal is taken over: a plain message, exit 2
    except KeymapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log_path = _log_to_file(settings)
    chosen = tuple(processors)
    app = ViralSpotApp(
        lambda: open_engine(settings, processors=chosen), settings=settings, setup=setup, exit_when_idle=exit_when_idle
    )
    agree_on_unknown_terminal_size(app)
    try:
        try:
            app.run(mouse=mouse)
        finally:
            flush_terminal_output()  # before anything else is printed to the terminal
    except Exception:  # noqa: BLE001 - Textual has restored the terminal; report and fail
        logging.getLogger("viralspot.tui").exception("console crashed")
        print(f"the console stopped on an error; details in {log_path}")
        return 1
    code = app.return_code
    return 1 if code is None else code
