"""The CSV queue backend against a real file and a real SQLite database (docs/queue.md, "CSV file", §10)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from viralspot_tui.config import load_settings
from viralspot_tui.core.backends.csv_backend import CsvBackend, write_atomic
from viralspot_tui.core.backends.csv_format import COLUMNS, parse_csv, render_csv
from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.core.runtime import Runtime

HEADER = ",".join(COLUMNS)
LEASE = 60.0


@pytest.fixture
async def open_backend(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Callable[..., Awaitable[CsvBackend]]]:
    runtimes: list[Runtime] = []

    async def build(csv_text: str | bytes | None, *, name: str = "queue.csv") -> CsvBackend:
        csv_path = tmp_path / name
        if csv_text is not None:
            if isinstance(csv_text, str):
                csv_text = csv_text.encode()
            csv_path.write_bytes(csv_text)
        settings = load_settings(
            data_dir=str(tmp_path / "data"),
            simulate=True,
            queue={"queue_file": str(csv_path), "csv_sync_seconds": 0.001},
        )
        runtime = await Runtime.open(settings, clock=clock, with_providers=False)
        runtimes.append(runtime)
        backend = CsvBackend(runtime, csv_path)
        await backend.start()
        return backend

    yield build
    for runtime in runtimes:
        await runtime.close()


def file_rows(path: Path) -> dict[str, dict[str, str]]:
    parsed = parse_csv(path.read_bytes())
    return {row.username: row.model_dump(mode="json") for _, row in parsed.rows}


def edit_line(path: Path, username: str, **changes: str) -> None:
    """What an operator does in an editor: change cells of one row, rewrite the file."""
    import csv
    import io

    records = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    header = records[0]
    for record in records[1:]:
        if record and record[0] == username:
            for column, value in changes.items():
                record[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    path.write_text(out.getvalue())


async def wait_for_new_mtime(path: Path) -> None:
    """Make sure an edit is visible to stat-based change detection (coarse file-system clocks)."""
    before = path.stat().st_mtime_ns
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        time.sleep(0.005)  # noqa: ASYNC251
        probe = path.with_suffix(".probe")
        probe.write_text("x")
        if probe.stat().st_mtime_ns != before:
            probe.unlink()
            return
        probe.unlink()


async def synced(backend: CsvBackend) -> None:
    """One supervisor sync step, taken after the export interval (1 ms here) has passed."""
    await asyncio.sleep(0.005)
    await backend.sync()


# --------------------------------------------------------------------------- import


async def test_start_imports_rows_and_writes_the_file_back(open_backend, tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "natgeo,manual,HIGH,2026-11-20T09:15:00+00:00,PENDING,0,,,req-1001\n"
        "@NASA,api,low,,,,,,\n"
        "https://www.instagram.com/hubermanlab/,api,LOW,,COMPLETED,1,,,\n"
        "ghost,csv,LOW,,FAILED,3,,profile not found,\n"
        "busy,csv,LOW,,PROCESSING,1,,,\n"
    )
    backend = await open_backend(text)
    queue = backend.runtime.queue
    natgeo = await queue.get("natgeo")
    assert (natgeo.priority, natgeo.status, natgeo.source, natgeo.request_id) == (
        Priority.HIGH,
        Status.PENDING,
        "manual",
        "req-1001",
    )
    assert (await queue.get("nasa")).status is Status.PENDING
    assert (await queue.get("hubermanlab")).status is Status.COMPLETED
    ghost = await queue.get("ghost")
    assert ghost.status is Status.FAILED and ghost.last_error == "profile not found"
    # A row left PROCESSING by a dead console is work to do, not a running item.
    assert (await queue.get("busy")).status is Status.PENDING
    rows = file_rows(tmp_path / "queue.csv")
    assert set(rows) == {"natgeo", "nasa", "hubermanlab", "ghost", "busy"}
    assert rows["nasa"]["priority"] == "LOW" and rows["natgeo"]["priority"] == "HIGH"
    assert backend.row_errors == []
    assert backend.state().online


async def test_missing_file_is_created_with_a_header(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(None)
    assert (tmp_path / "queue.csv").read_text().splitlines()[0] == HEADER
    assert await backend.runtime.queue.counts() == {}


async def test_bom_crlf_quotes_and_extra_columns_load_and_extras_survive(open_backend, tmp_path: Path) -> None:
    text = (
        "\ufeffnotes," + HEADER + "\r\n"
        '"vip, call first",nasa,csv,HIGH,,PENDING,0,,,\r\n'
        '"multi\r\nline",esa,csv,LOW,,PENDING,0,,,\r\n'
    )
    backend = await open_backend(text.encode())
    assert backend.row_errors == []
    assert (await backend.runtime.queue.get("nasa")).priority is Priority.HIGH
    assert (await backend.runtime.queue.get("esa")) is not None
    parsed = parse_csv((tmp_path / "queue.csv").read_bytes())
    assert parsed.extra_columns == ["notes"]
    assert parsed.extras["nasa"]["notes"] == "vip, call first"
    assert parsed.extras["esa"]["notes"] == "multi\r\nline"


async def test_appended_rows_are_picked_up_by_sync(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\n")
    path = tmp_path / "queue.csv"
    await wait_for_new_mtime(path)
    with path.open("a") as handle:
        handle.write("dave\n")
        handle.write("erin,manual,high\n")
        handle.write("@Frank,api,LOW,,PENDING,0,,,r-9\n")
    await synced(backend)
    queue = backend.runtime.queue
    assert (await queue.get("dave")).priority is Priority.LOW
    erin = await queue.get("erin")
    assert erin.priority is Priority.HIGH and erin.source == "manual"
    assert (await queue.get("frank")).request_id == "r-9"
    await synced(backend)
    assert set(file_rows(path)) == {"nasa", "dave", "erin", "frank"}


async def test_operator_raises_priority_in_the_file(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\nesa,csv,LOW\n")
    path = tmp_path / "queue.csv"
    await wait_for_new_mtime(path)
    edit_line(path, "esa", priority="HIGH")
    await synced(backend)
    assert (await backend.runtime.queue.get("esa")).priority is Priority.HIGH
    assert (await backend.runtime.queue.get("nasa")).priority is Priority.LOW
    assert any("esa priority set to HIGH" in m for m in backend.messages)
    assert [i.username for i in await backend.runtime.queue.claim(Priority.HIGH, 5, LEASE)] == ["esa"]


async def test_operator_sets_pending_on_a_failed_row(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nghost,csv,LOW,,FAILED,3,,profile not found,\nnasa\n")
    path = tmp_path / "queue.csv"
    assert file_rows(path)["ghost"]["status"] == "FAILED"
    await wait_for_new_mtime(path)
    edit_line(path, "ghost", status="PENDING")
    await synced(backend)
    ghost = await backend.runtime.queue.get("ghost")
    assert ghost.status is Status.PENDING and ghost.attempts == 0
    assert any("ghost re-queued" in m for m in backend.messages)
    await synced(backend)
    assert file_rows(path)["ghost"]["status"] == "PENDING"


async def test_failed_in_the_db_then_pending_in_the_file_requeues(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,HIGH\n")
    queue = backend.runtime.queue
    [item] = await queue.claim(Priority.HIGH, 1, LEASE)
    await queue.fail(item, "HTTP 404", permanent=True)
    await synced(backend)
    path = tmp_path / "queue.csv"
    assert file_rows(path)["nasa"]["status"] == "FAILED"
    await wait_for_new_mtime(path)
    edit_line(path, "nasa", status="PENDING")
    await synced(backend)
    assert (await queue.get("nasa")).status is Status.PENDING


async def test_setting_completed_by_hand_is_ignored_with_a_note(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\nesa,csv,LOW\n")
    path = tmp_path / "queue.csv"
    await wait_for_new_mtime(path)
    edit_line(path, "nasa", status="COMPLETED")
    await synced(backend)
    assert (await backend.runtime.queue.get("nasa")).status is Status.PENDING
    assert any("nasa status COMPLETED ignored" in m for m in backend.messages)
    await backend.stop()
    assert file_rows(path)["nasa"]["status"] == "PENDING"


async def test_an_old_copy_changes_nothing_and_a_real_edit_still_counts(
    open_backend, tmp_path: Path, clock: FakeClock
) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\nesa,csv,LOW\n")
    path, queue = tmp_path / "queue.csv", backend.runtime.queue
    old_copy = path.read_text()  # a script reads the file ...
    for item in await queue.claim(Priority.LOW, 5, LEASE):  # ... both items finish meanwhile ...
        clock.advance(5)
        await queue.complete(item)
    await synced(backend)
    assert {r["status"] for r in file_rows(path).values()} == {"COMPLETED"}
    await wait_for_new_mtime(path)
    path.write_text(old_copy.replace("esa,csv,LOW", "esa,csv,HIGH"))  # ... and writes its copy back
    await synced(backend)
    items = await queue.list()
    assert len(items) == 2 and all(i.status is Status.COMPLETED for i in items)  # nothing re-queued
    assert not any("re-queued" in m or "ignored (only PENDING" in m for m in backend.messages)
    assert {r["status"] for r in file_rows(path).values()} == {"COMPLETED"}  # written back at once
    await wait_for_new_mtime(path)
    edit_line(path, "nasa", status="PENDING")  # a real edit of the row the console wrote
    await synced(backend)
    assert (await queue.get("nasa")).status is Status.PENDING
    assert any("nasa re-queued from the file" in m for m in backend.messages)


async def test_a_row_identical_to_an_earlier_version_is_stale_and_the_note_says_what_to_do(
    open_backend, tmp_path: Path
) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\n")
    path = tmp_path / "queue.csv"
    first_version = path.read_text()
    await wait_for_new_mtime(path)
    edit_line(path, "nasa", priority="HIGH")
    await synced(backend)
    assert (await backend.runtime.queue.get("nasa")).priority is Priority.HIGH
    await wait_for_new_mtime(path)
    path.write_text(first_version)  # byte for byte what the console wrote before: an old copy
    await synced(backend)
    assert (await backend.runtime.queue.get("nasa")).priority is Priority.HIGH
    assert any("earlier version" in m and "queue bump nasa --priority low" in m for m in backend.messages)
    assert file_rows(path)["nasa"]["priority"] == "HIGH"


async def test_a_row_deleted_from_the_file_comes_back_and_the_note_says_so(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\nesa,csv,LOW\n")
    path = tmp_path / "queue.csv"
    await wait_for_new_mtime(path)
    path.write_text("\n".join(ln for ln in path.read_text().splitlines() if not ln.startswith("esa,")) + "\n")
    await synced(backend)
    assert (await backend.runtime.queue.get("esa")).status is Status.PENDING
    assert "esa" in file_rows(path)
    assert any("missing from the file" in m and "esa" in m and "queue remove" in m for m in backend.messages)


async def test_a_second_data_folder_is_refused_while_the_first_holds_the_file(
    open_backend, tmp_path: Path, clock: FakeClock
) -> None:
    from viralspot_tui.config import ConfigError

    first = await open_backend(f"{HEADER}\nnasa,csv,LOW\n")
    settings = load_settings(data_dir=str(tmp_path / "other"), queue={"queue_file": str(tmp_path / "queue.csv")})
    runtime = await Runtime.open(settings, clock=clock, with_providers=False)
    try:
        with pytest.raises(ConfigError, match=f"pid {os.getpid()}.*data folder {(tmp_path / 'data').resolve()}"):
            await CsvBackend(runtime).start()
        assert await runtime.queue.counts() == {}  # nothing was imported into the second folder
        clock.advance(31)  # the owner's heartbeat is older than owner_stale_seconds: it is gone
        second = CsvBackend(runtime)
        await second.start()
        assert (await runtime.queue.get("nasa")) is not None
        assert any("took over" in m for m in second.messages)
        clock.advance(6)
        await synced(first)  # the first runner notices and stops touching the file
        assert any("no longer synchronised here" in m for m in first.messages)
        await second.stop()
    finally:
        await runtime.close()


async def test_export_writes_statuses_back(open_backend, tmp_path: Path, clock: FakeClock) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,HIGH\nesa,csv,HIGH\nghost,csv,HIGH\nlater,csv,LOW\n")
    queue = backend.runtime.queue
    nasa, esa, ghost = await queue.claim(Priority.HIGH, 3, LEASE)
    await queue.complete(nasa)
    await queue.fail(ghost, "profile does not exist", permanent=True)
    await synced(backend)
    rows = file_rows(tmp_path / "queue.csv")
    assert rows["nasa"]["status"] == "COMPLETED" and rows["nasa"]["attempts"] == 1
    assert rows["esa"]["status"] == "PROCESSING"
    assert rows["ghost"]["status"] == "FAILED" and rows["ghost"]["error_message"] == "profile does not exist"
    assert rows["later"]["status"] == "PENDING"
    await queue.complete(esa)
    await backend.stop()
    assert file_rows(tmp_path / "queue.csv")["esa"]["status"] == "COMPLETED"


async def test_duplicate_rows_make_one_item_and_a_note(open_backend) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,LOW\n@NASA,csv,HIGH\n")
    assert len(await backend.runtime.queue.list()) == 1
    assert any("more than once" in m and "line 3" in m for m in backend.messages)


async def test_malformed_rows_are_reported_and_kept_after_write_back(open_backend, tmp_path: Path) -> None:
    bad_priority = "bravo,csv,URGENT,,PENDING,0,,,"
    bad_name = "x'; DROP TABLE queue;--,csv,LOW"
    text = f"{HEADER}\nalpha,csv,HIGH\n{bad_priority}\ncharlie,csv,LOW\n{bad_name}\ndelta\n"
    backend = await open_backend(text)
    assert [e.line for e in backend.row_errors] == [3, 5]
    assert any("line 3" in m and "priority" in m for m in backend.messages)
    assert any("line 5" in m and "username" in m for m in backend.messages)
    assert {i.username for i in await backend.runtime.queue.list()} == {"alpha", "charlie", "delta"}
    path = tmp_path / "queue.csv"
    await backend.stop()
    lines = path.read_text().splitlines()
    assert bad_priority in lines and bad_name in lines
    assert set(file_rows(path)) == {"alpha", "charlie", "delta"}
    # The queue table holds no trace of the payload and is intact.
    tables = await backend.runtime.db.read(lambda c: [r[0] for r in c.execute("SELECT name FROM sqlite_master")])
    assert "queue" in tables
    # Still kept after a further round trip (the operator has not fixed it yet).
    await wait_for_new_mtime(path)
    with path.open("a") as handle:
        handle.write("echo\n")
    await synced(backend)
    await backend.stop()
    lines = path.read_text().splitlines()
    assert lines.count(bad_priority) == 1 and lines.count(bad_name) == 1
    assert set(file_rows(path)) == {"alpha", "charlie", "delta", "echo"}
    # They stay where the operator put them, so the reported line numbers keep pointing at them.
    assert [line.split(",")[0] for line in lines[1:]] == [
        "alpha",
        "bravo",
        "charlie",
        "x'; DROP TABLE queue;--",
        "delta",
        "echo",
    ]
    assert [e.line for e in backend.row_errors] == [3, 5]
    assert sum("line 3" in m for m in backend.messages) == 1  # reported once, not again after each write-back


async def test_a_malformed_multi_line_row_is_kept_whole(open_backend, tmp_path: Path) -> None:
    bad = 'bad name,csv,LOW,,PENDING,0,,"first line\nsecond line",'
    backend = await open_backend(f"{HEADER}\nalpha\n{bad}\ncharlie\n")
    assert [e.line for e in backend.row_errors] == [3]
    await backend.stop()
    assert bad in (tmp_path / "queue.csv").read_text()


async def test_an_error_message_with_a_carriage_return_does_not_inject_a_row(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa,csv,HIGH\n")
    queue = backend.runtime.queue
    [item] = await queue.claim(Priority.HIGH, 1, LEASE)
    await queue.fail(item, "HTTP 502 from upstream\rinjected_user", permanent=True)
    await backend.stop()
    # The next console start re-reads the file it wrote.
    second = await open_backend(None)
    assert {i.username for i in await second.runtime.queue.list()} == {"nasa"}
    assert set(file_rows(tmp_path / "queue.csv")) == {"nasa"}


async def test_formula_payloads_are_neutralised_on_export(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f'{HEADER}\nnasa,csv,HIGH,,,,,,=HYPERLINK("http://evil")\n')
    queue = backend.runtime.queue
    [item] = await queue.claim(Priority.HIGH, 1, LEASE)
    await queue.fail(item, "=cmd|' /C calc'!A0", permanent=True)
    await backend.stop()
    text = (tmp_path / "queue.csv").read_text()
    import csv
    import io

    for record in list(csv.reader(io.StringIO(text)))[1:]:
        for cell in record:
            assert not cell.startswith(("=", "+", "-", "@")), record
    assert file_rows(tmp_path / "queue.csv")["nasa"]["error_message"] == "=cmd|' /C calc'!A0"


# --------------------------------------------------------------------------- files and permissions


async def test_database_file_and_folder_are_owner_only(open_backend, tmp_path: Path) -> None:
    backend = await open_backend(f"{HEADER}\nnasa\n")
    db_path = backend.runtime.settings.db_path
    assert db_path == tmp_path / "data" / "viralspot.db"
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    for suffix in ("-wal", "-shm"):
        side = Path(str(db_path) + suffix)
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, suffix


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from viralspot_tui.core.backends.csv_backend import write_atomic

    path = Path(sys.argv[1])
    versions = [open(p, newline="").read() for p in sys.argv[2:]]
    write_atomic(path, versions[0])
    print("ready", flush=True)
    i = 1
    while True:
        write_atomic(path, versions[i % len(versions)])
        i += 1
""")


def test_write_atomic_survives_kill_9_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    versions = []
    for v in range(3):
        rows = [
            {
                "username": f"user_{i}",
                "source": "csv",
                "priority": "HIGH" if i % 3 else "LOW",
                "timestamp": "2026-11-20T09:15:00+00:00",
                "status": ["PENDING", "COMPLETED", "FAILED"][v],
                "attempts": str(v),
                "last_attempt": "",
                "error_message": f"version {v} " * 3,
                "request_id": f"v{v}",
            }
            for i in range(4000 + 500 * v)
        ]
        text = render_csv(rows, [], [])
        source = tmp_path / f"version{v}.txt"
        source.write_text(text, newline="")
        versions.append(text)
    target = tmp_path / "out" / "queue.csv"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(target), *(str(tmp_path / f"version{v}.txt") for v in range(3))],
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0, 0.03))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        with open(target, newline="") as handle:
            content = handle.read()
        assert content in versions, "torn file after kill -9"
        parsed = parse_csv(content)
        assert parsed.errors == [] and len(parsed.rows) in (4000, 4500, 5000)


def test_write_atomic_replaces_content_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "q" / "queue.csv"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["queue.csv"]


def test_write_atomic_leaves_a_file_saved_meanwhile_alone(tmp_path: Path) -> None:
    """The queue file's write-back replaces only the version it merged: an operator's save that
    lands while the new file is being prepared is kept (and merged at the next sync)."""
    from viralspot_tui.core.atomic_file import FileChanged

    target = tmp_path / "queue.csv"
    write_atomic(target, "ours\n")

    def operator_saves_meanwhile() -> bool:
        target.write_text("theirs\n")
        return False

    with pytest.raises(FileChanged):
        write_atomic(target, "newer ours\n", unchanged=operator_saves_meanwhile)
    assert target.read_text() == "theirs\n"
    assert not list(tmp_path.glob(".queue.csv.*.tmp"))  # the temp file is gone
    write_atomic(target, "merged\n", unchanged=lambda: True)
    assert target.read_text() == "merged\n"
