"""The CSV queue file with the runner as a subprocess (issue 13): timestamps, ownership, defaults."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from viralspot_tui.core.backends.csv_format import parse_csv
from viralspot_tui.core.clock import from_iso

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_")}
    env.update({"PYTHONPATH": str(ROOT), "VIRALSPOT_SIM_LATENCY_MS": "2", **extra})
    return env


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viralspot_tui.cli.main", *args],
        env=env or _env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _run(data: Path, queue: Path | None, *extra: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    args = ["--data-dir", str(data), "run", "--no-ui", "--simulate", "--processors", "queue", "--exit-when-idle"]
    if queue is not None:
        args += ["--queue-file", str(queue)]
    return _cli(*args, *extra, env=env, cwd=cwd)


def test_a_completed_item_is_stamped_with_the_moment_it_completed(tmp_path: Path) -> None:
    """completed_at, updated_at and last_attempt come after the fetch, not at its start."""
    data, queue = tmp_path / "d", tmp_path / "queue.csv"
    queue.write_text("username,priority\nnatgeo,HIGH\n")
    result = _run(data, queue, env=_env(VIRALSPOT_SIM_LATENCY_MS="150"))
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(data / "viralspot.db")
    completed, updated = conn.execute("SELECT completed_at, updated_at FROM queue WHERE username = 'natgeo'").fetchone()
    (stored,) = conn.execute("SELECT last_scraped_at FROM primary_profiles WHERE username = 'natgeo'").fetchone()
    conn.close()
    # the profile is stored in the completing transaction, after every (slow) fetch
    assert from_iso(completed) >= from_iso(stored)
    assert updated == completed
    (row,) = [r for _, r in parse_csv(queue.read_bytes()).rows if r.username == "natgeo"]
    assert row.last_attempt is not None and row.last_attempt >= from_iso(stored)


def _queued(data: Path) -> dict[str, str]:
    conn = sqlite3.connect(data / "viralspot.db")
    try:
        rows = conn.execute(
            "SELECT username, status FROM queue WHERE id IN (SELECT MAX(id) FROM queue GROUP BY username)"
        )
        return dict(rows.fetchall())
    finally:
        conn.close()


def test_a_kept_bad_row_under_a_reordered_header_keeps_its_meaning(tmp_path: Path) -> None:
    data, queue = tmp_path / "d", tmp_path / "queue.csv"
    queue.write_text("priority,username\nHIGH,a..b\nLOW,natgeo\n")
    first = _run(data, queue)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "line 2" in first.stderr and "cannot contain '..'" in first.stderr
    second = _run(data, queue)  # the file now has the standard header: the kept row must still say a..b
    assert second.returncode == 0, second.stderr[-3000:]
    assert _queued(data) == {"natgeo": "COMPLETED"}  # no account "high" was scraped
    assert "ISO-8601" not in second.stderr and "cannot contain '..'" in second.stderr
    (error,) = parse_csv(queue.read_bytes()).errors
    assert error.message == "username: cannot contain '..'" and "HIGH" in error.raw


def test_an_old_copy_saved_back_does_not_requeue_finished_work(tmp_path: Path) -> None:
    data, queue = tmp_path / "d", tmp_path / "queue.csv"
    queue.write_text("username,priority\nnatgeo,LOW\nnasa,LOW\nnike,LOW\n")
    # the console writes the file, a script reads it before anything ran ...
    first = _run(data, queue, "--max-concurrent", "1", env=_env(VIRALSPOT_QUEUE__MAX_LOW="1"))
    assert first.returncode == 0, first.stderr[-3000:]
    conn = sqlite3.connect(data / "viralspot.db")
    runs = conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    conn.close()
    old = queue.read_text()
    assert runs == 3 and "COMPLETED" in old
    # ... an old copy: every row as the console first wrote it (PENDING), one priority changed
    import csv
    import io

    stale = io.StringIO()
    writer = csv.writer(stale, lineterminator="\r\n")
    records = list(csv.reader(io.StringIO(old, newline="")))
    writer.writerow(records[0])
    for record in records[1:]:
        record[4], record[5], record[6], record[7] = "PENDING", "0", "", ""  # status, attempts, last_attempt, error
        writer.writerow(record)
    text = stale.getvalue().replace("nasa,csv,LOW", "nasa,csv,HIGH")
    queue.write_text(text)
    second = _run(data, queue)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "re-queued" not in second.stderr and "only PENDING can be set by hand" not in second.stderr
    conn = sqlite3.connect(data / "viralspot.db")
    assert conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 3  # nothing scraped again
    conn.close()
    assert {r.username: r.status.value for _, r in parse_csv(queue.read_bytes()).rows} == {
        "natgeo": "COMPLETED",
        "nasa": "COMPLETED",
        "nike": "COMPLETED",
    }
    # a real edit still counts: PENDING over a COMPLETED row re-queues it
    queue.write_text(queue.read_text().replace("COMPLETED", "PENDING", 1))
    third = _run(data, queue)
    assert third.returncode == 0 and "re-queued from the file" in third.stderr


def test_a_second_data_folder_on_the_same_queue_file_is_refused_until_the_owner_is_gone(tmp_path: Path) -> None:
    queue = tmp_path / "queue.csv"
    queue.write_text("username\n" + "".join(f"slowpoke.{i}\n" for i in range(6)))
    slow = _env(VIRALSPOT_SIM_LATENCY_MS="400", VIRALSPOT_QUEUE__REELS_COUNT="200")
    args = ["--data-dir", str(tmp_path / "a"), "run", "--no-ui", "--simulate", "--processors", "queue"]
    owner = subprocess.Popen(
        [sys.executable, "-m", "viralspot_tui.cli.main", *args, "--queue-file", str(queue)],
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lease = tmp_path / ".queue.csv.owner"
        deadline = time.monotonic() + 30
        while not (lease.is_file() and str(owner.pid) in lease.read_text()):
            assert time.monotonic() < deadline and owner.poll() is None, "the first runner did not start"
            time.sleep(0.1)
        second = _run(tmp_path / "b", queue)
        assert second.returncode == 2, second.stderr[-2000:]
        (line,) = [ln for ln in second.stderr.splitlines() if ln.startswith("error:")]
        assert (
            f"pid {owner.pid}" in line and str((tmp_path / "a").resolve()) in line and "Traceback" not in second.stderr
        )
        assert not (tmp_path / "b" / "viralspot.db").exists() or _queued(tmp_path / "b") == {}
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
    taken = _run(tmp_path / "b", queue, env=_env(VIRALSPOT_QUEUE__MAX_CONCURRENT="6"))  # the owner is gone
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert "took over from a runner that is gone" in taken.stderr


def test_the_queue_file_lives_in_the_data_folder_and_a_different_one_is_refused(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "queue.csv").write_text("username\nnasa\n")  # another folder's file in the working directory
    data = tmp_path / "b"
    added = _cli("--data-dir", str(data), "queue", "add", "natgeo", cwd=cwd)
    assert added.returncode == 0, added.stderr
    result = _run(data, None, cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _queued(data) == {"natgeo": "COMPLETED"}  # ./queue.csv was not read
    assert "natgeo" in (data / "queue.csv").read_text()
    other = tmp_path / "other.csv"
    other.write_text("username\nnike\n")
    refused = _run(data, other)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert str((data / "queue.csv").resolve()) in refused.stderr and "--adopt-queue-file" in refused.stderr
    adopted = _run(data, other, env=_env(VIRALSPOT_QUEUE__ADOPT_QUEUE_FILE="1"))
    assert adopted.returncode == 0, adopted.stderr[-2000:]
    assert _queued(data)["nike"] == "COMPLETED" and "is now this data folder's queue file" in adopted.stderr
    other.unlink()  # a remembered file that is gone is no reason to refuse the default one
    back = _run(data, None, cwd=cwd)
    assert back.returncode == 0 and "which no longer exists" in back.stderr, back.stderr[-2000:]


def test_bad_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data, queue = tmp_path / "d", tmp_path / "queue.csv"
    queue.write_text("username\nnatgeo\n")
    for env in ({"VIRALSPOT_SIM_LATENCY_MS": "abc"}, {"VIRALSPOT_SIM_FAULT_RATE": "2"}):
        result = _run(data, queue, env=_env(**env))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert [ln for ln in result.stderr.splitlines() if ln.strip()] == [result.stderr.strip()]
        assert next(iter(env)) in result.stderr
    missing = _run(data, tmp_path / "nonexistent" / "dir" / "q.csv")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "nonexistent").exists()  # no folders were created
    config = tmp_path / "viralspot.toml"
    config.write_text('[queue]\nqueue_file = ""\n')
    empty = _cli("--config", str(config), "--data-dir", str(data), "run", "--no-ui", "--simulate", "--exit-when-idle")
    assert empty.returncode == 2 and "queue.queue_file" in empty.stderr and "Traceback" not in empty.stderr
    shown = _cli("config", "show", env=_env(VIRALSPOT_SIM_LATENCY_MS="7", VIRALSPOT_LOG_LEVEL="DEBUG"))
    assert shown.returncode == 0 and "latency_ms = 7.0" in shown.stdout and 'log_level = "debug"' in shown.stdout


def test_a_queue_file_that_cannot_be_replaced_is_a_configuration_error(tmp_path: Path) -> None:
    # A name the folder holds, whose temp sibling (".NAME.<random>.tmp") is too long for the file
    # system: the write-back's replace fails with an OSError whatever the user's rights (like a
    # PermissionError in a read-only folder), and the runner must say so instead of crashing.
    queue = tmp_path / ("q" * 242 + ".csv")
    queue.write_text("username\nnatgeo\n")
    result = _run(tmp_path / "d", queue)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "cannot be replaced" in result.stderr and "folder must be writable" in result.stderr
