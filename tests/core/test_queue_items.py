"""Rows become the same items validation would give (core/store/queue_reads.py, ``_build``).

The store builds items from its own rows without running pydantic (a quarter of the cost,
docs/performance.md). That is only sound while the result is indistinguishable from a
validated item: equal, hashable alike, dumped alike, copyable, still frozen. These tests
hold it against ``QueueItem.model_validate`` so a pydantic upgrade that changes the model's
internals fails here, not somewhere in the console.
"""

from __future__ import annotations

import pydantic
import pytest

from viralspot_tui.core.models.queue import Priority, QueueItem, Status
from viralspot_tui.core.store.queue_reads import ITEM_COLUMNS, row_to_item, rows_to_items
from viralspot_tui.core.store.queue_store import QueueStore

COLUMNS = [c.strip() for c in ITEM_COLUMNS.split(",")]
ROW = (
    7,
    "some.user",
    "HIGH",
    "PROCESSING",
    "crawler",
    2,
    3,
    "lease expired: worker lost, requeued",
    "2026-01-02T00:00:01.000000+00:00",
    "host:1:abc:9:7",
    "2026-01-02T00:05:00.000000+00:00",
    "2026-01-01T00:00:00.000000+00:00",
    "2026-01-02T00:00:00.000000+00:00",
    None,
    "req-1",
)


def test_a_built_item_is_the_validated_item() -> None:
    built = row_to_item(ROW)
    validated = QueueItem.model_validate(dict(zip(COLUMNS, ROW, strict=True)))
    assert built == validated
    assert hash(built) == hash(validated)
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == validated.model_fields_set
    assert built.priority is Priority.HIGH and built.status is Status.PROCESSING
    assert built.lease_expires_at is not None and built.lease_expires_at.utcoffset() is not None
    copy = built.model_copy(update={"attempts": 3})
    assert copy.attempts == 3 and built.attempts == 2  # the copy owns its fields set
    with pytest.raises(pydantic.ValidationError):
        built.attempts = 5  # type: ignore[misc]  # still frozen


def test_rows_of_one_read_share_parsed_times_but_not_items() -> None:
    second = (8, "other.user", "LOW", "PENDING", *ROW[4:9], None, None, *ROW[11:])
    first, other = rows_to_items([ROW, second])
    assert first.created_at is other.created_at  # one parse for equal stamps
    assert other.lease_owner is None and other.lease_expires_at is None and other.priority is Priority.LOW
    assert first.model_fields_set is not other.model_fields_set


async def test_items_read_back_equal_validated_items(store: QueueStore) -> None:
    await store.enqueue(["alpha", "beta"], Priority.LOW, source="manual")
    claimed = await store.claim(Priority.LOW, 2, 30)
    listed = await store.list()
    for item in [*claimed, *listed]:
        assert item == QueueItem.model_validate(item.model_dump())
    assert {i.id for i in claimed} == {i.id for i in listed}
