"""The local SQLite schema: numbered migrations applied in order at open (see docs/schema.md).

Every table of every domain (queue, content, viral ideas, crawler) is declared in the SQL files
of ``migrations/`` — nowhere else, so no import order can leave a database without a table.
``PRAGMA user_version`` records the last migration applied; opening a database applies the
missing ones in one ``BEGIN IMMEDIATE`` transaction, re-reading the version inside it, so two
processes opening the same file at once never apply a migration twice. A file whose version
is above what this code knows was written by a newer viralspot: it is refused with
:class:`SchemaTooNew` rather than used with a schema the code does not understand.

Migration 1 is the schema of the release that had no version (``IF NOT EXISTS`` throughout),
so a database created by it — tables present, ``user_version`` 0 — is adopted unchanged.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Migration", "SchemaTooNew", "migrations", "latest_version", "migrate", "split_statements"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer viralspot than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"its schema is version {found}, newer than this viralspot understands (up to {known});"
            " upgrade viralspot, or point data_dir at another folder"
        )
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> list[str]:
    """Cut a SQL script into complete statements (trigger bodies keep their inner ``;``).

    Statements run one by one with ``execute`` inside the caller's transaction, instead of
    ``executescript``, whose transaction handling differs between Python versions.
    """
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:80]!r}")
    return statements


@lru_cache(maxsize=1)
def migrations() -> tuple[Migration, ...]:
    """The migrations shipped in ``migrations/``, numbered 1, 2, 3 … without gaps."""
    folder = resources.files(__package__).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, tuple(split_statements(entry.read_text("utf-8")))))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to :func:`latest_version`; returns the version it had before.

    Raises :class:`SchemaTooNew` for a database written by a newer release. A failing
    migration rolls back entirely: the file keeps its previous version and contents.
    """
    known = latest_version()
    before = user_version(conn)  # a cheap read first: the usual open has nothing to do
    if before > known:
        raise SchemaTooNew(before, known)
    if before == known:
        return before
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = user_version(conn)  # another process may have migrated meanwhile
        if before > known:
            raise SchemaTooNew(before, known)
        for migration in migrations()[before:]:
            for statement in migration.statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(known)}")  # a PRAGMA takes no parameters
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return before
