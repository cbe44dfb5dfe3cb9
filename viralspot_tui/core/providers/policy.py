"""The one outbound policy under every provider call: rate limit, retry, classify, park.

Three processors share each provider, so the limit must live *below* them (docs/queue.md, "Concurrency"): every
call of every processor goes through the provider's single :class:`OutboundPolicy`.

* **Rate limit** — a :class:`~.priority.PriorityLimiter` grants one request every ``1/rate``
  seconds (a bucket of size one), serving waiting HIGH calls before LOW ones. A bucket of size
  N per second would let 2N requests into one sliding second (a full bucket plus its refill),
  which the provider answers with 429s. A small margin keeps arrival jitter from pushing one
  extra request into a window. Processes sharing an API key divide the rate (shared_budget.py).
* **Retries** — a retry loop written out (:meth:`OutboundPolicy.run`) with exponential back-off
  and jitter, driven by the injected clock's ``sleep`` (tests never wait): up to ``retries``
  more attempts after the first, only for transient errors, the last error raised as it came.
  It replaced tenacity's ``AsyncRetrying``, which cost ~10-15% of every call's client CPU (built
  per call, its actions wrapped per attempt; docs/performance-client-cpu.md). Whatever the HTTP method — the scraper's
  profile and reel-list endpoints are POST, and retry helpers that only retry GET silently
  skip them. ``Retry-After`` is honoured exactly; a hint longer than ``max_retry_after`` is
  not slept on here but handed to the queue (``not_before``) so no worker holds a slot for it.
* **Quota** — RapidAPI's monthly-quota 429, ``x-ratelimit-requests-remaining: 0`` or a
  ``Retry-After`` of an hour or more parks the provider until the reset: nothing is retried
  and later calls raise at once without sending, because each would spend requests that do
  not exist. The quota headers of every response feed a :class:`QuotaState` for the console.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ..clock import Clock, SystemClock, to_iso
from ..models.instagram import parse_json
from .errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    excerpt,
)
from .priority import PriorityLimiter, Ticker

if TYPE_CHECKING:
    from .aio_client import HttpClient, HttpResponse

__all__ = ["OutboundPolicy", "QuotaState", "CallCounter", "count_calls", "parse_retry_after"]

T = TypeVar("T")
QUOTA_RETRY_AFTER = 3600.0  # a Retry-After this long means "plan spent", not "slow down"
DEFAULT_PARK_SECONDS = 3600.0
_SPACING_MARGIN = 1.02
_NO_ENDPOINT = re.compile(r"^Endpoint '[^']*' does not exist", re.I)
_QUOTA_TEXT = re.compile(r"exceeded (?:the|your) \w+ quota|insufficient_quota|quota exceeded", re.I)


@dataclass
class QuotaState:
    """What the provider told us about its limits, and whether we parked it (docs/real-apis.md, §8)."""

    provider: str
    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset_at: datetime | None = None
    window_limit: int | None = None
    window_remaining: int | None = None
    window_reset_at: datetime | None = None
    parked_until: datetime | None = None
    parked_reason: str | None = None
    calls_sent: int = 0
    retries: int = 0
    last_error: str | None = None
    updated_at: datetime | None = None

    def is_parked(self, now: datetime) -> bool:
        return self.parked_until is not None and now < self.parked_until

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``status --json`` and the console header."""
        return {k: (to_iso(v) if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


@dataclass
class CallCounter:
    sent: int = 0


_RUN_COUNTER: ContextVar[CallCounter | None] = ContextVar("viralspot_call_counter", default=None)


@contextmanager
def count_calls() -> Iterator[CallCounter]:
    """Count the HTTP requests actually sent by this task and the tasks it starts.

    Providers are shared, so their global counters cannot say what *one* pipeline run cost;
    a context variable follows the run into its TaskGroup children.
    """
    counter = CallCounter()
    token = _RUN_COUNTER.set(counter)
    try:
        yield counter
    finally:
        _RUN_COUNTER.reset(token)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(float(raw)) if raw is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def _reset_time(headers: Mapping[str, str], name: str, now: datetime) -> datetime | None:
    """RapidAPI sends seconds left; some gateways send a Unix timestamp instead."""
    value = _int_header(headers, name)
    if value is None or value < 0:
        return None
    try:
        if value > 1_000_000_000:
            return datetime.fromtimestamp(value, now.tzinfo)
        return now + timedelta(seconds=value)
    except (OverflowError, OSError, ValueError):
        return None


def _body_message(response: HttpResponse) -> str:
    text = response.content.decode("utf-8", "replace")
    try:
        body = parse_json("error", text)
    except ProviderError:
        return excerpt(text)
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("type")
            if isinstance(value, str) and value:
                return excerpt(value)
    return excerpt(text)


class OutboundPolicy:
    """Rate limiter + retry loop + error classification + quota parking for one provider."""

    def __init__(
        self,
        name: str,
        *,
        requests_per_second: float,
        requests_per_minute: float | None = None,
        retries: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        ticker: Ticker | None = None,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be > 0")
        self.name = name
        self.retries = retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        interval = 1.0 / requests_per_second
        if requests_per_minute:
            interval = max(interval, 60.0 / requests_per_minute)
        self.interval = interval * _SPACING_MARGIN
        self.limiter = PriorityLimiter(self.interval, ticker=ticker)
        self.state = QuotaState(provider=name)

    # -------------------------------------------------------------------- public surface
    def snapshot(self) -> QuotaState:
        return replace(self.state)

    def parked_until(self) -> datetime | None:
        now = self.clock.now()
        return self.state.parked_until if self.state.is_parked(now) else None

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` under the limiter, retrying what is transient.

        ``attempt`` sends exactly one request and raises a classified :class:`ProviderError`
        (see :meth:`check`) on failure.
        """
        attempt_number = 0
        while True:
            attempt_number += 1
            self._raise_if_parked(endpoint)
            await self.limiter.acquire()  # in the line of the caller's priority (priority.py)
            self._raise_if_parked(endpoint)  # another caller may have parked it meanwhile
            self._count_call()
            try:
                return await attempt()
            except ProviderError as exc:
                self.state.last_error = str(exc)
                if attempt_number > self.retries or not self._should_retry(exc):
                    raise
                delay = self._wait(exc, attempt_number)
            self.state.retries += 1
            await self.clock.sleep(delay)

    async def request(
        self,
        client: HttpClient,
        method: str,
        url: str,
        *,
        endpoint: str,
        parse: Callable[[Any], T],
        **kwargs: Any,
    ) -> T:
        """One logical HTTP call: send, classify, decode JSON, ``parse`` — retried as a whole."""

        async def attempt() -> T:
            response = await self.send(client, method, url, endpoint=endpoint, **kwargs)
            return parse(parse_json(endpoint, response.content, self.name))

        return await self.run(endpoint, attempt)

    async def send(self, client: HttpClient, method: str, url: str, *, endpoint: str, **kwargs: Any) -> HttpResponse:
        """Send one request (no retry of its own: call it inside :meth:`run`); transport failures
        and non-2xx answers become classified errors, a 2xx answer is returned as it came."""
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            raise ConfigurationError(f"bad base URL ({exc})", provider=self.name, endpoint=endpoint) from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out ({type(exc).__name__})", provider=self.name, endpoint=endpoint) from None
        except httpx.RequestError as exc:
            raise TransientError(
                f"connection failed ({type(exc).__name__})", provider=self.name, endpoint=endpoint
            ) from None
        self.check(endpoint, response)
        return response

    def check(self, endpoint: str, response: HttpResponse) -> None:
        """Record quota headers; raise the classified error for a non-2xx response."""
        now = self.clock.now()
        self.observe(response.headers, now)
        status = response.status_code
        remaining_zero = self.state.requests_remaining == 0
        if 200 <= status < 300:
            if remaining_zero:
                self._park("plan quota used up (x-ratelimit-requests-remaining: 0)", None, now)
            return
        message = _body_message(response)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        kw: dict[str, Any] = {"provider": self.name, "endpoint": endpoint, "status": status}
        if status == 429:
            long_wait = retry_after is not None and retry_after >= QUOTA_RETRY_AFTER
            if remaining_zero or long_wait or _QUOTA_TEXT.search(message):
                until = self._park(message or "plan quota exhausted", retry_after, now)
                raise QuotaExhaustedError(
                    f"{message or 'plan quota exhausted'}; parked until {to_iso(until)}", reset_at=until, **kw
                )
            raise RateLimitedError(message or "rate limited", retry_after=retry_after, **kw)
        if remaining_zero:
            self._park("plan quota used up (x-ratelimit-requests-remaining: 0)", retry_after, now)
        if status in (401, 403):
            raise ConfigurationError(message or "not authorised: check the API key and subscription", **kw)
        if _NO_ENDPOINT.search(message):
            # RapidAPI's gateway, not the account: a wrong base URL or path is the operator's to fix.
            raise ConfigurationError(f"{message}: check the configured host and base URL", **kw)
        if status == 404:
            raise NotFoundError(message or "not found", **kw)
        if status == 408 or status >= 500:
            raise TransientError(message or "server error", retry_after=retry_after, **kw)
        raise PermanentError(message or "request refused", **kw)

    def observe(self, headers: Mapping[str, str], now: datetime | None = None) -> None:
        now = now or self.clock.now()
        st = self.state
        found = False
        for attr, name in (
            ("requests_limit", "x-ratelimit-requests-limit"),
            ("requests_remaining", "x-ratelimit-requests-remaining"),
            ("window_limit", "x-ratelimit-limit"),
            ("window_remaining", "x-ratelimit-remaining"),
        ):
            value = _int_header(headers, name)
            if value is not None:
                setattr(st, attr, value)
                found = True
        for attr, name in (
            ("requests_reset_at", "x-ratelimit-requests-reset"),
            ("window_reset_at", "x-ratelimit-reset"),
        ):
            when = _reset_time(headers, name, now)
            if when is not None:
                setattr(st, attr, when)
                found = True
        if found:
            st.updated_at = now

    def restore_park(self, until: datetime, reason: str | None) -> None:
        """Park again after a restart: an exhausted plan stays exhausted until its reset."""
        self.state.parked_until = until
        self.state.parked_reason = reason

    # ----------------------------------------------------------------------- internals
    def _park(self, reason: str, retry_after: float | None, now: datetime) -> datetime:
        until = (
            self.state.requests_reset_at
            if self.state.requests_reset_at and self.state.requests_reset_at > now
            else None
        )
        if until is None:
            until = now + timedelta(seconds=retry_after if retry_after else DEFAULT_PARK_SECONDS)
        self.state.parked_until = until
        self.state.parked_reason = reason
        return until

    def _raise_if_parked(self, endpoint: str) -> None:
        until = self.parked_until()
        if until is not None:
            raise QuotaExhaustedError(
                f"provider parked until {to_iso(until)}: {self.state.parked_reason}; request not sent",
                reset_at=until,
                provider=self.name,
                endpoint=endpoint,
            )

    def _count_call(self) -> None:
        self.state.calls_sent += 1
        counter = _RUN_COUNTER.get()
        if counter is not None:
            counter.sent += 1

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, TransientError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.max_retry_after

    def _wait(self, exc: BaseException, attempt_number: int) -> float:
        """Seconds before the next attempt: the server's ``Retry-After`` exactly, else exponential
        back-off from ``backoff_initial`` (capped at ``backoff_max``) with "equal jitter"."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        base = min(self.backoff_max, self.backoff_initial * (2 ** (attempt_number - 1)))
        return min(self.backoff_max, base / 2 + self._rng.uniform(0, base / 2)) if base > 0 else 0.0
