"""Start-up cost of the everyday commands, as whole processes.

``viralspot --data-dir D queue add <name>`` and ``viralspot --data-dir D status`` are each run
~10 times (median wall time, after one warm-up run that creates the database) and divided
by the median of ``python -c "import sqlite3"`` on the same interpreter. The console script
next to sys.executable is used (the pyenv shim on PATH is a shell script that adds its own
start-up); without one, ``python -m viralspot_tui.cli.main``.

A second pass runs each command under ``python -X importtime`` to check that textual, openai
and supabase are never imported on these paths, and to list the packages that cost the most.
Bar: ≤ 6×, and none of the three imported.

The commands run with the package's bytecode cached, as on a user's machine (pip compiles it
at install; an editable install writes it on first import): ``PYTHONDONTWRITEBYTECODE`` is
dropped from the children's environment, so the warm-up run writes ``__pycache__``. With it set
and no cache, every run would compile the package's ~60 modules again (~90 ms on this machine)
and the figure would measure the compiler. See docs/startup.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ._common import Row, temp_dir

NAME = "start-up"
FORBIDDEN = ("textual", "openai", "supabase")


def _command() -> list[str]:
    script = Path(sys.executable).parent / "viralspot"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "viralspot_tui.cli.main"]


def _env() -> dict[str, str]:
    """The caller's environment without viralspot settings, and with bytecode caching allowed."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_") and k != "PYTHONDONTWRITEBYTECODE"}


def _time(argv: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def import_profile(argv_tail: list[str], cwd: Path) -> tuple[set[str], list[tuple[str, float]]]:
    """Modules imported by the command (-X importtime), and self-time (ms) per top-level package."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "viralspot_tui.cli.main", *argv_tail],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    modules: set[str] = set()
    cost: Counter[str] = Counter()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.split("|")
        if len(parts) < 3:
            continue
        name = parts[2].strip()
        modules.add(name)
        cost[name.split(".")[0]] += int(parts[0].split(":")[1].strip())  # microseconds
    return modules, [(package, us / 1000) for package, us in cost.most_common(8)]


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 11
    cmd = _command()
    with temp_dir("startup") as root:
        data = root / "data"
        base = [sys.executable, "-c", "import sqlite3"]
        add = lambda i: [*cmd, "--data-dir", str(data), "queue", "add", f"startup_user_{i}"]
        status = [*cmd, "--data-dir", str(data), "status"]
        _time(add(0), root)  # warm-up: creates the database, fills the OS caches, writes bytecode
        _time(status, root)
        _time(base, root)
        t_base, t_add, t_status = [], [], []
        for i in range(runs):  # interleaved, so drift on a shared machine hits all three alike
            t_base.append(_time(base, root))
            t_add.append(_time(add(i + 1), root))
            t_status.append(_time(status, root))
        checks = {}
        for label, tail in (
            ("queue add", ["--data-dir", str(data), "queue", "add", "startup_probe"]),
            ("status", ["--data-dir", str(data), "status"]),
        ):
            checks[label] = import_profile(tail, root)
    b, a, s = (statistics.median(x) for x in (t_base, t_add, t_status))
    rows = [Row(NAME, f'python -c "import sqlite3", median of {runs}', f"{b * 1000:.0f} ms")]
    for label, t in (("queue add", a), ("status", s)):
        rows.append(Row(NAME, f"viralspot {label}: {t * 1000:.0f} ms / baseline", f"{t / b:.1f}x", "<= 6x", t / b <= 6))
    for label, (modules, top) in checks.items():
        bad = sorted({m.split(".")[0] for m in modules if m.split(".")[0] in FORBIDDEN})
        rows.append(
            Row(NAME, f"{label}: imports of textual/openai/supabase", ", ".join(bad) or "none", "none", not bad)
        )
        rows.append(
            Row(
                NAME,
                f"{label}: costliest imports (self ms by package)",
                ", ".join(f"{p} {ms:.0f}" for p, ms in top[:6]),
            )
        )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
