"""The core is UI-free, and control commands stay light (docs/architecture.md, §9, §10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORE_IMPORTS = """
import importlib, pkgutil, sys, json
import viralspot_tui.core as core
for mod in pkgutil.walk_packages(core.__path__, core.__name__ + "."):
    importlib.import_module(mod.name)
import viralspot_tui.config, viralspot_tui.sim
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))))
"""

CONTROL_PATH = """
import sys, json
from click.testing import CliRunner
from viralspot_tui.cli.main import cli
for args in (["--data-dir", sys.argv[1], "queue", "add", "someone"], ["--data-dir", sys.argv[1], "status"],
             ["--data-dir", sys.argv[1], "pause", "queue"], ["--help"]):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (args, result.output)
heavy = ("textual", "rich", "openai", "supabase", "uvicorn")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy})))
"""


def _run(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_core_never_imports_textual_or_rich() -> None:
    assert _run(CORE_IMPORTS) == []


def test_control_commands_and_help_import_no_textual_openai_or_supabase(tmp_path: Path) -> None:
    assert _run(CONTROL_PATH, str(tmp_path / "data")) == []
