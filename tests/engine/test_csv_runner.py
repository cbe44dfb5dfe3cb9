"""The CSV queue file with a running engine (docs/queue.md, "CSV file"; issue 3's "done when")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from testkit import make_settings, wait_for

from viralspot_tui.core.backends.csv_format import parse_csv
from viralspot_tui.core.engine import open_engine
from viralspot_tui.core.models.queue import Status

SAMPLE = Path(__file__).resolve().parents[2] / "queue.csv.sample"


def _rows(path: Path) -> dict[str, str]:
    return {row.username: row.status.value for _, row in parse_csv(path.read_bytes()).rows}


def test_run_on_the_sample_file_completes_every_valid_row_and_writes_statuses_back(tmp_path: Path) -> None:
    queue = tmp_path / "queue.csv"
    shutil.copy(SAMPLE, queue)
    env = {**os.environ, "VIRALSPOT_SIM_LATENCY_MS": "2"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "viralspot_tui.cli.main",
            "--data-dir",
            str(tmp_path / "d"),
            "run",
            "--no-ui",
            "--simulate",
            "--queue-file",
            str(queue),
            "--exit-when-idle",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = _rows(queue)
    failed = {"private_diaries", "missing_person_404"}
    assert {n for n, s in statuses.items() if s == "FAILED"} == failed
    assert all(s == "COMPLETED" for n, s in statuses.items() if n not in failed)
    assert {"mrbeast", "hubermanlab", "natgeo", "nike"} <= set(statuses)  # @name and URL rows normalised
    text = queue.read_text()
    assert "bad..name,manual,LOW" in text  # the malformed row is kept for the operator
    assert "line 14" in result.stderr and "cannot contain '..'" in result.stderr
    assert "profile is private" in text and "not found" in text.lower()


async def test_rows_appended_while_the_engine_runs_are_picked_up(tmp_path: Path) -> None:
    queue = tmp_path / "queue.csv"
    queue.write_text("username,priority\nnatgeo,HIGH\n")
    settings = make_settings(tmp_path, queue={"queue_file": str(queue), "csv_sync_seconds": 0.1})
    async with open_engine(settings, processors=("queue",)) as sup:
        await sup.start()
        await wait_for(lambda: _rows(queue).get("natgeo") == "COMPLETED")
        assert queue.read_text().startswith("username,source,priority,")  # written back with all columns
        with queue.open("a", encoding="utf-8", newline="") as handle:  # an operator appends two rows
            handle.write("nasa,csv,HIGH\n@sunny.bakes_42,csv,low,,pending\n")
        await wait_for(
            lambda: _rows(queue) == {"natgeo": "COMPLETED", "nasa": "COMPLETED", "sunny.bakes_42": "COMPLETED"}
        )
        item = await sup.runtime.queue.get("nasa")
        assert item.status is Status.COMPLETED and item.source == "csv"

        # an operator re-queues a completed row by hand and raises its priority
        text = queue.read_text().replace("natgeo,manual", "natgeo,csv")
        lines = [
            ln if not ln.startswith("sunny.bakes_42,") else ln.replace("COMPLETED", "PENDING")
            for ln in text.splitlines()
        ]
        queue.write_text("\n".join(lines) + "\n")
        await wait_for(lambda: _completed_count(sup, "sunny.bakes_42", 2))


async def _completed_count(sup, name: str, expected: int) -> bool:
    rows = await sup.runtime.db.read(
        lambda c: c.execute(
            "SELECT COUNT(*) FROM queue WHERE username = ? AND status = 'COMPLETED'", (name,)
        ).fetchone()[0]
    )
    return rows == expected


async def test_a_folder_moved_back_to_csv_stops_capturing_for_supabase(tmp_path: Path) -> None:
    """A data folder that ran on Supabase and runs on CSV again: nothing more piles up in the
    outbox (docs/supabase-outbox.md); what already waited stays for the next Supabase run."""
    import sqlite3

    from viralspot_tui.core.store.database import Database
    from viralspot_tui.core.store.outbox_store import OutboxStore

    queue = tmp_path / "queue.csv"
    queue.write_text("username,priority\nnatgeo,HIGH\n")
    settings = make_settings(tmp_path, queue={"queue_file": str(queue), "csv_sync_seconds": 0.1})
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    async with Database(settings.db_path) as db:
        box = OutboxStore(db)
        await box.set_capture(True)  # as the Supabase backend left it
        await db.write(lambda c: c.execute("INSERT INTO outbox (kind, payload, created_at) VALUES ('note', '{}', 'x')"))
    async with open_engine(settings, processors=("queue",)) as sup:
        await sup.start()
        await wait_for(lambda: _rows(queue).get("natgeo") == "COMPLETED")
    conn = sqlite3.connect(settings.db_path)
    try:
        assert conn.execute("SELECT capture FROM outbox_client").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1  # the scrape added none
    finally:
        conn.close()
