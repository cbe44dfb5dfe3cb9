"""Build every provider from settings, with one shared :class:`OutboundPolicy` per provider.

The factory is the only place that touches secrets: it reads the keys with
``get_secret_value`` solely to set request headers, so a key never reaches a log line, an
error or a repr. Processors receive a :class:`Providers` bundle and share its policies, which
is what makes the rate limit hold across all three processors (docs/queue.md, "Concurrency").

Given a ``transport`` (the simulator's in-process transport), every client — including the
OpenAI SDK's, through ``http_client`` — sends through it, so tests and the demo exercise the
real code paths without a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from openai import AsyncOpenAI

from ...config import MissingSecret, Settings
from ..clock import Clock, SystemClock
from .ai import AIProvider
from .instagram import InstagramProvider
from .policy import OutboundPolicy, QuotaState
from .shared_budget import budget_id
from .transcripts import TranscriptProvider

if TYPE_CHECKING:
    from .aio_client import HttpClient

__all__ = ["Providers", "SIMULATED_KEY"]

SIMULATED_KEY = "simulated-key"
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"


def _rapid_client(
    key: str, host: str, timeout: float, transport: httpx.AsyncBaseTransport | None, ssl_context: Any = None
) -> HttpClient:
    """Over real sockets an :class:`AioHttpClient` (a call through httpx cost ~4× its CPU, see
    core/providers/aio_client.py and docs/performance-client-cpu.md); over a caller's
    in-process transport (tests, the demo) an ``httpx.AsyncClient`` on it."""
    headers = {"x-rapidapi-key": key, "x-rapidapi-host": host}
    if transport is None:
        from .aio_client import AioHttpClient  # aiohttp is imported only where real sockets are used

        return AioHttpClient(headers=headers, timeout=timeout, ssl_context=ssl_context)
    return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout), transport=transport)


class _SharedTransport(httpx.AsyncBaseTransport):
    """Lend a caller-owned transport to several clients without letting them close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:  # the owner (the simulator, a test) closes the real one
        return None


def _key(secret: Any, simulated: bool, variable: str, purpose: str) -> str:
    """The configured key; a placeholder on the simulator; otherwise a clear MissingSecret."""
    if secret is not None:
        return secret.get_secret_value()
    if simulated:
        return SIMULATED_KEY
    raise MissingSecret(variable, purpose)


@dataclass
class Providers:
    """The providers of one process, their shared policies, and the clients to close."""

    instagram: InstagramProvider
    transcripts: TranscriptProvider
    ai: AIProvider
    policies: dict[str, OutboundPolicy]
    budgets: dict[str, str] = field(default_factory=dict)  # policy name -> its API key's budget id
    _closers: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        api_key_override: str | None = None,
        require_ai: bool = True,
    ) -> "Providers":
        """Wire providers from ``settings``; ``api_key_override`` replaces the RapidAPI key.

        Without a key, a run that talks to a simulator (a ``transport`` or ``settings.simulate``)
        uses a placeholder key; a real run raises :class:`MissingSecret` naming the variable. The
        OpenAI key is required only when a hosted processor uses the AI (``require_ai``).
        """
        clock = clock or SystemClock()
        if transport is not None:
            transport = _SharedTransport(transport)
        rapid = settings.rapidapi
        simulated = transport is not None or settings.simulate
        rapid_key = api_key_override or _key(
            rapid.key, simulated, "RAPIDAPI_KEY", "the Instagram scraper and transcript APIs"
        )
        ai_cfg = settings.openai
        openai_key = _key(ai_cfg.api_key, simulated or not require_ai, "OPENAI_API_KEY", "the viral ideas AI pipeline")

        def policy(name: str, per_second: float, per_minute: float | None = None) -> OutboundPolicy:
            """Each provider its own limit; one retry and back-off setting for all."""
            return OutboundPolicy(
                name,
                requests_per_second=per_second,
                requests_per_minute=per_minute,
                retries=rapid.retries,
                backoff_initial=rapid.backoff_initial,
                backoff_max=rapid.backoff_max,
                max_retry_after=rapid.max_retry_after,
                clock=clock,
            )

        policies = {
            "instagram": policy("instagram", rapid.requests_per_second, rapid.requests_per_minute),
            "transcripts": policy("transcripts", rapid.requests_per_second, rapid.requests_per_minute),
            "openai": policy("openai", ai_cfg.requests_per_second),
        }
        ssl_context = httpx.create_ssl_context() if transport is None else None  # loading CAs is slow: once
        ig_client = _rapid_client(rapid_key, rapid.instagram_host, rapid.timeout_seconds, transport, ssl_context)
        tr_client = _rapid_client(rapid_key, rapid.transcript_host, rapid.timeout_seconds, transport, ssl_context)
        ai_http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(ai_cfg.timeout_seconds))
        ai_client = AsyncOpenAI(
            api_key=openai_key,
            base_url=ai_cfg.base_url or DEFAULT_OPENAI_URL,
            max_retries=0,
            timeout=ai_cfg.timeout_seconds,
            http_client=ai_http,  # type: ignore[arg-type]  # the SDK types its client as httpx2
        )
        return cls(
            instagram=InstagramProvider(
                ig_client, policies["instagram"], base_url=rapid.instagram_url(), paging=rapid.reels_paging
            ),
            transcripts=TranscriptProvider(tr_client, policies["transcripts"], base_url=rapid.transcript_url()),
            ai=AIProvider(
                ai_client,
                policies["openai"],
                model=ai_cfg.model,
                temperature=ai_cfg.temperature,
                output_retries=ai_cfg.output_retries,
                input_cost_per_mtok=ai_cfg.input_cost_per_mtok,
                output_cost_per_mtok=ai_cfg.output_cost_per_mtok,
            ),
            policies=policies,
            budgets={
                "instagram": budget_id("instagram", rapid_key),
                "transcripts": budget_id("transcripts", rapid_key),
                "openai": budget_id("openai", openai_key),
            },
            _closers=[ig_client, tr_client, ai_client],  # closing the SDK closes ai_http
        )

    def quota_snapshot(self) -> dict[str, QuotaState]:
        """Per-provider quota and parking state, for the console header and ``status``."""
        return {name: policy.snapshot() for name, policy in self.policies.items()}

    async def aclose(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            await closer.close() if isinstance(closer, AsyncOpenAI) else await closer.aclose()

    async def __aenter__(self) -> "Providers":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
