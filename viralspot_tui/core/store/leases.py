"""Lease owners: who holds an item, and whether that holder can still be alive.

A lease owner is ``host:pid:uuid:claim:id``. The uuid makes each process start unique, so a
restarted worker with a recycled pid never inherits a dead one's leases; host and pid let a
restart on the same machine recognise leases of a process that is certainly gone.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["new_instance_id", "owner_is_dead_here"]


def new_instance_id() -> str:
    """``host:pid:uuid`` — unique per store instance; the prefix of every lease it takes."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead_here(owner: str, host: str) -> bool:
    """True only when the owner ran on this host and its pid no longer exists."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
