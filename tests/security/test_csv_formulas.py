"""The queue CSV never carries a live spreadsheet formula, in any column (docs/performance.md).

Cells that start with ``= + - @``, a tab or a CR get a leading quote. Checked on the pure
renderer with arbitrary text in every column, and end to end: an API error message and an
operator's extra column travel through SQLite into the file written by the CSV backend.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import make_settings

from viralspot_tui.core.backends.csv_format import COLUMNS, parse_csv, render_csv

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "=1\n=2",
    "'=already quoted",
]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _assert_no_live_formula(text: str) -> None:
    for row in _cells(text):
        for cell in row:
            assert not cell.startswith(DANGEROUS), f"live formula cell {cell!r}"


cell_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(PAYLOADS),
    st.tuples(st.sampled_from(DANGEROUS), st.text(max_size=10)).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.fixed_dictionaries({c: cell_text for c in COLUMNS}),
    extra=st.lists(
        st.tuples(st.from_regex(r"[=+@a-z-][a-z0-9_=+-]{0,8}", fullmatch=True), cell_text),
        max_size=3,
        unique_by=lambda t: t[0].lower(),
    ),
)
def test_every_written_cell_is_neutral(values: dict[str, str], extra: list[tuple[str, str]]) -> None:
    extra_columns = [name.lower() for name, _ in extra if name.lower() not in COLUMNS]
    row = {**values, **{name.lower(): v for name, v in extra}}
    text = render_csv([row], extra_columns, [])
    _assert_no_live_formula(text)
    header = _cells(text)[0]
    assert len(header) == len(COLUMNS) + len(extra_columns)


@settings(max_examples=100, deadline=None)
@given(message=cell_text)
def test_error_messages_round_trip_through_the_file(message: str) -> None:
    row = {
        "username": "alice",
        "source": "manual",
        "priority": "HIGH",
        "status": "FAILED",
        "attempts": "3",
        "error_message": message,
    }
    parsed = parse_csv(render_csv([row], [], []))
    assert not parsed.errors
    [(_, back)] = parsed.rows
    assert (back.error_message or "").strip() == message.strip()[:2000].strip()


def test_extra_column_headers_are_neutral_and_stable() -> None:
    text = "username,=evil()\nalice,=1+1\n"
    parsed = parse_csv(text)
    rows = [
        {
            "username": "alice",
            "source": "csv",
            "priority": "LOW",
            "status": "PENDING",
            "attempts": "0",
            **parsed.extras["alice"],
        }
    ]
    once = render_csv(rows, parsed.extra_columns, [])
    _assert_no_live_formula(once)
    again = parse_csv(once)  # a second round trip keeps the same column and value, quoted once
    assert again.extra_columns == parsed.extra_columns == ["=evil()"]
    assert render_csv([{**rows[0], **again.extras["alice"]}], again.extra_columns, []) == once


async def test_api_errors_and_operator_columns_are_neutralised_in_the_queue_file(tmp_path: Path) -> None:
    from viralspot_tui.core.backends.csv_backend import CsvBackend
    from viralspot_tui.core.models.queue import Priority
    from viralspot_tui.core.runtime import Runtime

    queue_file = tmp_path / "queue.csv"
    queue_file.write_text(
        "username,source,priority,notes\nalice,manual,HIGH,@notes\nbob,manual,HIGH,ok\n", encoding="utf-8"
    )
    runtime = await Runtime.open(make_settings(tmp_path), with_providers=False)
    try:
        backend = CsvBackend(runtime, queue_file)
        await backend.start()
        names = [f"user{i}" for i in range(len(PAYLOADS))]
        await runtime.queue.enqueue(names, Priority.HIGH, request_id="-req")
        claimed = await runtime.queue.claim(Priority.HIGH, 100, 30)
        by_name = {i.username: i for i in claimed}
        for name, payload in zip(names, PAYLOADS):
            await runtime.queue.fail(by_name[name], f"{payload}", permanent=True)
        await backend.stop()
    finally:
        await runtime.close()
    text = queue_file.read_bytes().decode("utf-8")
    _assert_no_live_formula(text)
    parsed = parse_csv(text)
    assert not parsed.errors
    errors = {row.username: row.error_message for _, row in parsed.rows}
    for name, payload in zip(names, PAYLOADS):
        assert errors[name].strip() == payload.strip(), (name, errors[name])
    assert parsed.extras["alice"]["notes"] == "@notes"  # the operator's value, quoted only in the file
