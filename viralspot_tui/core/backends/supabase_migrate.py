"""Apply the Supabase migrations (``supabase/migrations/*.sql``) through a Postgres connection.

Why a direct connection: the REST API cannot run DDL, so migrations go to the database itself
(Supabase's "connection string", as the ``postgres`` role). The files are applied in name order,
each in its own transaction, every time: each file is written to be safe to run twice, so there
is no version table to drift from the files (see docs/supabase.md, "Migrating a project"). The
``RAISE NOTICE`` lines a migration emits (for example how many duplicate rows it merged) are
returned so the command can show them. The connection string's password is never shown.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, field_validator

__all__ = [
    "MigrateTarget",
    "MigrationError",
    "MigrationResult",
    "apply_migrations",
    "apply_migrations_sync",
    "default_migrations_dir",
    "migration_files",
    "redact_dsn",
]

_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")


class MigrationError(RuntimeError):
    """A migration could not be applied; the message names the file and the server's reason.

    ``usage`` is true when the fault is in what the operator gave (folder, connection string),
    false when the database refused a migration.
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class MigrateTarget(BaseModel):
    """What the operator gave: a Postgres connection string and the folder of .sql files."""

    db_url: str
    directory: Path

    @field_validator("db_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("SUPABASE_DB_URL (or --db-url) must be a postgresql://user:password@host:port/db URL")
        return value


@dataclass(frozen=True)
class MigrationResult:
    name: str
    notices: list[str] = field(default_factory=list)


def redact_dsn(dsn: str) -> str:
    """The connection string with its password replaced, for messages."""
    return _PASSWORD.sub(r"\1***@", dsn)


def default_migrations_dir() -> Path:
    """``supabase/migrations`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "supabase" / "migrations"


def migration_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise MigrationError(f"migrations folder {directory} does not exist (pass --dir)", usage=True)
    files = sorted(directory.glob("*.sql"), key=lambda p: p.name)
    if not files:
        raise MigrationError(f"no .sql files in {directory}", usage=True)
    return files


async def apply_migrations(dsn: str, directory: Path, timeout: float = 30.0) -> list[MigrationResult]:
    """Apply every file in name order; stop at the first failure (its transaction rolls back)."""
    import asyncpg  # imported here: only this command needs a direct database connection

    files = migration_files(directory)
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise MigrationError(f"cannot connect to {redact_dsn(dsn)}: {exc}", usage=True) from None
    notices: list[str] = []
    conn.add_log_listener(lambda _conn, message: notices.append(str(message.message)))
    results: list[MigrationResult] = []
    try:
        for path in files:
            sql = path.read_text(encoding="utf-8")
            try:
                async with conn.transaction():
                    await conn.execute(sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{path.name}: {exc.sqlstate} {exc}") from None
            await asyncio.sleep(0)  # let the log listener run before the notices are taken
            results.append(MigrationResult(path.name, list(notices)))
            notices.clear()
        await conn.execute("NOTIFY pgrst, 'reload schema'")
    finally:
        await conn.close()
    return results


def apply_migrations_sync(dsn: str, directory: Path) -> list[MigrationResult]:
    return asyncio.run(apply_migrations(dsn, directory))
