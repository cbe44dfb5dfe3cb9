"""Run every benchmark and print one table: benchmark | figure | value | bar | pass/fail.

    python -m benchmarks.run_all [--quick] [--only NAME[,NAME...]]

Each benchmark reports ratios measured side by side in this one run (SPEC §10); nothing here
is a test assertion. The exit status is 0 even when a bar fails: read the table.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from ._common import Row

MODULES = (
    "bench_queue_store",
    "bench_dispatch",
    "bench_rate_limit",
    "bench_startup",
    "bench_console_scale",
    "bench_tui_refresh",
    "bench_viral_job",
)


def _table(rows: list[Row]) -> str:
    head = ("benchmark", "figure", "value", "bar", "pass/fail")
    data = [(r.benchmark, r.figure, r.value, r.bar, r.verdict) for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) if data else len(h) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *(line(d) for d in data)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all")
    parser.add_argument("--quick", action="store_true", help="small N: the whole run takes about a minute")
    parser.add_argument("--only", default="", help="comma-separated module names, e.g. bench_dispatch")
    args = parser.parse_args(argv)
    chosen = [m for m in MODULES if not args.only or m in args.only.split(",")]
    rows: list[Row] = []
    t_all = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(importlib.import_module(f"benchmarks.{name}").run(quick=args.quick))
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            rows.append(Row(name, "benchmark crashed", f"{type(exc).__name__}: {exc}"[:120], "", False))
        print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    print(_table(rows))
    failed = [r for r in rows if r.passed is False]
    print(
        f"\n{len(rows)} rows, {sum(r.passed is True for r in rows)} bars passed, {len(failed)} failed;"
        f" {'quick' if args.quick else 'full'} run took {time.perf_counter() - t_all:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
