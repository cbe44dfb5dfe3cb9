"""One owner per queue file: a lease file beside it names the data folder that works it.

Two runners with *different* data folders on one ``queue.csv`` would each import every row
into their own database and process everything twice, paying twice. So the file has one
owner at a time: ``.queue.csv.owner`` beside it names the host, pid and data folder of the
runner that holds it, with a heartbeat. Runners on the *same* data folder share the file (they
share the queue in SQLite, whose leases split the work). A second folder's runner is refused
with a message naming the owner; an owner whose process is gone (same host, pid not alive) or
whose heartbeat is older than ``queue.owner_stale_seconds`` is taken over. See docs/queue-file.md.

Every read-decide-write of the lease file happens under an exclusive ``flock`` on it, so two
runners starting at once cannot both win. Releasing empties the file instead of deleting it:
deleting would let a waiter lock the old, unlinked inode while a newcomer creates a new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ...config import ConfigError
from ..clock import Clock, from_iso, to_iso

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the lease still works, without the mutex
    fcntl = None  # type: ignore[assignment]

__all__ = ["QueueFileOwner", "QueueFileBusy", "owner_file_for"]


class QueueFileBusy(ConfigError):
    """Another data folder's live runner owns the queue file (a configuration error: exit 2)."""


class _Lease(BaseModel):
    host: str
    pid: int
    data_dir: str
    token: str
    heartbeat_at: str


@dataclass(frozen=True)
class _Decision:
    ours: bool
    other: _Lease | None = None
    took_over: _Lease | None = None


def owner_file_for(queue_file: Path) -> Path:
    return queue_file.parent / f".{queue_file.name}.owner"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


class QueueFileOwner:
    def __init__(self, queue_file: Path, data_dir: Path, clock: Clock, stale_seconds: float) -> None:
        self.queue_file = queue_file
        self.path = owner_file_for(queue_file)
        self.data_dir = str(Path(data_dir).resolve())
        self.clock = clock
        self.stale = timedelta(seconds=stale_seconds)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.token = uuid.uuid4().hex
        self._renewed: datetime | None = None

    # ------------------------------------------------------------------ the lease
    def acquire(self) -> _Lease | None:
        """Take (or share) the lease; returns a dead owner taken over, raises QueueFileBusy."""
        decision = self._locked(self._decide)
        if not decision.ours:
            raise QueueFileBusy(self._busy_message(decision.other))
        return decision.took_over

    def renew_due(self) -> bool:
        now = self.clock.now()
        return self._renewed is None or now - self._renewed >= self.stale / 6

    def renew(self) -> None:
        """Refresh the heartbeat; raises QueueFileBusy when another folder took the file over."""
        self.acquire()

    def release(self) -> None:
        def clear(fd: int, lease: _Lease | None) -> None:
            if lease is not None and lease.token == self.token:
                os.ftruncate(fd, 0)
                os.fsync(fd)

        with contextlib.suppress(OSError, ConfigError):  # a lease left behind only goes stale
            self._locked(clear)

    # ------------------------------------------------------------------ internals
    def _decide(self, fd: int, lease: _Lease | None) -> _Decision:
        took_over = None
        if lease is not None and lease.token != self.token and lease.data_dir != self.data_dir:
            if not self._dead(lease):
                return _Decision(ours=False, other=lease)
            took_over = lease
        now = self.clock.now()
        mine = _Lease(
            host=self.host, pid=self.pid, data_dir=self.data_dir, token=self.token, heartbeat_at=to_iso(now) or ""
        )
        data = (mine.model_dump_json(indent=1) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        self._renewed = now
        return _Decision(ours=True, took_over=took_over)

    def _dead(self, lease: _Lease) -> bool:
        if lease.host == self.host and not _pid_alive(lease.pid):
            return True
        try:
            beat = from_iso(lease.heartbeat_at)
        except ValueError:
            return True
        return beat is None or self.clock.now() - beat > self.stale

    def _locked(self, action: Any) -> Any:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"queue file {self.queue_file}: cannot open its owner file {self.path.name} in"
                f" {self.path.parent} ({exc.strerror or exc}); the folder must be writable"
            ) from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 65536, 0)
            return action(fd, _parse(raw))
        finally:
            os.close(fd)  # closing drops the flock

    def _busy_message(self, other: _Lease | None) -> str:
        who = f"pid {other.pid} on host {other.host}, data folder {other.data_dir}" if other else "another runner"
        return (
            f"queue file {self.queue_file} is in use by another runner ({who}; last heartbeat"
            f" {other.heartbeat_at if other else 'unknown'}). One queue file has one data folder at a time:"
            f" stop that runner, use its data folder (--data-dir {other.data_dir if other else '...'}), or give"
            f" this one its own queue file"
        )


def _parse(raw: bytes) -> _Lease | None:
    if not raw.strip():
        return None
    try:
        return _Lease.model_validate(json.loads(raw.decode("utf-8")))
    except (ValueError, ValidationError):  # torn by a killed writer, or not ours: nobody owns it
        return None
