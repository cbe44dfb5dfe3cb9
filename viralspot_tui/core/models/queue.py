"""Queue item model and its enums (docs/queue.md, "Item")."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from .usernames import Username

__all__ = ["Priority", "Status", "QueueItem", "ACTIVE_STATUSES", "EnqueueOutcome", "EnqueueResult", "normalize_source"]


class Priority(StrEnum):
    HIGH = "HIGH"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        """Larger is more urgent; used for "is this an upgrade" comparisons."""
        return 1 if self is Priority.HIGH else 0

    @classmethod
    def parse(cls, value: str) -> "Priority":
        try:
            return cls(value.strip().upper())
        except ValueError:
            raise ValueError(f"priority must be HIGH or LOW, got {value!r}") from None


class Status(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @classmethod
    def parse(cls, value: str) -> "Status":
        try:
            return cls(value.strip().upper())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"status must be one of {allowed}, got {value!r}") from None


ACTIVE_STATUSES = (Status.PENDING, Status.PROCESSING, Status.PAUSED)
_SOURCE = re.compile(r"^[a-z0-9_.-]{1,32}$")


def normalize_source(value: str) -> str:
    """The one rule for a queue item's ``source`` (store, CLI, CSV file): what the file can carry back."""
    text = str(value).strip().lower()
    if not _SOURCE.match(text):
        raise ValueError(f"source must be 1-32 characters of a-z, 0-9, '.', '_' or '-', got {text[:40]!r}")
    return text


class QueueItem(BaseModel):
    """One row of the ``queue`` table.

    Its schema is built on first use (``defer_build``): ``status`` and ``queue add`` never
    make an item, and building it is a visible share of their start-up (docs/startup.md)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: int
    username: Username
    priority: Priority
    status: Status
    source: str
    attempts: int = 0
    max_attempts: int = 3
    last_error: str | None = None
    not_before: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    request_id: str | None = None


class EnqueueOutcome(StrEnum):
    ADDED = "added"
    UPGRADED = "upgraded"
    ALREADY_QUEUED = "already-queued"
    REFRESHED = "refreshed"


class EnqueueResult(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built by the first enqueue, not by every import

    username: str
    outcome: EnqueueOutcome
    priority: Priority
    item_id: int | None = None

    def describe(self) -> str:
        match self.outcome:
            case EnqueueOutcome.ADDED:
                return f"{self.username}: added at {self.priority.value}"
            case EnqueueOutcome.REFRESHED:
                return f"{self.username}: re-queued at {self.priority.value} (refresh of a completed profile)"
            case EnqueueOutcome.UPGRADED:
                return f"{self.username}: raised to {self.priority.value}"
            case _:
                return f"{self.username}: already queued at {self.priority.value}, nothing changed"
