"""A real console process on a pseudo-terminal: SIGTERM and SIGHUP leave the terminal restored.

Textual installs no handlers for these signals; without ours a ``kill`` or a dropped SSH
session leaves the terminal on the alternate screen in raw mode. The child runs the real
``run_console`` on the simulator; we read everything it wrote and check that the last thing
it did was leave the alternate screen, and that it exited 0 after the graceful drain.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CHILD = """
import sys
from viralspot_tui.config import load_settings
from viralspot_tui.tui.launch import run_console
settings = load_settings(data_dir=sys.argv[1], simulate=True, queue={"queue_file": sys.argv[1] + "/queue.csv",
                         "grace_seconds": 1.0}, sim={"latency_ms": 1})
sys.exit(run_console(settings, mouse=False, processors=("queue",)))
"""

ENTER_ALT = b"\x1b[?1049h"
LEAVE_ALT = b"\x1b[?1049l"


def _drain(fd: int, until: float) -> bytes:
    out = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


class ConsoleOnPty:
    """The real console in a child process whose stdin/stdout/stderr are one pseudo-terminal."""

    def __init__(self, data_dir: Path, env: dict[str, str], rows: int = 0, columns: int = 0) -> None:
        self.master, slave = pty.openpty()
        if rows and columns:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, done: Callable[[bytes], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.output):
            assert time.monotonic() < deadline, f"{what}: {self.output[-500:]!r}"
            self.output += _drain(self.master, time.monotonic() + 0.2)

    def stop_with(self, signum: int) -> int:
        """Send ``signum``, read everything until the child exits, return its exit code."""
        self.proc.send_signal(signum)
        stop_by = time.monotonic() + 30
        while self.proc.poll() is None and time.monotonic() < stop_by:
            self.output += _drain(self.master, time.monotonic() + 0.2)
        code = self.proc.wait(timeout=5)
        self.output += _drain(self.master, time.monotonic() + 0.5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        os.close(self.master)


def _started(out: bytes) -> bool:
    return ENTER_ALT in out and b"Queue" in out


def _assert_restored(code: int, output: bytes) -> None:
    assert code == 0
    assert output.rfind(LEAVE_ALT) > output.rfind(ENTER_ALT), "alternate screen was not left"
    assert b"Traceback" not in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_restores_the_terminal_and_exits_cleanly(tmp_path: Path, signum: int) -> None:
    console = ConsoleOnPty(tmp_path, {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"})
    try:
        console.read_until(_started, 20, "console did not start")
        console.output += _drain(console.master, time.monotonic() + 1.0)  # let the engine start
        code = console.stop_with(signum)
    finally:
        console.close()
    _assert_restored(code, console.output)
    assert b"\x1b[?1000h" not in console.output  # run with mouse=False (--no-mouse): the mouse stays the terminal's


def test_a_terminal_without_a_size_gets_a_frame_and_later_resizes(tmp_path: Path) -> None:
    """``docker exec -t`` and some SSH clients start the process on a 0x0 terminal and set the real
    size a moment later. The console must draw at a fallback size (it once resized back and forth
    between 80x24 and 80x25 forever, drawing nothing and ignoring signals), then follow SIGWINCH."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    console = ConsoleOnPty(tmp_path, {**env, "TERM": "xterm-256color"})
    try:
        console.read_until(_started, 20, "console drew nothing on a 0x0 terminal")
        fcntl.ioctl(console.master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        console.proc.send_signal(signal.SIGWINCH)
        beyond_80 = re.compile(rb"\x1b\[\d+;(8[1-9]|9\d|10\d)H")  # a cursor move past column 80
        console.read_until(lambda out: beyond_80.search(out) is not None, 20, "no frame at the new size")
        code = console.stop_with(signal.SIGTERM)
    finally:
        console.close()
    _assert_restored(code, console.output)


_GREYS_256 = {0, 7, 8, 15, 16, 59, 102, 145, 188, 231, *range(232, 256)}
_COLOUR = re.compile(rb"[34]8;(?:5;(\d+)|2;(\d+);(\d+);(\d+))")


def _hues(output: bytes) -> set[bytes]:
    """The colours (256-palette or truecolour) the output draws with that are not greys."""
    found = set()
    for match in _COLOUR.finditer(output):
        index, r, g, b = match.groups()
        grey = int(index) in _GREYS_256 if index is not None else r == g == b
        if not grey:
            found.add(match.group(0))
    return found


def test_no_color_draws_in_greys_only(tmp_path: Path) -> None:
    """NO_COLOR=1 (no-color.org): the real console on a terminal draws in greys only (Textual keeps
    light and dark apart), while without it the same screen uses colour."""
    outputs = {}
    for no_color in (False, True):
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update(
            {"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **({"NO_COLOR": "1"} if no_color else {})}
        )
        console = ConsoleOnPty(tmp_path / str(no_color), env)
        try:
            console.read_until(_started, 20, "console did not start")
            code = console.stop_with(signal.SIGTERM)
        finally:
            console.close()
        _assert_restored(code, console.output)
        outputs[no_color] = console.output
    assert _hues(outputs[False]), "the coloured run drew no colour: the check below would prove nothing"
    assert _hues(outputs[True]) == set()
