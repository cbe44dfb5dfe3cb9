"""Shared bits of the benchmarks: the result row, temp dirs on one disk, RSS, formatting."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Row", "temp_dir", "rss_kib", "fmt_rate", "percentile", "BENCH_ROOT"]

# Every store under test lives below one folder of one file system (the brief: "same disk").
BENCH_ROOT = Path(os.environ.get("VIRALSPOT_BENCH_DIR", "/tmp"))


@dataclass
class Row:
    """One line of the results table. ``passed`` is None for informational lines."""

    benchmark: str
    figure: str
    value: str
    bar: str = ""
    passed: bool | None = None
    kind: str = ""  # "ratio" | "absolute" | "count"; inferred when empty (see ``portability``)

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")

    @property
    def portability(self) -> str:
        """A ratio of two figures measured side by side in one run holds on any machine; an
        absolute figure (items/s, ms, MiB) is this machine's only; counts are exact anywhere."""
        if self.kind:
            return self.kind
        value = self.value.strip()
        if value.endswith("x") or self.figure.startswith(("efficiency", "utilisation", "wall / ")):
            return "ratio"
        if value == "none" or (value.isdigit() and self.bar in ("0", "none")):
            return "count"
        return "absolute"


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"viralspot-bench-{prefix}-", dir=BENCH_ROOT))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def rss_kib() -> int:
    """Resident set size of this process (VmRSS from /proc/self/status), in KiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)
