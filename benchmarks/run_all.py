"""Run every benchmark, N full runs, and write the results table as Markdown and JSON.

    python -m benchmarks.run_all [--quick] [--runs N] [--only NAME[,NAME...]] [--out DIR]

Each row's figure is the median over the runs (the run whose leading number is the median
is shown, with every run's value in the JSON). Every row says whether it is a **ratio**
measured side by side in one run (portable: it should hold on any machine), an **absolute**
figure (this machine only: the header names its CPU model and core count) or a **count**.
Nothing here is a test assertion; the exit status is 0 even when a bar fails: read the table.
Default: 3 runs (the README's table), written to benchmarks/results/results.{md,json}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import Row

MODULES = (
    "bench_queue_store",
    "bench_dispatch",
    "bench_rate_limit",
    "bench_startup",
    "bench_console_scale",
    "bench_tui_refresh",
    "bench_viral_job",
    "bench_priority",
    "bench_paid_calls",
    "bench_supabase",
)
_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def _lead(value: str) -> float:
    match = _NUMBER.search(value)
    return float(match.group().replace(",", "")) if match else float("nan")


def run_once(chosen: list[str], quick: bool) -> list[list[Row]]:
    """One full pass: the rows of each module, in module order."""
    out: list[list[Row]] = []
    for name in chosen:
        t0 = time.perf_counter()
        print(f"running {name}{' (quick)' if quick else ''} ...", file=sys.stderr, flush=True)
        try:
            rows = list(importlib.import_module(f"benchmarks.{name}").run(quick=quick))
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            rows = [Row(name, "benchmark crashed", f"{type(exc).__name__}: {exc}"[:120], "", False)]
        print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        out.append(rows)
    return out


def combine(runs: list[list[list[Row]]]) -> list[dict[str, Any]]:
    """Per row position: the median run's row, plus every run's value."""
    combined: list[dict[str, Any]] = []
    for m in range(len(runs[0])):
        width = min(len(r[m]) for r in runs)
        for i in range(width):
            versions = [r[m][i] for r in runs]
            leads = [_lead(v.value) for v in versions]
            if all(x == x for x in leads):  # no NaN: pick the run holding the median
                med = statistics.median_low(leads)
                row = versions[leads.index(med)]
            else:
                row = versions[len(versions) // 2]
            combined.append(
                {
                    "benchmark": row.benchmark,
                    "figure": row.figure,
                    "value": row.value,
                    "bar": row.bar,
                    "verdict": row.verdict,
                    "kind": row.portability,
                    "runs": [v.value for v in versions],
                    "verdicts": [v.verdict for v in versions],
                }
            )
    return combined


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    head = [
        f"Benchmarks: {meta['mode']} mode, median of {meta['runs']} run(s), {meta['finished_at']}.",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}"
        f" (load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])}).",
        "Kind: **ratio** = measured side by side in one run, portable; **absolute** = this machine only;"
        " **count** = exact anywhere.",
        "",
    ]
    cols = ("benchmark", "figure", "value", "bar", "pass/fail", "kind")
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        cells = (r["benchmark"], r["figure"], r["value"], r["bar"], r["verdict"], r["kind"])
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(head + lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all")
    parser.add_argument("--quick", action="store_true", help="small N: the whole run takes a few minutes")
    parser.add_argument("--runs", type=int, default=3, help="full passes; each figure is the median (default 3)")
    parser.add_argument("--only", default="", help="comma-separated module names, e.g. bench_dispatch")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="folder for results.md/json")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    unknown = [m for m in args.only.split(",") if m and m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    chosen = [m for m in MODULES if not args.only or m in args.only.split(",")]
    meta: dict[str, Any] = {"mode": "quick" if args.quick else "full", "runs": args.runs, "machine": machine()}
    t_all = time.perf_counter()
    runs = []
    for n in range(args.runs):
        print(f"=== run {n + 1} of {args.runs}", file=sys.stderr, flush=True)
        runs.append(run_once(chosen, args.quick))
    rows = combine(runs)
    meta["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta["seconds"] = round(time.perf_counter() - t_all)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, meta)
    (out / "results.md").write_text(table, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=2), encoding="utf-8")
    print(table)
    failed = [r for r in rows if r["verdict"] == "FAIL"]
    print(
        f"{len(rows)} rows, {sum(r['verdict'] == 'PASS' for r in rows)} bars passed, {len(failed)} failed;"
        f" {meta['mode']} x{args.runs} took {meta['seconds']}s; written to {out}/results.md and results.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
