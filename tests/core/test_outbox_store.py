"""The local outbox (SQLite migration 0005, core/store/outbox_store.py, docs/supabase-outbox.md).

Real SQLite files: capture in the same transaction as the change, only while capture is on; a
seq never reused and never skipped; acknowledgement, rejection, retry, depth; the old unused
``outbox`` table folded in on upgrade.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from viralspot_tui.core.backends.supabase_mapping import REMOTE_NAME
from viralspot_tui.core.store.database import Database
from viralspot_tui.core.store.outbox_store import OutboxStore

NOW = "2026-12-01T10:00:00.000000+00:00"
V0_DDL = (Path(__file__).parent / "fixtures" / "schema_v0.sql").read_text(encoding="utf-8")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _profile(conn: sqlite3.Connection, name: str, followers: int = 10) -> None:
    conn.execute(
        "INSERT INTO primary_profiles (username, followers, first_scraped_at, last_scraped_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (username) DO UPDATE SET followers = excluded.followers",
        (name, followers, NOW, NOW),
    )


async def test_capture_is_off_until_enabled_and_then_writes_the_row_in_the_same_transaction(tmp_path: Path) -> None:
    async with Database(tmp_path / "v.db") as db:
        box = OutboxStore(db)
        await db.write(_profile, "alice")
        assert (await box.depth())[0] == 0  # CSV users: nothing written
        await box.set_capture(True)
        await db.write(_profile, "bob", 20)
        await db.write(_profile, "bob", 30)  # an update is captured too

        def failing(conn: sqlite3.Connection) -> None:
            _profile(conn, "carol")
            raise RuntimeError("the change fails: its outbox row must go with it")

        with pytest.raises(RuntimeError):
            await db.write(failing)
        pending = await box.pending()
        assert [(e.seq, e.kind, e.local_table, e.payload["username"], e.payload["followers"]) for e in pending] == [
            (1, "upsert", "primary_profiles", "bob", 20),
            (2, "upsert", "primary_profiles", "bob", 30),
        ]
        assert set(pending[0].payload) >= {"username", "full_name", "total_views", "last_scraped_at"}
        await db.write(_profile, "dave")
        assert [e.seq for e in await box.pending()] == [1, 2, 3]  # the rolled-back change took no number
        client = await box.client()
        assert UUID.match(client.client_id) and client.capture and client.max_seq == 3


async def test_every_mapped_table_is_captured(tmp_path: Path) -> None:
    async with Database(tmp_path / "v.db") as db:
        await OutboxStore(db).set_capture(True)

        def rows(conn: sqlite3.Connection) -> None:
            _profile(conn, "alice")
            conn.execute(
                "INSERT INTO content (content_id, shortcode, username, url, first_seen_at, updated_at)"
                " VALUES ('c1', 's1', 'alice', 'u', ?, ?)",
                (NOW, NOW),
            )
            conn.execute(
                "INSERT INTO secondary_profiles (username, discovered_by, first_seen_at, updated_at)"
                " VALUES ('bob', 'alice', ?, ?)",
                (NOW, NOW),
            )
            conn.execute(
                "INSERT INTO viral_ideas_queue (id, primary_username, status, created_at, updated_at)"
                " VALUES (1, 'alice', 'pending', ?, ?)",
                (NOW, NOW),
            )
            conn.execute(
                "INSERT INTO viral_ideas_competitors (job_id, username, position, updated_at) VALUES (1, 'bob', 0, ?)",
                (NOW,),
            )
            conn.execute(
                "INSERT INTO viral_analysis_results (id, job_id, run_number, run_type, started_at)"
                " VALUES (1, 1, 1, 'initial', ?)",
                (NOW,),
            )
            conn.execute(
                "INSERT INTO viral_analysis_reels (result_id, job_id, shortcode, username, role, rank, reason)"
                " VALUES (1, 1, 's1', 'alice', 'primary', 1, 'top')"
            )
            conn.execute(
                "INSERT INTO viral_scripts (result_id, job_id, position, hook_text, hook_type, source_shortcode,"
                " source_username, title, script, estimated_duration_seconds, created_at)"
                " VALUES (1, 1, 0, 'h', 'question', 's1', 'alice', 't', 'body', 30, ?)",
                (NOW,),
            )
            conn.execute(
                "INSERT INTO crawler_rounds (round, seed, found, dropped_total, duplicates, queued)"
                " VALUES (1, 'alice', 3, 0, 0, 3)"
            )
            conn.execute("INSERT INTO crawler_blocklist VALUES ('x', NULL, ?)", (NOW,))  # not mapped

        await db.write(rows)
        entries = await OutboxStore(db).pending()
        tables = [e.local_table for e in entries]
    by_table = {e.local_table: e.payload for e in entries}
    assert by_table["viral_analysis_reels"]["run_number"] == 1 and by_table["viral_scripts"]["run_number"] == 1
    assert tables == list(REMOTE_NAME)  # every mapped table is captured, parents first, nothing else


async def test_ack_forgets_applied_keeps_rejected_and_retry_moves_them_to_the_end(tmp_path: Path) -> None:
    async with Database(tmp_path / "v.db") as db:
        box = OutboxStore(db)
        await box.set_capture(True)
        for name in ("a", "b", "c", "d"):
            await db.write(_profile, name)
        await box.reject_local(4, "content d: shortcode missing")
        assert await box.ack(3, {2: "23505 duplicate key"}) == 2
        assert await box.ack(2, {}) == 0  # an older answer changes nothing
        assert [(e.seq, e.state) for e in await box.pending()] == [(4, "rejected")]  # still to send, as a skip
        await box.ack(4, {}, skipped=(4,))
        listing = await box.listing()
        assert listing["waiting"] == [] and listing["depth"] == 0
        assert [(e.seq, e.state, e.reason) for e in listing["settled"]] == [
            (4, "rejected", "content d: shortcode missing"),
            (2, "rejected", "23505 duplicate key"),
        ]
        assert await box.retry([2]) == [(2, 5)]
        again = await box.pending()
        assert [(e.seq, e.state, e.payload["username"]) for e in again] == [(5, "pending", "b")]
        assert (await box.depth())[0] == 1 and (await box.client()).max_seq == 5


async def test_enqueue_and_note_entries_and_the_depth_age(tmp_path: Path) -> None:
    async with Database(tmp_path / "v.db") as db:
        box = OutboxStore(db)
        assert await box.depth() == (0, None)
        seq = await box.add_enqueue([{"username": "bob", "priority": "HIGH", "source": "manual"}])
        await box.add_note({"username": "carol"}, "completed after the lease was taken over")
        entries = await box.pending()
        assert [(e.seq, e.kind, e.state, e.key()) for e in entries] == [
            (seq, "enqueue", "pending", "bob"),
            (seq + 1, "note", "superseded", "username=carol"),
        ]
        count, age = await box.depth()
        assert count == 2 and age is not None and age >= 0


async def test_an_old_copy_of_the_file_has_a_lower_highest_seq(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    async with Database(path) as db:
        box = OutboxStore(db)
        await box.set_capture(True)
        await db.write(_profile, "a")
        client = await box.client()
    shutil.copy(path, tmp_path / "old.db")
    async with Database(path) as db:
        box = OutboxStore(db)
        await db.write(_profile, "b")
        await box.ack(2, {})
        assert (await box.client()).max_seq == 2  # acked and deleted, the number stays used
    async with Database(tmp_path / "old.db") as db:
        old = await OutboxStore(db).client()
    assert old.client_id == client.client_id and old.max_seq == 1


async def test_the_unused_outbox_table_of_an_old_release_is_folded_in(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    conn = sqlite3.connect(path)
    conn.executescript(V0_DDL)
    conn.execute("INSERT INTO outbox (op, payload, created_at) VALUES ('push', '{}', ?)", (NOW,))
    conn.commit()
    conn.close()
    async with Database(path) as db:
        listing = await OutboxStore(db).listing()
        columns = await db.read(lambda c: [r[1] for r in c.execute("PRAGMA table_info(outbox)")])
    assert "seq" in columns and "op" not in columns
    [entry] = listing["waiting"]
    assert entry.kind == "note" and entry.state == "rejected" and json.loads(json.dumps(entry.payload))["op"] == "push"
