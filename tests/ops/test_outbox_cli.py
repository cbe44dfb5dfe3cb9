"""``viralspot outbox``, ``outbox retry`` and an offline ``queue add`` (docs/supabase-outbox.md).

Real SQLite files through click's runner. "Offline" is a real unreachable server: SUPABASE_URL
points at a loopback port nothing listens on, so the client's connection is refused.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from viralspot_tui.cli.common import CliState
from viralspot_tui.cli.main import cli
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.outbox_store import OutboxStore

NOW = "2026-12-01T10:00:00.000000+00:00"
pytestmark = [  # supabase 2.x passes these to postgrest itself (as tests/supabase/conftest.py notes)
    pytest.mark.filterwarnings("ignore:The 'timeout' parameter is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'verify' parameter is deprecated:DeprecationWarning"),
]
KEY = "service-role-key-that-must-never-be-printed"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj=CliState(), env=env or {})


def _seed(data: Path) -> None:
    """Three captured profile rows; the server took 1 and rejected 2; 3 still waits."""

    async def go() -> None:
        async with Database(data / "viralspot.db") as db:
            box = OutboxStore(db)
            await box.set_capture(True)
            for name in ("alice", "bob", "carol"):
                await db.write(
                    lambda c, n=name: c.execute(
                        "INSERT INTO primary_profiles (username, first_scraped_at, last_scraped_at) VALUES (?, ?, ?)",
                        (n, NOW, NOW),
                    )
                )
            await box.ack(2, {2: "23514 new row violates check constraint"})

    asyncio.run(go())


def test_outbox_lists_what_waits_and_what_was_rejected(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _seed(data)
    text = _run(data, "outbox")
    assert text.exit_code == 0, text.output
    assert "1 waiting" in text.output and "1 rejected or superseded" in text.output
    assert "username=carol" in text.output and "23514 new row violates check constraint" in text.output
    listed = _run(data, "outbox", "--json")
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert body["depth"] == 1 and body["acked_through"] == 2 and body["max_seq"] == 3
    assert [(e["seq"], e["state"], e["key"]) for e in body["waiting"]] == [(3, "pending", "username=carol")]
    assert [(e["seq"], e["reason"]) for e in body["settled"]] == [(2, "23514 new row violates check constraint")]
    assert body["oldest_age_seconds"] is not None


def test_outbox_retry_requeues_rejected_entries_and_says_what_it_could_not(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _seed(data)
    wrong = _run(data, "outbox", "retry", "3")  # 3 waits, it was never rejected
    assert wrong.exit_code == 1 and "not a rejected entry: 3" in wrong.output
    done = _run(data, "outbox", "retry", "2")
    assert done.exit_code == 0, done.output
    assert "seq 2 queued again as seq 4" in done.output and "not supabase: nothing is sent" in done.output
    body = json.loads(_run(data, "outbox", "--json").output)
    assert [(e["seq"], e["key"]) for e in body["waiting"]] == [(3, "username=carol"), (4, "username=bob")]
    assert body["settled"] == []
    bad = _run(data, "outbox", "retry", "0")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_queue_add_while_supabase_is_unreachable_waits_in_the_outbox(tmp_path: Path) -> None:
    data = tmp_path / "d"
    env = {"SUPABASE_URL": f"http://127.0.0.1:{_closed_port()}", "SUPABASE_SERVICE_ROLE_KEY": KEY}
    added = _run(data, "--backend", "supabase", "queue", "add", "Alice", "@bob", "--priority", "high", env=env)
    assert added.exit_code == 0, added.output
    assert "queued offline at HIGH: alice, bob (outbox seq 1" in added.output
    assert KEY not in added.output
    partly = _run(data, "--backend", "supabase", "queue", "add", "carol", "bad name!", env=env)
    assert partly.exit_code == 1 and "queued offline at LOW: carol (outbox seq 2" in partly.output
    conn = sqlite3.connect(data / "viralspot.db")
    rows = conn.execute("SELECT seq, kind, payload FROM outbox ORDER BY seq").fetchall()
    local = conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    conn.close()
    assert [(s, k, json.loads(p)) for s, k, p in rows] == [
        (
            1,
            "enqueue",
            {
                "items": [
                    {"username": "alice", "priority": "HIGH", "source": "manual"},
                    {"username": "bob", "priority": "HIGH", "source": "manual"},
                ]
            },
        ),
        (2, "enqueue", {"items": [{"username": "carol", "priority": "LOW", "source": "manual"}]}),
    ]
    assert local == 0  # the local queue only mirrors leased items
    assert all(KEY not in p for _, _, p in rows)
    retry = _run(data, "--backend", "supabase", "outbox", "retry", env=env)
    assert retry.exit_code == 1 and "the outbox keeps its entries" in retry.output and KEY not in retry.output
    assert json.loads(_run(data, "outbox", "--json").output)["depth"] == 2


def test_status_shows_the_outbox_depth_and_oldest_age_without_an_engine(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _seed(data)
    body = json.loads(_run(data, "status", "--json").output)
    assert body["outbox_depth"] == 1 and body["outbox_oldest_age_seconds"] >= 0 and body["outbox_halted"] is None
    text = _run(data, "status")
    assert text.exit_code == 0 and "outbox: 1 waiting for Supabase, oldest " in text.output


def _snapshot(online: bool, depth: int, age: float | None) -> Any:
    from datetime import UTC, datetime

    from viralspot_tui.core.snapshot import EngineSnapshot, QueueSnapshot

    return EngineSnapshot(
        at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        simulated=False,
        backend="supabase example.supabase.co",
        online=online,
        outbox_depth=depth,
        outbox_oldest_age=age,
        quota={},
        processors={},
        queue=QueueSnapshot(),
        viral=None,
        crawler=None,
        events=[],
    )


class _Engine:
    """What status_line reads from a supervisor: its snapshot."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap

    def snapshot(self) -> Any:
        return self.snap


def test_the_headless_line_and_the_header_say_offline_with_depth_and_age() -> None:
    from viralspot_tui.core.headless import status_line
    from viralspot_tui.core.store.outbox_store import format_age
    from viralspot_tui.tui.widgets.header_bar import HeaderBar

    assert [format_age(s) for s in (None, 5, 61, 7300, 200000)] == ["-", "5s", "1m", "2h", "2d"]
    offline = _snapshot(False, 12, 185.0)
    assert status_line(_Engine(offline)).endswith("OFFLINE (outbox 12, oldest 3m)")
    assert status_line(_Engine(_snapshot(True, 0, None))).endswith("| online")
    assert status_line(_Engine(_snapshot(True, 2, 4.0))).endswith("online (outbox 2, oldest 4s)")
    header = HeaderBar.render_header(offline, (), ()).plain
    assert "OFFLINE" in header and "outbox 12 (oldest 3m)" in header
    assert offline.to_json()["outbox_oldest_age_seconds"] == 185.0
