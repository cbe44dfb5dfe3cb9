"""Replacing a file atomically: readers (and a process killed mid-write) see the old or the new
content, never a torn mix. Used for the CSV queue file and for exports."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomic", "remove_stale_temp_files", "FileChanged"]


class FileChanged(Exception):
    """``write_atomic``'s precondition failed: someone else wrote the file meanwhile; it is untouched."""


def write_atomic(
    path: Path, text: str, unchanged: Callable[[], bool] | None = None, *, make_parents: bool = True
) -> os.stat_result:
    """Replace ``path`` with ``text``: temp file, fsync, rename, fsync of the folder.

    The new file keeps the old one's permissions (the operator's choice), or is owner-only
    (``mkstemp``'s 0600) when it is new. ``unchanged`` is asked just before the rename, after
    the slow fsync: when it says the file changed (an operator saved it while we prepared
    ours) nothing is replaced and :class:`FileChanged` is raised, so their edit is not lost.
    ``make_parents=False`` refuses a missing folder (``FileNotFoundError``) instead of creating
    it: a mistyped queue-file path must not grow folders. Returns the stat of the file written
    (a rename keeps inode, size and mtime), taken before the rename: a caller that compares it
    with the path's stat later sees a save that landed right after the rename as a change.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
        if unchanged is not None and not unchanged():
            raise FileChanged(f"{path} changed while it was being rewritten")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return written


def remove_stale_temp_files(path: Path) -> int:
    """Temp files a killed writer left beside ``path`` (the real file is always intact)."""
    removed = 0
    for leftover in Path(path).parent.glob(f".{Path(path).name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed += 1
    return removed
