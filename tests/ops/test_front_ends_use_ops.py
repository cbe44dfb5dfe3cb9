"""No queue, crawler or job action is implemented outside the operations layer (docs/architecture.md).

The command line and the console may *read* through the runtime (status counts, the snapshot),
but every write goes through ``viralspot_tui.core.ops``: this walks their source and fails on a
store, database or control-channel write called directly, or a supervisor steered directly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import viralspot_tui

PACKAGE = Path(viralspot_tui.__file__).parent
FRONT_ENDS = ("cli", "tui")
WRITES = {
    "enqueue", "bump", "retry", "remove", "create_request", "block", "unblock", "create_job", "retry_job",
    "schedule", "write", "post", "set_state", "claim", "finish", "release", "pause", "resume", "wake", "steer",
    "set_concurrency", "apply_command", "record_round",
}  # fmt: skip
OWNERS = ("queue", "store", "db", "channel", "supervisor", "runtime")


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            owner = _dotted(node.func.value)
            if any(part in OWNERS for part in owner.lower().split(".")):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {owner}.{node.func.attr}()")
    return found


def test_front_ends_write_only_through_the_operations_layer() -> None:
    files = [p for d in FRONT_ENDS for p in sorted((PACKAGE / d).rglob("*.py"))]
    assert len(files) > 20
    problems = [v for f in files for v in _violations(f)]
    assert problems == []


def test_the_walk_would_see_a_direct_write(tmp_path: Path) -> None:
    sample = PACKAGE / "cli" / "_probe_sample.py"
    sample.write_text("async def f(runtime):\n    await runtime.queue.bump('x', 'HIGH')\n", encoding="utf-8")
    try:
        assert _violations(sample) == ["cli/_probe_sample.py:2: runtime.queue.bump()"]
    finally:
        sample.unlink()


def test_the_old_second_copies_are_gone() -> None:
    assert not (PACKAGE / "tui" / "operator.py").exists()
    assert not (PACKAGE / "tui" / "engine_api.py").exists()
    commands = (PACKAGE / "core" / "commands.py").exists()
    assert not commands, "core/commands.py was folded into core/ops/processor_ops.py"
