"""The queue CSV file format (docs/queue.md, "CSV file"), pure functions with no I/O policy.

Columns: ``username,source,priority,timestamp,status,attempts,last_attempt,error_message,
request_id`` — compatible with the original system's file. Reading is forgiving where it is
safe (BOM, CRLF, quoted fields, any column order, extra columns, lower-case values, a missing
header) and strict where it matters: each row is validated by :class:`CsvRow`, and a bad row
becomes a :class:`RowError` with its line number while every good row still loads. Writing
neutralises spreadsheet formulas so a cell can never execute in Excel.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ValidationError, field_validator

from ..clock import from_iso
from ..models.queue import Priority, Status, normalize_source
from ..models.usernames import InvalidUsername, normalize_username

__all__ = [
    "COLUMNS",
    "CsvRow",
    "RowError",
    "ParsedCsv",
    "parse_csv",
    "render_csv",
    "neutralize",
    "unescape",
    "normalize_source",
]

COLUMNS = (
    "username",
    "source",
    "priority",
    "timestamp",
    "status",
    "attempts",
    "last_attempt",
    "error_message",
    "request_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_START = (*_FORMULA_START, "'")
# Physical lines exactly as the csv module sees them (it ends lines at \r, \n and \r\n only).
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def unescape(text: str) -> str:
    """Undo :func:`neutralize`: drop the one quote it put before a formula-like start."""
    return text[1:] if text.startswith("'") and text[1:2] in _ESCAPED_START and text[1:2] != "" else text


class CsvRow(BaseModel):
    username: str
    source: str = "csv"
    priority: Priority = Priority.LOW
    timestamp: datetime | None = None
    status: Status = Status.PENDING
    attempts: int = 0
    last_attempt: datetime | None = None
    error_message: str | None = None
    request_id: str | None = None

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: object) -> str:
        try:
            return normalize_username(value)
        except InvalidUsername as exc:
            raise ValueError(exc.reason) from None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: object) -> str:
        return normalize_source(unescape(str(value or "").strip()) or "csv")

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: object) -> Priority:
        text = str(value or "").strip()
        return Priority.parse(text) if text else Priority.LOW

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> Status:
        text = str(value or "").strip()
        return Status.parse(text) if text else Status.PENDING

    @field_validator("attempts", mode="before")
    @classmethod
    def _attempts(cls, value: object) -> int:
        text = str(value or "").strip()
        if not text:
            return 0
        if not text.isdigit() or len(text) > 6:
            raise ValueError(f"must be a whole number, got {text[:20]!r}")
        return int(text)

    @field_validator("timestamp", "last_attempt", mode="before")
    @classmethod
    def _time(cls, value: object) -> datetime | None:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return from_iso(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise ValueError(f"not an ISO-8601 time: {text[:40]!r}") from None

    @field_validator("error_message", "request_id", mode="before")
    @classmethod
    def _text(cls, value: object) -> str | None:
        # unescape before the trailing strip: "'\t" is a neutralised tab, not a stray quote
        return unescape(str(value or "").lstrip()).strip()[:2000] or None


@dataclass(frozen=True)
class RowError:
    """A malformed line: reported with its number, kept in the file for the operator.

    ``kept`` is the text written back: the line verbatim when it reads the same under the
    header the console writes, else its cells moved into that header's column order (a row
    under ``priority,username`` must keep meaning what the operator wrote). ``key`` identifies
    the row across such a rewrite, so it is reported once.
    """

    line: int
    message: str
    raw: str
    kept: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kept", self.kept or self.raw)
        object.__setattr__(self, "key", self.key or self.raw)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedCsv:
    rows: list[tuple[int, CsvRow]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    extras: dict[str, dict[str, str]] = field(default_factory=dict)

    def anchored_errors(self) -> list[tuple[str | None, str]]:
        """(username of the valid row before it, raw text) for every malformed line, for render_csv."""
        lines = [line for line, _ in self.rows]
        anchored = []
        for error in self.errors:
            if error.raw:
                before = bisect.bisect_left(lines, error.line)
                anchored.append((self.rows[before - 1][1].username if before else None, error.kept))
        return anchored


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_csv(data: bytes | str) -> ParsedCsv:
    """Parse a whole queue file. Never raises for bad content; errors are collected."""
    text = _decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")
    result = ParsedCsv()
    lines = _PHYSICAL_LINE.findall(text)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    end = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. an oversized field: report this record, keep reading
            start, end = end + 1, reader.line_num
            raw = "".join(lines[start - 1 : end]).rstrip("\r\n")
            result.errors.append(RowError(start, f"unreadable CSV record: {exc}", raw))  # kept verbatim
            continue
        start, end = end + 1, reader.line_num  # a quoted field may span several physical lines
        if not record or all(not cell.strip() for cell in record):
            continue
        if header is None:
            names = [unescape(c.strip()).lower() for c in record]
            if "username" in names:
                header = names
                result.extra_columns = [n for n in names if n and n not in COLUMNS]
                continue
            header = list(COLUMNS)
        _parse_record(result, header, record, start, "".join(lines[start - 1 : end]).rstrip("\r\n"))
    return result


def _parse_record(result: ParsedCsv, header: list[str], record: list[str], line: int, raw: str) -> None:
    values = {name: cell for name, cell in zip(header, record) if name}
    known = {k: v for k, v in values.items() if k in COLUMNS}
    try:
        row = CsvRow(**known)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        result.errors.append(_kept_error(result, header, record, line, problems, raw))
        return
    result.rows.append((line, row))
    extra = {k: unescape(v) for k, v in values.items() if k not in COLUMNS}  # written back neutralised
    if extra:
        result.extras[row.username] = extra


def _kept_error(result: ParsedCsv, header: list[str], record: list[str], line: int, message: str, raw: str) -> RowError:
    """A bad row as it must be written back under the console's header (see :class:`RowError`)."""
    written = [*COLUMNS, *result.extra_columns]
    unnamed = [cell for name, cell in zip(header, record) if not name] + record[len(header) :]
    named = {name: cell for name, cell in zip(header, record) if name}
    key = repr((sorted((k, unescape(v)) for k, v in named.items() if v.strip()), [unescape(c) for c in unnamed]))
    if header == written[: len(header)] and not unnamed:
        return RowError(line, message, raw, key=key)  # reads the same under the written header
    out = io.StringIO(newline="")
    cells = [named.get(name, "") for name in written] + unnamed
    csv.writer(out, lineterminator="").writerow([neutralize(unescape(cell)) for cell in cells])
    return RowError(line, message, raw, kept=out.getvalue(), key=key)


def neutralize(value: str) -> str:
    """Prefix a quote so spreadsheet programs show text instead of evaluating a formula.

    A value that already starts with a quote gets one too, so :func:`unescape` is exact.
    """
    return "'" + value if value.startswith(_ESCAPED_START) else value


def _cell(value: object) -> str:
    return neutralize("" if value is None else str(value))


def render_csv(
    rows: list[dict[str, str]], extra_columns: list[str], bad_lines: Sequence[tuple[str | None, str]]
) -> str:
    """Serialise rows (dicts keyed by column name) and keep the malformed lines verbatim.

    Each malformed line comes with the username of the valid row it followed (``None``: it came
    before every valid row) and is written back right after that row, so it stays where the
    operator put it and its reported line number stays meaningful. A line whose anchor is gone
    goes at the end.
    """
    after: dict[str | None, list[str]] = {}
    for anchor, raw in bad_lines:
        after.setdefault(anchor, []).append(raw)
    out = io.StringIO(newline="")
    # RFC 4180 line ends: the writer then quotes any cell holding \r or \n, so a stray CR in
    # an error message can never end a row early and smuggle in a new one.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *(neutralize(c) for c in extra_columns)])
    for raw in after.pop(None, []):
        out.write(raw + "\r\n")
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in (*COLUMNS, *extra_columns)])
        for raw in after.pop(row.get("username"), []):
            out.write(raw + "\r\n")
    for leftover in after.values():
        for raw in leftover:
            out.write(raw + "\r\n")
    return out.getvalue()
