"""``viralspot supabase migrate``: apply supabase/migrations/*.sql to a Supabase project's database.

The REST API cannot run DDL, so this command talks to Postgres directly through the project's
connection string (``SUPABASE_DB_URL`` or ``--db-url``; Supabase dashboard -> Connect -> "Direct
connection" or the session pooler, as the ``postgres`` role). Every file is applied in name order,
each in its own transaction, and every file is safe to run twice, so running the command again
after an upgrade is always right (see docs/supabase.md, "Migrating a project"). The connection
string's password is never printed. asyncpg is imported only when the command runs, so other
commands start fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_ERROR, EXIT_USAGE, echo_json, fail, run_async

__all__ = ["register", "supabase"]


def register(cli: click.Group) -> None:
    """Add the ``supabase`` command group to the main command line."""
    cli.add_command(supabase)


@click.group(name="supabase")
def supabase() -> None:
    """Supabase project maintenance (the queue itself uses SUPABASE_URL and the service key)."""


@supabase.command(name="migrate")
@click.option(
    "--db-url",
    envvar="SUPABASE_DB_URL",
    metavar="URL",
    help="Postgres connection string of the project, as the postgres role [env SUPABASE_DB_URL].",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the .sql files (default: supabase/migrations of this source tree).",
)
@click.option("--list", "list_only", is_flag=True, help="Print the files in the order they apply, and stop.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def migrate(db_url: str | None, directory: Path | None, list_only: bool, as_json: bool) -> None:
    """Apply every migration in name order (each is safe to run twice)."""
    from pydantic import ValidationError

    from ..core.backends.supabase_migrate import (
        MigrateTarget,
        MigrationError,
        apply_migrations,
        default_migrations_dir,
        migration_files,
        redact_dsn,
    )

    folder = directory or default_migrations_dir()
    if list_only:
        try:
            files = migration_files(folder)
        except MigrationError as exc:
            fail(str(exc), code=EXIT_USAGE)
        for path in files:
            click.echo(str(path))
        return
    if not db_url:
        fail("SUPABASE_DB_URL is not set (or pass --db-url): the project's Postgres connection string", EXIT_USAGE)
    try:
        options = MigrateTarget(db_url=db_url, directory=folder)
    except ValidationError as exc:
        fail("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()), EXIT_USAGE)
    try:
        results = run_async(apply_migrations(options.db_url, options.directory))
    except MigrationError as exc:
        fail(str(exc), code=EXIT_USAGE if exc.usage else EXIT_ERROR)
    reports = [{"file": r.name, "notices": [n for n in r.notices if n.startswith("viralspot")]} for r in results]
    if as_json:
        echo_json({"database": redact_dsn(options.db_url), "applied": reports})
        return
    click.echo(f"applied {len(reports)} migration(s) to {redact_dsn(options.db_url)}")
    for report in reports:
        click.echo(f"  {report['file']}")
        for notice in report["notices"]:
            click.echo(f"    {notice}")
