"""Every SQL statement is parameterised: no value is ever formatted into SQL text (docs/performance.md).

Static check over the package's source: any f-string, ``%`` or ``.format`` that builds SQL may only
interpolate names that are compile-time constants of the module (column lists, fixed fragments)
or values forced through ``int()`` / an enum. A new interpolation must be added to the allow-list
below deliberately, after checking it cannot carry input.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import viralspot_tui

PACKAGE = Path(viralspot_tui.__file__).parent
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|VALUES|WHERE|PRAGMA|CREATE|ALTER|DROP|RETURNING)\b")

# (file, interpolated expression) pairs reviewed as constant or coerced.
ALLOWED = {
    ("core/store/queue_store.py", "ITEM_COLUMNS"),
    ("core/store/queue_reads.py", "ACTIVE_SQL"),
    ("core/store/queue_reads.py", "ITEM_COLUMNS"),
    ("core/store/queue_reads.py", "int(limit)"),
    ("core/store/queue_store.py", "_CLAIMABLE"),
    ("core/store/queue_store.py", "_CLAIMABLE_HIGH"),
    ("core/store/queue_store.py", "guard"),
    ("core/store/queue_actions.py", "ACTIVE_SQL"),
    ("core/store/queue_actions.py", "ITEM_COLUMNS"),
    ("core/store/queue_actions.py", "where"),
    ("core/store/queue_actions.py", "latest"),
    ("core/store/queue_store.py", "int(limit)"),
    ("core/store/schema.py", "int(known)"),  # PRAGMA user_version takes no parameters
    ("core/store/outbox_store.py", "_COLUMNS"),
    ("core/crawler/store.py", "_REQ_COLS"),
    ("core/crawler/store.py", "_ROUND_COLS"),
    ("core/crawler/store.py", "where"),
    ("core/viral/results.py", "', '.join(_REEL_COLUMNS)"),
    ("core/viral/results.py", "', '.join('?' * (len(_REEL_COLUMNS) + 2))"),
    ("core/viral/results.py", "column"),  # checked against _STAGE_COLUMNS first
    ("core/backends/supabase_web_jobs.py", "assigns"),  # column names checked against _SETTABLE first
    ("core/viral/store.py", "_COLUMNS"),
    ("core/viral/store.py", "_CLAIMABLE"),
    ("core/viral/store.py", "where"),
    ("core/viral/store.py", "sql"),  # _owned_update: literal SET fragments from this module only
    # The lease helper: names and fragments of the three fixed LeaseTable constants (every
    # function refuses any other table), and SET fragments written literally by the stores.
    ("core/store/leases.py", "table.name"),
    ("core/store/leases.py", "table.owner"),
    ("core/store/leases.py", "table.held"),
    ("core/store/leases.py", "table.clear"),
    ("core/store/leases.py", "table.label"),
    ("core/store/leases.py", "table.returned"),  # table.label, and ", priority" for the queue
    ("core/store/leases.py", "table.recover_set"),
    ("core/store/leases.py", "' OR '.join(conditions)"),  # two literal predicates
    ("core/store/leases.py", "set_sql"),
}


def _sql_interpolations() -> set[tuple[str, str, int]]:
    found: set[tuple[str, str, int]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(("sim/", "tui/")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if SQL.search(text):
                    for value in node.values:
                        if isinstance(value, ast.FormattedValue):
                            found.add((rel, ast.unparse(value.value), node.lineno))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                if (
                    isinstance(node.left, ast.Constant)
                    and isinstance(node.left.value, str)
                    and SQL.search(node.left.value)
                ):
                    found.add((rel, "% " + ast.unparse(node.right), node.lineno))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and isinstance(node.func.value, ast.Constant)
                and isinstance(node.func.value.value, str)
                and SQL.search(node.func.value.value)
            ):
                found.add((rel, ".format(...)", node.lineno))
    return found


def test_sql_text_only_interpolates_reviewed_constants() -> None:
    found = _sql_interpolations()
    assert found, "the scan found no SQL at all: the pattern is broken"
    unexpected = sorted(f"{rel}:{line}: {expr}" for rel, expr, line in found if (rel, expr) not in ALLOWED)
    assert not unexpected, "SQL built from non-constant values:\n" + "\n".join(unexpected)


def test_execute_calls_never_receive_concatenated_text() -> None:
    """``conn.execute("..." + value)`` is the other way to smuggle input into SQL."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(("sim/", "tui/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany", "executescript"}
                and node.args
            ):
                first = node.args[0]
                if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Add):
                    parts = [first.left, first.right]
                    if not all(isinstance(p, (ast.Constant, ast.Name)) for p in parts):
                        offenders.append(f"{rel}:{node.lineno}: {ast.unparse(first)[:80]}")
    allowed = {"core/viral/results.py", "core/store/schema.py"}  # sql + " ORDER BY ..."; DDL constants
    assert not [o for o in offenders if o.split(":")[0] not in allowed], offenders


async def test_hostile_text_is_stored_verbatim(tmp_path: Path) -> None:
    """Values that would break out of a quoted SQL literal are just data."""
    from viralspot_tui.core.clock import FakeClock
    from viralspot_tui.core.models.queue import Priority, Status
    from viralspot_tui.core.store.database import Database
    from viralspot_tui.core.store.queue_store import QueueStore

    hostile = "'); DROP TABLE queue; -- \" OR 1=1 /*"
    async with Database(tmp_path / "db" / "viralspot.db") as db:
        store = QueueStore(db, clock=FakeClock(), instance_id="h:1:t")
        await store.enqueue(["robert"], Priority.HIGH, request_id=hostile)
        [item] = await store.claim(Priority.HIGH, 1, 30)
        assert await store.fail(item, hostile, permanent=True) == Status.FAILED
        [stored] = await store.list()
        assert (stored.username, stored.last_error, stored.request_id) == ("robert", hostile, hostile)
        tables = await db.read(lambda c: [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")])
        assert "queue" in tables
