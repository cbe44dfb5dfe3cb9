"""A PostgREST-compatible test server (aiohttp + asyncpg), used when no ``postgrest`` binary is on PATH.

PostgREST cannot be installed on the project's machines, so the Supabase tests talk to this
instead: real HTTP, real JWT roles, real PostgreSQL with row-level security. It behaves like
PostgREST where the console depends on it (see docs/supabase.md, "The REST layer"): one
transaction per request (READ ONLY for GET and for rpc of STABLE functions), the role and
``request.jwt.claims`` set with ``set_config(..., true)``, JSON in and out, rpc arguments by name,
PostgREST's error JSON and SQLSTATE -> HTTP table, and a schema cache refreshed only at start and
on ``NOTIFY pgrst, 'reload schema'``. It serves ``/rest/v1/...`` and ``/...`` alike.

It can also run as a prefix-stripping proxy (``--proxy-to``) in front of a real PostgREST.
Either way it counts the requests it serves (``request_counter``), so a benchmark counts REST
calls at the REST layer, not inside the client it measures.

Run: ``python tests/supabase/pgrest_server.py --db-url URL --port N --jwt-secret S``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgrest_proxy import make_proxy, request_counter  # noqa: E402
from pgrest_sql import ApiError, SchemaCache, build_filters, pg_error_status, quote_ident  # noqa: E402

# PostgreSQL unreachable, shutting down or starting up: PostgREST answers 503 and reconnects.
_DB_DOWN = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
_RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_OBJECT = "application/vnd.pgrst.object+json"


class RestServer:
    def __init__(self, db_url: str, jwt_secret: str, schema: str = "public", anon_role: str = "anon") -> None:
        self.db_url, self.secret, self.schema, self.anon_role = db_url, jwt_secret, schema, anon_role
        self.cache = SchemaCache(schema)
        self.pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.db_url, min_size=0, max_size=8)
        await self._listen()

    async def _listen(self) -> None:
        self._listener = await asyncpg.connect(self.db_url)
        await self._listener.add_listener("pgrst", self._on_notify)
        self._listener.add_termination_listener(lambda _conn: asyncio.get_running_loop().create_task(self._relisten()))
        await self.cache.load(self._listener)

    async def _relisten(self) -> None:
        """PostgreSQL went away: reconnect the listener and reload the schema cache, as PostgREST does."""
        while True:
            try:
                await self._listen()
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        if self.pool is not None:
            await self.pool.close()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if payload.strip() in ("", "reload schema"):
            asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        assert self._listener is not None and self.pool is not None
        await self.cache.load(self._listener)
        self.pool.expire_connections()  # prepared statements may name dropped objects

    # ------------------------------------------------------------------------- auth
    def _claims(self, request: web.Request) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        if not header:
            return {"role": self.anon_role}
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "PGRST301", "Authorization header must be 'Bearer <JWT>'")
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "PGRST303", "JWT expired")
        except jwt.PyJWTError as exc:
            raise ApiError(401, "PGRST301", f"JWSError {type(exc).__name__}", details=str(exc))
        return dict(claims, role=claims.get("role", self.anon_role))

    # ------------------------------------------------------------------------- dispatch
    async def handle(self, request: web.Request) -> web.StreamResponse:
        role = self.anon_role
        try:
            claims = self._claims(request)
            role = str(claims["role"])
            path = request.match_info.get("path", "").strip("/")
            if not path:
                return web.json_response(
                    {"tables": sorted(self.cache.tables), "functions": sorted(self.cache.functions)}
                )
            if path.startswith("rpc/"):
                return await self._rpc(request, path[4:], claims)
            return await self._table(request, path, claims)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except _DB_DOWN as exc:
            assert self.pool is not None
            self.pool.expire_connections()
            error = ApiError(503, "PGRST001", "Database client error. Retrying the connection.", details=str(exc))
            return web.json_response(error.body(), status=503)
        except asyncpg.PostgresError as exc:
            body = {"code": exc.sqlstate, "message": exc.message, "details": exc.detail, "hint": exc.hint}
            return web.json_response(body, status=pg_error_status(exc.sqlstate or "XX000", role))

    async def _run(self, claims: dict[str, Any], read_only: bool, sql: str, *args: Any) -> Any:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            async with conn.transaction(isolation="read_committed", readonly=read_only):
                await conn.execute(
                    "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
                    str(claims["role"]),
                    json.dumps(claims),
                )
                return await conn.fetchrow(sql, *args)

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        if not request.can_read_body:
            return {}
        try:
            return json.loads(await request.read() or b"{}")
        except ValueError as exc:
            raise ApiError(400, "PGRST102", "Empty or invalid json", details=str(exc))

    @staticmethod
    def _prefer(request: web.Request) -> set[str]:
        return {p.strip() for p in request.headers.get("Prefer", "").split(",") if p.strip()}

    def _respond(self, request: web.Request, text: str | None, status: int, count: int | None = None) -> web.Response:
        rows = json.loads(text) if text is not None else []
        headers: dict[str, str] = {}
        if isinstance(rows, list):
            headers["Content-Range"] = (
                f"0-{len(rows) - 1}/{'*' if count is None else count}"
                if rows
                else (f"*/{'*' if count is None else count}")
            )
        if _OBJECT in request.headers.get("Accept", "") and isinstance(rows, list):
            if len(rows) != 1:
                raise ApiError(
                    406,
                    "PGRST116",
                    "JSON object requested, multiple (or no) rows returned",
                    details=f"The result contains {len(rows)} rows",
                )
            rows = rows[0]
        if request.method == "HEAD":
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, text=json.dumps(rows), content_type="application/json", headers=headers)

    # ------------------------------------------------------------------------- rpc
    async def _rpc(self, request: web.Request, name: str, claims: dict[str, Any]) -> web.Response:
        if request.method == "GET":
            args: dict[str, Any] = {k: v for k, v in request.query.items()}
        elif request.method == "POST":
            args = await self._json_body(request)
            if not isinstance(args, dict):
                raise ApiError(400, "PGRST102", "rpc arguments must be a JSON object")
        else:
            raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
        fn = self.cache.function(name, set(args))
        given = [a for a in fn.args if a[0] in args]
        # POST: JSON values typed by json_to_record; GET: query strings, cast to each argument's type
        as_text = request.method == "GET"
        record = ", ".join(f"{quote_ident(n)} {'text' if as_text else t}" for n, t, _ in given) or "_none int"
        values = [f"CAST(_a.{quote_ident(n)} AS {t})" if as_text else f"_a.{quote_ident(n)}" for n, t, _ in given]
        call = (
            f"{quote_ident(self.schema)}.{quote_ident(fn.name)}("
            + ", ".join(f"{quote_ident(n)} := {v}" for (n, _, _), v in zip(given, values))
            + ")"
        )
        src = f"json_to_record($1::json) AS _a({record})"
        if fn.returns_set or fn.returns_composite:
            sql = f"SELECT coalesce(json_agg(_r), '[]')::text FROM {src}, LATERAL {call} AS _r"
        else:
            sql = f"SELECT to_json({call})::text FROM {src}"
        read_only = request.method == "GET" or fn.volatility != "v"
        row = await self._run(claims, read_only, sql, json.dumps(args))
        text = row[0]
        if fn.returns_composite and not fn.returns_set:
            rows = json.loads(text)
            text = json.dumps(rows[0] if rows else None)
        return self._respond(request, text, 200)

    # ------------------------------------------------------------------------- tables
    def _filters(self, request: web.Request) -> list[tuple[str, str]]:
        return [(k, v) for k, v in request.query.items() if k not in _RESERVED]

    def _select_list(self, table: Any, text: str) -> str:
        if text.strip() in ("", "*"):
            return "_t.*"
        parts = []
        for item in text.split(","):
            item = item.strip()
            item, _, cast = item.partition("::")
            alias, _, col = item.rpartition(":")
            if col == "*":
                parts.append("_t.*")
                continue
            if col not in table.columns:
                raise ApiError(400, "42703", f"column {table.name}.{col} does not exist")
            expr = f"_t.{quote_ident(col)}" + (f"::{quote_ident(cast)}" if cast else "")
            parts.append(f"{expr} AS {quote_ident(alias or col)}")
        return ", ".join(parts)

    def _order(self, table: Any, text: str | None) -> str:
        if not text:
            return ""
        terms = []
        for term in text.split(","):
            col, *mods = term.strip().split(".")
            if col not in table.columns:
                raise ApiError(400, "42703", f"column {table.name}.{col} does not exist")
            direction = " DESC" if "desc" in mods else " ASC"
            nulls = " NULLS FIRST" if "nullsfirst" in mods else " NULLS LAST" if "nullslast" in mods else ""
            terms.append(f"_t.{quote_ident(col)}{direction}{nulls}")
        return " ORDER BY " + ", ".join(terms)

    async def _table(self, request: web.Request, name: str, claims: dict[str, Any]) -> web.Response:
        table = self.cache.table(name)
        target = f"{quote_ident(self.schema)}.{quote_ident(name)}"
        values: list[Any] = []
        conds = build_filters(table, self._filters(request), values)
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        prefer = self._prefer(request)
        if request.method in ("GET", "HEAD"):
            limit = self._int(request, "limit")
            offset = self._int(request, "offset")
            inner = f"SELECT {self._select_list(table, request.query.get('select', '*'))} FROM {target} _t{where}"
            inner += self._order(table, request.query.get("order"))
            inner += f" LIMIT {limit}" if limit is not None else ""
            inner += f" OFFSET {offset}" if offset is not None else ""
            counted = "count=exact" in prefer
            count_sql = f"(SELECT count(*) FROM {target} _t{where})" if counted else "NULL::bigint"
            sql = f"SELECT coalesce(json_agg(_s), '[]')::text, {count_sql} FROM ({inner}) _s"
            row = await self._run(claims, True, sql, *values)
            return self._respond(request, row[0], 200, row[1])
        minimal = "return=minimal" in prefer
        if request.method == "POST":
            return await self._insert(request, table, target, claims, prefer, minimal)
        if request.method == "PATCH":
            body = await self._json_body(request)
            if not isinstance(body, dict) or not body:
                raise ApiError(400, "PGRST102", "PATCH body must be a non-empty JSON object")
            self._check_columns(table, body)
            values.append(json.dumps(body))
            sets = ", ".join(f"{quote_ident(c)} = _r.{quote_ident(c)}" for c in body)
            sql = (
                f"WITH _w AS (UPDATE {target} _t SET {sets} FROM json_populate_record(NULL::{target}, ${len(values)}::json) _r"
                f"{where} RETURNING _t.*) SELECT coalesce(json_agg(_w), '[]')::text FROM _w"
            )
        elif request.method == "DELETE":
            sql = f"WITH _w AS (DELETE FROM {target} _t{where} RETURNING _t.*) SELECT coalesce(json_agg(_w), '[]')::text FROM _w"
        else:
            raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
        row = await self._run(claims, False, sql, *values)
        return web.Response(status=204) if minimal else self._respond(request, row[0], 200)

    async def _insert(
        self, request: web.Request, table: Any, target: str, claims: dict[str, Any], prefer: set[str], minimal: bool
    ) -> web.Response:
        body = await self._json_body(request)
        rows = body if isinstance(body, list) else [body]
        if not rows or not all(isinstance(r, dict) for r in rows):
            raise ApiError(400, "PGRST102", "insert body must be a JSON object or an array of objects")
        columns_param = request.query.get("columns")
        cols = (
            [c.strip().strip('"') for c in columns_param.split(",")]
            if columns_param
            else list(dict.fromkeys(k for r in rows for k in r))
        )
        self._check_columns(table, dict.fromkeys(cols))
        col_sql = ", ".join(quote_ident(c) for c in cols)
        sql = (
            f"INSERT INTO {target} ({col_sql}) SELECT {col_sql} FROM json_populate_recordset(NULL::{target}, $1::json)"
        )
        on_conflict = request.query.get("on_conflict")
        if "resolution=merge-duplicates" in prefer or "resolution=ignore-duplicates" in prefer:
            keys = [c.strip() for c in on_conflict.split(",")] if on_conflict else table.primary_key
            self._check_columns(table, dict.fromkeys(keys))
            sql += f" ON CONFLICT ({', '.join(quote_ident(k) for k in keys)})"
            updates = [c for c in cols if c not in keys]
            if "resolution=ignore-duplicates" in prefer or not updates:
                sql += " DO NOTHING"
            else:
                sql += " DO UPDATE SET " + ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in updates)
        sql = f"WITH _w AS ({sql} RETURNING *) SELECT coalesce(json_agg(_w), '[]')::text FROM _w"
        row = await self._run(claims, False, sql, json.dumps(rows))
        return web.Response(status=201) if minimal else self._respond(request, row[0], 201)

    @staticmethod
    def _check_columns(table: Any, body: dict[str, Any]) -> None:
        for col in body:
            if col not in table.columns:
                raise ApiError(
                    400, "PGRST204", f"Could not find the '{col}' column of '{table.name}' in the schema cache"
                )

    @staticmethod
    def _int(request: web.Request, key: str) -> int | None:
        raw = request.query.get(key)
        if raw is None:
            return None
        if not raw.isdigit():
            raise ApiError(400, "PGRST100", f'"failed to parse {key} ({raw})"')
        return int(raw)


def make_app(server: RestServer) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    request_counter(app)
    for prefix in ("/rest/v1", ""):
        app.router.add_route("*", prefix + "/{path:.*}", server.handle)
    return app


async def _serve(args: argparse.Namespace) -> None:
    if args.proxy_to:
        app = make_proxy(args.proxy_to)
    else:
        server = RestServer(args.db_url, args.jwt_secret, args.schema)
        await server.start()
        app = make_app(server)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", help="postgresql://authenticator@127.0.0.1:PORT/DB")
    parser.add_argument("--jwt-secret")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--schema", default="public")
    parser.add_argument("--proxy-to", help="run as a /rest/v1 prefix-stripping proxy to this PostgREST URL")
    args = parser.parse_args()
    if not args.proxy_to and not (args.db_url and args.jwt_secret):
        parser.error("--db-url and --jwt-secret are required unless --proxy-to is given")
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
