"""A real console process on a pseudo-terminal: SIGTERM and SIGHUP leave the terminal restored.

Textual installs no handlers for these signals; without ours a ``kill`` or a dropped SSH
session leaves the terminal on the alternate screen in raw mode. The child runs the real
``run_console`` on the simulator; we read everything it wrote and check that the last thing
it did was leave the alternate screen, and that it exited 0 after the graceful drain.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_restores_the_terminal_and_exits_cleanly(tmp_path: Path, signum: int) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    try:
        output = b""
        deadline = time.monotonic() + 20
        while ENTER_ALT not in output or b"Queue" not in output:
            assert time.monotonic() < deadline, f"console did not start: {output[-500:]!r}"
            output += _drain(master, time.monotonic() + 0.2)
        output += _drain(master, time.monotonic() + 1.0)  # let the engine start
        proc.send_signal(signum)
        stop_by = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < stop_by:  # read everything until it exits
            output += _drain(master, time.monotonic() + 0.2)
        code = proc.wait(timeout=5)
        output += _drain(master, time.monotonic() + 0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert code == 0
    assert output.rfind(LEAVE_ALT) > output.rfind(ENTER_ALT), "alternate screen was not left"
    assert b"Traceback" not in output
    assert b"\x1b[?1000h" not in output  # run with mouse=False (--no-mouse): the mouse stays the terminal's


def test_no_color_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_kit import make_app, tui_settings

    monkeypatch.setenv("NO_COLOR", "1")
    assert make_app(tui_settings(tmp_path)).no_color
