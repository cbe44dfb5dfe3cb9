"""Start and stop a throwaway local Supabase-like stack: PostgreSQL + roles + auth + a REST layer.

    python scripts/supabase_local.py start [--dir DIR] [--env-file FILE]
    source DIR/env.sh            # SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_ANON_KEY, SUPABASE_DB_URL
    python scripts/supabase_local.py stop [--dir DIR]

Why a script of our own: PostgREST and Docker are not installable on the project's machines
(see docs/supabase.md, "Local stack"). The cluster is made with ``initdb``/``pg_ctl`` on free
loopback ports (as the ``postgres`` user when run as root: initdb refuses root), gets Supabase's
roles (``anon``, ``authenticated``, ``service_role`` with BYPASSRLS, ``authenticator``) and the
``auth.role()/auth.uid()/auth.jwt()`` functions reading ``request.jwt.claims``, and HS256 keys
signed with a local secret. The REST layer is the real ``postgrest`` binary when one is on PATH
(or ``POSTGREST_BIN``) behind a ``/rest/v1`` proxy, otherwise the PostgREST-compatible test
server in ``tests/supabase/pgrest_server.py``. The tests import this module (tests/supabase/conftest.py).
Settings are for a throwaway loopback cluster only (trust auth, fsync off).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "supabase" / "migrations"
TEST_SERVER = ROOT / "tests" / "supabase" / "pgrest_server.py"
JWT_SECRET = "viralspot-local-jwt-secret-with-at-least-32-characters"
AUTHENTICATOR_PASSWORD = "authenticator-local-only"
INSTALL_HINT = (
    "PostgreSQL 15+ is needed: `apt-get install -y postgresql` (Debian/Ubuntu) or set PG_BIN to its bin folder"
)

ROLES_SQL = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT; END IF;
END $$;
ALTER ROLE authenticator PASSWORD '{AUTHENTICATOR_PASSWORD}';
GRANT anon, authenticated, service_role TO authenticator;
"""

# What a new Supabase project has in each database before any migration of ours.
DATABASE_SQL = """
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), auth.jwt() ->> 'role')::text
$$;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub')::uuid
$$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;
"""


class StackError(RuntimeError):
    """The stack could not be started; the message says what to do."""


def find_pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl: PG_BIN, then the newest /usr/lib/postgresql/*/bin, then PATH."""
    env = os.environ.get("PG_BIN")
    if env:
        return Path(env) if (Path(env) / "initdb").exists() else None
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign_key(role: str, secret: str = JWT_SECRET) -> str:
    import jwt  # PyJWT comes with the supabase client (supabase-auth depends on it)

    return jwt.encode({"iss": "supabase-local", "role": role, "iat": 1700000000, "exp": 2000000000}, secret, "HS256")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgCluster:
    """One throwaway PostgreSQL cluster in ``root/data`` listening on 127.0.0.1:``port``."""

    def __init__(self, root: Path, port: int, pg_bin: Path) -> None:
        self.root, self.port, self.pg_bin = root, port, pg_bin
        self.data = root / "data"

    def url(self, db: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        cmd = [str(self.pg_bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        self._run(_as_postgres([*cmd, "--no-locale", "--no-sync"]))

    def start(self) -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = self.root / "postgres.log"
        self._run(
            _as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "start", "-o", opts])
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(StackError):
                self._run(_as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]))

    def psql(self, sql: str, db: str = "postgres") -> str:
        psql = self.pg_bin / "psql"
        exe = str(psql) if psql.exists() else (shutil.which("psql") or "psql")
        cmd = [exe, self.url(db), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"]
        done = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(f"psql on {db} failed: {done.stderr.strip()[:2000]}")
        return done.stdout

    def create_database(self, name: str, template: str | None = None) -> None:
        tmpl = f' TEMPLATE "{template}"' if template else ""
        self.psql(f'CREATE DATABASE "{name}"{tmpl};')

    def bootstrap(self, db: str) -> None:
        """Supabase's roles (cluster-wide) and per-database schemas, functions and privileges."""
        self.psql(ROLES_SQL)
        self.psql(DATABASE_SQL + f'ALTER DATABASE "{db}" SET search_path TO "$user", public, extensions;', db=db)

    @staticmethod
    def _run(cmd: list[str]) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(
                f"{Path(cmd[0]).name if cmd[0] != 'runuser' else cmd[4]} failed: {done.stderr.strip()[:2000]}"
            )


@dataclass
class RestLayer:
    """The REST process(es) serving /rest/v1 for one database."""

    api_url: str
    impl: str  # "compat" (tests/supabase/pgrest_server.py) or "postgrest"
    pids: list[int] = field(default_factory=list)


def _wait_http(url: str, procs: list[subprocess.Popen[bytes]], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise StackError(f"the REST layer exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.05)
    raise StackError(f"the REST layer did not answer on {url} within {timeout:.0f} s; see {log}")


def start_rest(cluster: PgCluster, db: str, api_port: int, log_dir: Path, secret: str = JWT_SECRET) -> RestLayer:
    db_url = cluster.url(db, "authenticator", AUTHENTICATOR_PASSWORD)
    log = log_dir / f"rest-{api_port}.log"
    out = open(log, "ab")  # noqa: SIM115 - handed to the child process
    procs: list[subprocess.Popen[bytes]] = []
    postgrest = os.environ.get("POSTGREST_BIN") or shutil.which("postgrest")
    if postgrest:
        pgrst_port = free_port()
        env = dict(
            os.environ,
            PGRST_DB_URI=db_url,
            PGRST_DB_SCHEMAS="public",
            PGRST_DB_ANON_ROLE="anon",
            PGRST_JWT_SECRET=secret,
            PGRST_SERVER_HOST="127.0.0.1",
            PGRST_SERVER_PORT=str(pgrst_port),
        )
        procs.append(subprocess.Popen([postgrest], env=env, stdout=out, stderr=out))
        proxy = [
            sys.executable,
            str(TEST_SERVER),
            "--port",
            str(api_port),
            "--proxy-to",
            f"http://127.0.0.1:{pgrst_port}",
        ]
        procs.append(subprocess.Popen(proxy, stdout=out, stderr=out))
        impl = "postgrest"
    else:
        cmd = [sys.executable, str(TEST_SERVER), "--db-url", db_url, "--port", str(api_port), "--jwt-secret", secret]
        procs.append(subprocess.Popen(cmd, stdout=out, stderr=out))
        impl = "compat"
    out.close()
    api_url = f"http://127.0.0.1:{api_port}"
    try:
        _wait_http(api_url + "/rest/v1/", procs, log)
    except StackError:
        for proc in procs:
            proc.kill()
        raise
    _CHILDREN.update((p.pid, p) for p in procs)
    return RestLayer(api_url=api_url, impl=impl, pids=[p.pid for p in procs])


# Child processes this interpreter started, kept so they are waited for (not left as zombies,
# and not garbage-collected while running).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def stop_pids(pids: list[int]) -> None:
    """Stop processes this module started (by their ids): SIGTERM, then SIGKILL after 3 s."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for pid in pids:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)
        else:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # zombies linger here until reaped (docs/supabase.md, "Local stack")


def apply_migrations(cluster: PgCluster, db: str) -> None:
    sys.path.insert(0, str(ROOT))
    from viralspot_tui.core.backends.supabase_migrate import apply_migrations_sync

    apply_migrations_sync(cluster.url(db), MIGRATIONS)


@dataclass
class StackInfo:
    dir: str
    pg_port: int
    api_port: int
    db: str
    api_url: str
    db_url: str
    rest_impl: str
    pids: list[int]

    def env(self) -> dict[str, str]:
        return {
            "SUPABASE_URL": self.api_url,
            "SUPABASE_SERVICE_ROLE_KEY": sign_key("service_role"),
            "SUPABASE_ANON_KEY": sign_key("anon"),
            "SUPABASE_DB_URL": self.db_url,
            "SUPABASE_REST_IMPL": self.rest_impl,
        }


def start_stack(root: Path, migrate: bool = True) -> StackInfo:
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise StackError(INSTALL_HINT)
    state = root / "state.json"
    if state.exists():
        raise StackError(
            f"{root} already holds a stack (state.json); stop it first: supabase_local.py stop --dir {root}"
        )
    cluster = PgCluster(root, free_port(), pg_bin)
    cluster.init()
    cluster.start()
    try:
        cluster.bootstrap("postgres")
        if migrate:
            apply_migrations(cluster, "postgres")
        rest = start_rest(cluster, "postgres", free_port(), root)
    except BaseException:
        cluster.stop()
        raise
    info = StackInfo(
        dir=str(root),
        pg_port=cluster.port,
        api_port=int(rest.api_url.rsplit(":", 1)[1]),
        db="postgres",
        api_url=rest.api_url,
        db_url=cluster.url("postgres"),
        rest_impl=rest.impl,
        pids=rest.pids,
    )
    state.write_text(json.dumps(asdict(info, dict_factory=dict) | {"pg_bin": str(pg_bin)}))
    return info


def stop_stack(root: Path, keep: bool = False) -> bool:
    state = root / "state.json"
    if not state.exists():
        return False
    data = json.loads(state.read_text())
    stop_pids(list(data.get("pids", [])))
    PgCluster(root, int(data["pg_port"]), Path(data["pg_bin"])).stop()
    state.unlink()
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Supabase-like stack for the ViralSpot console.")
    sub = parser.add_subparsers(dest="command", required=True)
    default_dir = os.environ.get("SUPA_DIR", str(Path(tempfile.gettempdir()) / "viralspot-supabase"))
    start = sub.add_parser("start", help="start PostgreSQL + REST layer and apply supabase/migrations")
    start.add_argument("--dir", default=default_dir)
    start.add_argument("--env-file", help="where to write the exports (default DIR/env.sh, mode 0600)")
    start.add_argument("--no-migrate", action="store_true", help="leave the database empty")
    stop = sub.add_parser("stop", help="stop the stack and delete its folder")
    stop.add_argument("--dir", default=default_dir)
    stop.add_argument("--keep", action="store_true", help="keep the folder (data and logs)")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    if args.command == "stop":
        print("stopped" if stop_stack(root, args.keep) else f"no stack in {root}")
        return 0
    try:
        info = start_stack(root, migrate=not args.no_migrate)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env_file = Path(args.env_file) if args.env_file else root / "env.sh"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(f"export {k}='{v}'\n" for k, v in info.env().items())
    print(f"REST {info.api_url}/rest/v1 ({info.rest_impl}), PostgreSQL {info.db_url}")
    print(f"keys and URLs: source {env_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
