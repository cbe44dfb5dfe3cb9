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


ONE_COMMAND = """
import sys, json
from click.testing import CliRunner
from viralspot_tui.cli.main import cli
result = CliRunner().invoke(cli, ["--data-dir", sys.argv[1], *sys.argv[2:]])
assert result.exit_code == 0, result.output
from viralspot_tui.config import RapidAPISettings
from viralspot_tui.core.models.queue import QueueItem
built = [c.__name__ for c in (QueueItem, RapidAPISettings) if c.__pydantic_complete__]
print(json.dumps(sorted(m for m in sys.modules if m.startswith("viralspot_tui")) + built))
"""

# What neither everyday command needs (docs/startup.md): the other commands' modules, the remote
# queue actions (CSV backend), the console's views, the content and checkpoint stores and the
# Instagram models; nor a QueueItem schema or a settings section's own validator.
NOT_ON_CONTROL_PATHS = (
    "viralspot_tui.cli.engine_cmds",
    "viralspot_tui.cli.viral_cmds",
    "viralspot_tui.cli.crawl_cmds",
    "viralspot_tui.cli.supabase_cmds",
    "viralspot_tui.cli.outbox_cmds",
    "viralspot_tui.core.ops.remote_queue",
    "viralspot_tui.core.views",
    "viralspot_tui.core.store.content",
    "viralspot_tui.core.store.checkpoints",
    "viralspot_tui.core.models.instagram",
    "viralspot_tui.core.engine",
    "viralspot_tui.sim",
    "QueueItem",
    "RapidAPISettings",
)


def test_queue_add_and_status_import_only_their_own_command(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    add = set(_run(ONE_COMMAND, data, "queue", "add", "someone"))  # first: creates the database
    status = set(_run(ONE_COMMAND, data, "status"))
    assert "viralspot_tui.cli.queue_cmds" in add and "viralspot_tui.cli.control_cmds" not in add
    assert "viralspot_tui.cli.control_cmds" in status and "viralspot_tui.cli.queue_cmds" not in status
    for imported in (add, status):
        assert "viralspot_tui.config" in imported  # the settings are still loaded and validated
        assert imported.isdisjoint(NOT_ON_CONTROL_PATHS), sorted(imported & set(NOT_ON_CONTROL_PATHS))
