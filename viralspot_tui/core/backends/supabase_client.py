"""A thin async client for the Supabase queue functions (see docs/supabase.md, "Functions").

One method per SQL function, called with ``rpc()`` through the official async ``supabase``
client. Every answer is validated into a pydantic model before the backend or the operations
layer use it, so a project with other (or missing) migrations fails with a clear message instead
of a ``KeyError`` deep in the engine. Every failure becomes one :class:`SupabaseError` that says
whether trying again can help (``transient``: timeouts, refused connections, 5xx, PostgREST's
``PGRST00x``, serialization failures) or not (a wrong key, functions not migrated, bad
arguments). The service key is never part of a message: errors are built from the error code
and the server's text, and :func:`viralspot_tui.core.redaction.redact` masks it anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...config import ConfigError
from ..redaction import redact

__all__ = [
    "SupabaseError",
    "SupabaseQueue",
    "RemoteRow",
    "EnqueueRow",
    "HeartbeatAnswer",
    "CompleteAnswer",
    "FailAnswer",
    "ReleaseAnswer",
    "BeatAnswer",
    "supabase_host",
]

TIMEOUT_SECONDS = 10.0


class SupabaseError(Exception):
    """A failed call; ``transient`` says whether the same call may succeed later."""

    def __init__(self, message: str, *, transient: bool, code: str | None = None) -> None:
        super().__init__(redact(message))
        self.transient = transient
        self.code = code


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RemoteRow(_Model):
    """One ``public.queue`` row as the functions return it."""

    id: str
    username: str
    priority: str
    status: str
    source: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    error_message: str | None = None
    not_before: datetime | None = None
    lease_owner: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    request_id: str | None = None


class EnqueueRow(_Model):
    username: str
    outcome: str
    priority: str
    status: str
    item_id: str | None = None


class Renewed(_Model):
    id: str
    token: str
    priority: str
    lease_expires_at: datetime


class HeartbeatAnswer(_Model):
    renewed: list[Renewed] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    high_waiting: bool = False


class CompleteAnswer(_Model):
    completed: list[dict[str, Any]] = Field(default_factory=list)
    already: list[dict[str, Any]] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    claimed: list[RemoteRow] = Field(default_factory=list)
    high_waiting: bool = False


class FailAnswer(_Model):
    ok: bool = False
    outcome: str
    status: str | None = None
    attempts: int | None = None


class ReleaseAnswer(_Model):
    released: list[dict[str, Any]] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    high_waiting: bool = False


class BeatAnswer(_Model):
    live: int = 1
    index: int = 0
    consoles: list[dict[str, Any]] = Field(default_factory=list)
    controls: dict[str, Any] = Field(default_factory=dict)
    high_waiting: bool = False
    queue: dict[str, int] = Field(default_factory=dict)  # {"waiting": n, "running": n} on the server


class RemovedRow(_Model):
    username: str
    removed: int


def supabase_host(url: str) -> str:
    return urlparse(url).hostname or url


def classify(exc: BaseException, function: str) -> SupabaseError:
    """Turn a client exception into a :class:`SupabaseError` (never echoing the key)."""
    import httpx
    from postgrest.exceptions import APIError

    where = f"Supabase {function}"
    if isinstance(exc, SupabaseError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return SupabaseError(f"{where}: timed out", transient=True)
    if isinstance(exc, httpx.TransportError):
        return SupabaseError(f"{where}: cannot reach the server ({type(exc).__name__})", transient=True)
    if isinstance(exc, APIError):
        code = str(exc.code or "")
        text = f"{where}: {code} {exc.message or ''}".strip()
        if code.startswith("PGRST3") or code in ("401", "403", "42501"):
            return SupabaseError(
                f"{text}: the server refused SUPABASE_SERVICE_ROLE_KEY (wrong or expired key?)",
                transient=False,
                code=code,
            )
        if code == "PGRST202":
            return SupabaseError(
                f"{text}: the project lacks the console's functions; run `viralspot supabase migrate`",
                transient=False,
                code=code,
            )
        transient = code.startswith(("PGRST00", "5", "40", "53", "57", "08"))
        return SupabaseError(text, transient=transient, code=code)
    return SupabaseError(f"{where}: {type(exc).__name__}: {exc}", transient=True)


class SupabaseQueue:
    """The queue functions of one project, through one async client (``await connect()`` first)."""

    def __init__(self, url: str, key: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self.host = supabase_host(url)
        self._key = key
        self._timeout = timeout
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Any) -> SupabaseQueue:
        """Built from ``supabase.url`` / ``supabase.service_role_key``; a missing one is a ConfigError."""
        sb = settings.supabase
        if not sb.url:
            raise ConfigError("SUPABASE_URL is not set: it is needed for the Supabase queue backend")
        if sb.service_role_key is None:
            raise ConfigError("SUPABASE_SERVICE_ROLE_KEY is not set: it is needed for the Supabase queue backend")
        parsed = urlparse(sb.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"SUPABASE_URL {sb.url!r} is not an http(s) URL (https://<ref>.supabase.co)")
        return cls(sb.url, sb.service_role_key.get_secret_value())

    async def connect(self) -> None:
        if self._client is not None:
            return
        from supabase.lib.client_options import AsyncClientOptions

        from supabase import acreate_client

        options = AsyncClientOptions(
            postgrest_client_retry=False,
            postgrest_client_timeout=self._timeout,
            auto_refresh_token=False,
            persist_session=False,
        )
        try:
            self._client = await acreate_client(self.url, self._key, options)
        except Exception as exc:  # noqa: BLE001 - e.g. a malformed key: say which variable
            raise ConfigError(
                f"cannot create a Supabase client for {self.host}: {type(exc).__name__}"
                " (check SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY)"
            ) from None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.postgrest.aclose()

    async def call(self, function: str, **args: Any) -> Any:
        await self.connect()
        try:
            return (await self._client.rpc(function, args).execute()).data
        except Exception as exc:  # noqa: BLE001 - classified into one error type
            raise classify(exc, function) from None

    @staticmethod
    def _parse(model: type[BaseModel], data: Any, function: str, *, many: bool = False) -> Any:
        try:
            if many:
                return [model.model_validate(r) for r in data]
            return model.model_validate(data)
        except ValidationError as exc:
            raise SupabaseError(
                f"Supabase {function}: unexpected answer ({exc.error_count()} problem(s), first:"
                f" {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}); are the migrations current?",
                transient=False,
            ) from None

    async def _rows(self, model: type[BaseModel], function: str, **args: Any) -> list[Any]:
        data = await self.call(function, **args)
        if not isinstance(data, list):
            raise SupabaseError(f"Supabase {function}: expected rows, got {type(data).__name__}", transient=False)
        return self._parse(model, data, function, many=True)

    async def _one(self, model: type[BaseModel], function: str, **args: Any) -> Any:
        return self._parse(model, await self.call(function, **args), function)

    # ------------------------------------------------------------------ the queue
    async def enqueue(self, items: list[dict[str, Any]]) -> list[EnqueueRow]:
        return await self._rows(EnqueueRow, "queue_enqueue", p_items=items)

    async def claim(
        self, owner: str, request_id: str, limit: int, lease_seconds: float, low_limit: int | None = None
    ) -> list[RemoteRow]:
        return await self._rows(
            RemoteRow,
            "queue_claim",
            p_owner=owner,
            p_request_id=request_id,
            p_limit=limit,
            p_lease_seconds=lease_seconds,
            p_low_limit=low_limit,
        )

    async def heartbeat(self, tokens: list[str], lease_seconds: float) -> HeartbeatAnswer:
        return await self._one(HeartbeatAnswer, "queue_heartbeat", p_tokens=tokens, p_lease_seconds=lease_seconds)

    async def complete(
        self,
        tokens: list[str],
        *,
        owner: str | None = None,
        request_id: str | None = None,
        claim_limit: int = 0,
        lease_seconds: float = 60.0,
        low_limit: int | None = None,
    ) -> CompleteAnswer:
        """Complete leased items and, with ``claim_limit``, claim the next ones in the same call."""
        if claim_limit <= 0:
            return await self._one(CompleteAnswer, "queue_complete", p_tokens=tokens)
        return await self._one(
            CompleteAnswer,
            "queue_complete",
            p_tokens=tokens,
            p_owner=owner,
            p_claim_request_id=request_id,
            p_claim_limit=claim_limit,
            p_lease_seconds=lease_seconds,
            p_low_limit=low_limit,
        )

    async def fail(
        self, token: str, error: str, *, permanent: bool, backoff_base: float, backoff_max: float
    ) -> FailAnswer:
        return await self._one(
            FailAnswer,
            "queue_fail",
            p_token=token,
            p_error=redact(error)[:2000],
            p_permanent=permanent,
            p_backoff_base_seconds=backoff_base,
            p_backoff_max_seconds=backoff_max,
        )

    async def release(self, tokens: list[str], *, pause: bool) -> ReleaseAnswer:
        return await self._one(ReleaseAnswer, "queue_release", p_tokens=tokens, p_pause=pause)

    async def bump(self, usernames: list[str], priority: str) -> list[RemoteRow]:
        return await self._rows(RemoteRow, "queue_bump", p_usernames=usernames, p_priority=priority)

    async def retry(self, usernames: list[str] | None) -> list[RemoteRow]:
        return await self._rows(RemoteRow, "queue_retry", p_usernames=usernames)

    async def remove(self, usernames: list[str]) -> list[RemovedRow]:
        return await self._rows(RemovedRow, "queue_remove", p_usernames=usernames)

    async def list(
        self, statuses: list[str] | None = None, priority: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RemoteRow]:
        return await self._rows(
            RemoteRow, "queue_list", p_statuses=statuses, p_priority=priority, p_limit=limit, p_offset=offset
        )

    async def latest(self, username: str) -> RemoteRow | None:
        """The name's active row, else its newest one (a plain table read; messages need the state)."""
        await self.connect()
        try:
            data = (
                await self._client.table("queue")
                .select("*")
                .eq("username", username)
                .order("created_at", desc=True)
                .limit(20)
                .execute()
            ).data
        except Exception as exc:  # noqa: BLE001 - classified into one error type
            raise classify(exc, "queue read") from None
        rows = self._parse(RemoteRow, data, "queue read", many=True)
        active = [r for r in rows if r.status in ("PENDING", "PROCESSING", "PAUSED")]
        return (active or rows or [None])[0]

    async def summary(self) -> dict[str, Any]:
        data = await self.call("queue_summary")
        if not isinstance(data, dict):
            raise SupabaseError("Supabase queue_summary: expected an object", transient=False)
        return data

    # ------------------------------------------------------------------ consoles and controls
    async def console_beat(self, console_id: str, host: str, key_hash: str, ttl_seconds: float) -> BeatAnswer:
        return await self._one(
            BeatAnswer,
            "console_beat",
            p_console_id=console_id,
            p_host=host,
            p_key_hash=key_hash,
            p_ttl_seconds=ttl_seconds,
        )

    async def console_leave(self, console_id: str) -> bool:
        return bool(await self.call("console_leave", p_console_id=console_id))

    async def control_set(self, name: str, value: Any, by: str = "") -> dict[str, Any]:
        return await self.call("control_set", p_name=name, p_value=value, p_by=by)

    async def control_get(self) -> dict[str, Any]:
        return await self.call("control_get")
