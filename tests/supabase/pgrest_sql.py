"""SQL building for the PostgREST-compatible test server: schema cache, filters, error mapping.

Kept apart from the HTTP layer (pgrest_server.py) so each stays one idea. It builds statements
the way PostgREST does (see docs/supabase.md, "The REST layer"): rows in and out as JSON,
``json_populate_recordset`` for writes, ``json_to_record`` for rpc arguments by name, identifiers
quoted, every value a bind parameter. Only the subset the console uses is served.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "SchemaCache", "Function", "Table", "build_filters", "pg_error_status", "quote_ident"]


class ApiError(Exception):
    """An error answered as PostgREST's JSON ``{code, message, details, hint}``."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.hint = status, code, message, details, hint

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Table:
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> SQL type
    primary_key: list[str] = field(default_factory=list)


@dataclass
class Function:
    name: str
    args: list[tuple[str, str, bool]]  # (name, SQL type, has default)
    returns_set: bool
    returns_composite: bool
    volatility: str  # 'v' | 's' | 'i'


_TABLES_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(a.attnum = ANY (i.indkey), false) AS is_pk
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
 ORDER BY c.relname, a.attnum
"""

_FUNCTIONS_SQL = """
SELECT p.proname, p.proargnames, p.proargmodes::text[], p.pronargs, p.pronargdefaults, p.proretset,
       p.provolatile::text, t.typtype::text,
       ARRAY(SELECT format_type(x, NULL) FROM unnest(p.proargtypes::oid[]) AS x) AS argtypes
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_type t ON t.oid = p.prorettype
 WHERE n.nspname = $1 AND p.prokind = 'f'
"""


class SchemaCache:
    """Tables and functions of one schema, read at start and on ``NOTIFY pgrst, 'reload schema'``."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.tables: dict[str, Table] = {}
        self.functions: dict[str, list[Function]] = {}

    async def load(self, conn: Any) -> None:
        tables: dict[str, Table] = {}
        for rel, col, typ, is_pk in await conn.fetch(_TABLES_SQL, self.schema):
            table = tables.setdefault(rel, Table(rel))
            table.columns[col] = typ
            if is_pk:
                table.primary_key.append(col)
        functions: dict[str, list[Function]] = {}
        for row in await conn.fetch(_FUNCTIONS_SQL, self.schema):
            names = list(row["proargnames"] or [])
            modes = list(row["proargmodes"] or ["i"] * len(names))
            in_names = [n for n, m in zip(names, modes) if m in ("i", "b", "v")][: row["pronargs"]]
            if len(in_names) < row["pronargs"]:
                continue  # unnamed arguments cannot be called by name
            first_default = row["pronargs"] - row["pronargdefaults"]
            args = [(n, t, i >= first_default) for i, (n, t) in enumerate(zip(in_names, row["argtypes"]))]
            functions.setdefault(row["proname"], []).append(
                Function(
                    name=row["proname"],
                    args=args,
                    returns_set=row["proretset"],
                    returns_composite=row["typtype"] == "c" or "t" in modes or "o" in modes,
                    volatility=row["provolatile"],
                )
            )
        self.tables, self.functions = tables, functions

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ApiError(
                404,
                "PGRST205",
                f"Could not find the table '{self.schema}.{name}' in the schema cache",
                hint=None,
            )
        return table

    def function(self, name: str, given: set[str]) -> Function:
        """PostgREST's overload choice: the function whose argument names fit the given keys."""
        for fn in self.functions.get(name, []):
            names = {a[0] for a in fn.args}
            required = {a[0] for a in fn.args if not a[2]}
            if given <= names and required <= given:
                return fn
        listed = ", ".join(sorted(given))
        raise ApiError(
            404,
            "PGRST202",
            f"Could not find the function {self.schema}.{name}({listed}) in the schema cache",
            details="Searched for the function with the given argument names, but no matches were found in the schema cache.",
        )


_OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "like": "LIKE", "ilike": "ILIKE"}


def _parse_in(text: str) -> list[str]:
    if not (text.startswith("(") and text.endswith(")")):
        raise ApiError(400, "PGRST100", f'"failed to parse filter (in.{text})"')
    inner = text[1:-1]
    return next(csv.reader([inner], skipinitialspace=True)) if inner else []


def build_filters(table: Table, params: list[tuple[str, str]], values: list[Any], alias: str = "_t") -> list[str]:
    """WHERE conditions for ``col=op.value`` query parameters; values are appended as binds."""
    conds: list[str] = []
    for col, raw in params:
        if col not in table.columns:
            raise ApiError(400, "42703", f"column {table.name}.{col} does not exist")
        typ = table.columns[col]
        ref = f"{alias}.{quote_ident(col)}"
        negate = raw.startswith("not.")
        expr = raw[4:] if negate else raw
        op, _, value = expr.partition(".")
        if op == "is":
            keyword = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}.get(value.lower())
            if keyword is None:
                raise ApiError(400, "PGRST100", f'"failed to parse filter (is.{value})"')
            cond = f"{ref} IS {keyword}"
        elif op == "in":
            values.append(_parse_in(value))
            cond = f"{ref} = ANY (CAST(${len(values)}::text[] AS {typ}[]))"
        elif op in _OPS:
            if op in ("like", "ilike"):
                values.append(value.replace("*", "%"))
                cond = f"{ref}::text {_OPS[op]} ${len(values)}::text"
            else:
                values.append(value)
                cond = f"{ref} {_OPS[op]} CAST(${len(values)}::text AS {typ})"
        else:
            raise ApiError(400, "PGRST100", f'"failed to parse filter ({raw})"', details=f"unknown operator {op!r}")
        conds.append(f"NOT ({cond})" if negate else cond)
    return conds


def pg_error_status(sqlstate: str, role: str) -> int:
    """PostgREST's SQLSTATE -> HTTP status table."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "P0001": 400,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
        "42501": 401 if role == "anon" else 403,
    }
    if sqlstate in exact:
        return exact[sqlstate]
    prefix = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return prefix.get(sqlstate[:2], 400)
