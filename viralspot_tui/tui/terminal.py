"""Keeping a terminal sane over SSH: signals, a vanished terminal, colour.

Textual installs no SIGTERM/SIGHUP handlers, so ``kill`` or a dropped SSH session would leave
the terminal in raw mode on the alternate screen. We route both signals to the App's graceful
exit (which restores the terminal) and a second signal to the fast exit. When the process
survives a lost session (nohup, tmux quirks) stdin stops being a TTY and Textual's input
thread would spin on EOF; a slow watchdog notices and ends the app instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["install_signal_handlers", "remove_signal_handlers", "stdin_is_tty", "TERMINAL_CHECK_SECONDS"]

TERMINAL_CHECK_SECONDS = 2.0
_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


def install_signal_handlers(on_first: Callable[[int], Any], on_second: Callable[[int], Any]) -> list[int]:
    """SIGTERM/SIGHUP → ``on_first(signum)``; any later one → ``on_second(signum)``."""
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def handler(signum: int) -> None:
        received.append(signum)
        (on_first if len(received) == 1 else on_second)(signum)

    installed = []
    for sig in _SIGNALS:
        try:
            loop.add_signal_handler(sig, handler, int(sig))
            installed.append(int(sig))
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            continue
    return installed


def remove_signal_handlers(installed: list[int]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for sig in installed:
        loop.remove_signal_handler(sig)


def stdin_is_tty() -> bool:
    """False once the controlling terminal is gone (closed or replaced by EOF)."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (ValueError, OSError, AttributeError):
        return False


def watch_terminal(
    app: "App[Any]",
    on_lost: Callable[[], Any],
    *,
    probe: Callable[[], bool] | None = None,
    interval: float = TERMINAL_CHECK_SECONDS,
) -> bool:
    """Arm a timer that calls ``on_lost`` (once) when the terminal is gone.

    Without an explicit ``probe`` this only runs for a real terminal: a headless test run or a
    piped stdin has no terminal to lose. Returns whether the watchdog was armed.
    """
    if probe is None:
        if app.is_headless or not stdin_is_tty():
            return False
        probe = stdin_is_tty
    fired = False

    def check() -> None:
        nonlocal fired
        if not fired and not probe():
            fired = True
            on_lost()

    app.set_interval(interval, check, name="terminal-watchdog")
    return True
