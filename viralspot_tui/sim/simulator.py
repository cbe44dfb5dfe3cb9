"""The request pipeline every simulated call goes through, whichever front door it used.

Order matters and mirrors the real gateway: route → authenticate (401) → subscription (403)
→ per-second rate limit and monthly quota (429, answered at once, no quota consumed by a
refusal) → fault decision → latency → the endpoint's answer (or the fault's). Every request,
refused or not, leaves one ``CallRecord`` so tests can see exactly what crossed the wire.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from . import chat
from .config import SimConfig
from .faults import (
    BODY_FAULT_KINDS,
    CHAT,
    FAULT_OUTCOME,
    INVALID_OUTPUT,
    MALFORMED_JSON,
    NOT_SUBSCRIBED_MESSAGE,
    QUOTA_MESSAGE,
    RATE_MESSAGE,
    TIMEOUT,
    TRUNCATED_JSON,
    FaultPlan,
    error_body,
    malformed_body,
    openai_fault,
    rapid_fault,
    truncate_body,
)
from .frontends import SimulatorASGI, SimulatorTransport
from .limits import RapidLimits, plan_account, seconds_until_month_end
from .quirks import PreparingJobs
from .rapid import ROUTES, Answering, Route
from .stats import CallRecord, SimStats
from .wire import SimRequest, SimResponse, json_response
from .world import World

__all__ = ["Simulator"]

SERVER_HEADER = "RapidAPI-1.2.8"
INVALID_KEY_MESSAGE = "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."
CHAT_PATH_SUFFIX = "/chat/completions"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def key_hash(secret: str | None) -> str:
    """A short, non-reversible tag of a credential: stats must never hold the key itself."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12] if secret else ""


class Simulator:
    """A synthetic Instagram + OpenAI-compatible service for one config and clock."""

    def __init__(self, config: SimConfig | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config or SimConfig()
        self._clock = clock or _utc_now
        self._offset = timedelta(0)
        self._anchor = self._clock()  # where a faster world's time starts (config.time_speed)
        self.world = World(self.config.seed, self.now)
        self.stats = SimStats()
        self._faults = FaultPlan(self.config.seed, self.config.fault_rate, self.config.error_body_rate)
        self._answering = Answering(real=self.config.real, paging=self.config.paging, jobs=PreparingJobs())
        self._limits = RapidLimits(self.config)
        self._latency_rng = random.Random(self.config.seed)
        self._latency_lock = threading.Lock()
        self.asgi_app = SimulatorASGI(self)

    # ------------------------------------------------------------ controls
    def now(self) -> datetime:
        """The world's present: the clock plus whatever ``advance`` added."""
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the simulator clock must return timezone-aware datetimes")
        return self._scaled(now.astimezone(UTC)) + self._offset

    def _scaled(self, now: datetime) -> datetime:
        """Lagging behind the clock at ``time_speed``, until caught up (see :class:`SimConfig`)."""
        if self.config.time_lag_days == 0:
            return now
        elapsed = now - self._anchor
        world = self._anchor - timedelta(days=self.config.time_lag_days) + elapsed * self.config.time_speed
        return min(world, now)

    def time_speed(self) -> float:
        """How many times faster than the clock the world's time runs right now (1 once caught up)."""
        now = self._clock().astimezone(UTC)
        return self.config.time_speed if self._scaled(now) < now else 1.0

    def advance(self, delta: timedelta) -> None:
        """Move the world's present forward (new reels appear, numbers grow)."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._offset += delta

    def transport(self) -> SimulatorTransport:
        return SimulatorTransport(self)

    def inject(self, endpoint: str, kind: str, count: int = 1, match: str | None = None) -> None:
        """Give the next ``count`` requests to ``endpoint`` (whose key or detail == ``match``) fault ``kind``."""
        self._faults.inject(endpoint, kind, count, match)

    def pending_faults(self, endpoint: str | None = None) -> int:
        return self._faults.pending(endpoint)

    def quota_remaining(self, api_key: str, endpoint: str = "profile") -> int:
        """What is left of the plan ``endpoint`` belongs to, for ``api_key``."""
        return self._limits.remaining(plan_account(api_key, endpoint), self.now())

    # ------------------------------------------------------------ pipeline
    async def handle(self, request: SimRequest, *, stall_timeouts: bool = False) -> SimResponse:
        """Answer one request. ``stall_timeouts``: enact "timeout" by stalling (the server's way)."""
        started = time.monotonic()
        path = request.path.rstrip("/") or "/"
        if path.endswith(CHAT_PATH_SUFFIX):
            return await self._chat(request, started, stall_timeouts)
        route = next((r for r in ROUTES if path.endswith(r.path)), None)
        if route is None:
            response = json_response(404, {"message": f"Endpoint '{request.path}' does not exist"})
            return self._finish("unknown", request.path, "", request, response, "not_found", started, "")
        return await self._rapid(route, request, started, stall_timeouts)

    async def _rapid(self, route: Route, request: SimRequest, started: float, stall: bool) -> SimResponse:
        call = route.parse(request, self._answering)
        api_key = request.headers.get("x-rapidapi-key", "").strip()
        tag = key_hash(api_key)

        def done(response: SimResponse, outcome: str) -> SimResponse:
            response.headers.setdefault("server", SERVER_HEADER)
            return self._finish(route.endpoint, call.key, call.detail, request, response, outcome, started, tag)

        if not api_key:
            return done(json_response(401, {"message": INVALID_KEY_MESSAGE}), "unauthorized")
        if api_key in self.config.unsubscribed_keys:
            return done(json_response(403, {"message": NOT_SUBSCRIBED_MESSAGE}), "not_subscribed")
        if not request.headers.get("x-rapidapi-host", "").strip():
            return done(json_response(400, {"message": "Missing required header: x-rapidapi-host"}), "bad_request")
        if request.method.upper() != route.method:
            return done(
                json_response(405, {"message": f"Method {request.method} not allowed; use {route.method}"}),
                "bad_request",
            )
        now = self.now()
        decision = self._limits.admit(plan_account(api_key, route.endpoint), now, started)
        if decision.outcome == "rate_limited":
            headers = {**decision.headers, "retry-after": str(decision.retry_after or 1)}
            return done(json_response(429, {"message": RATE_MESSAGE}, headers), "rate_limited")
        if decision.outcome == "quota":
            headers = {**decision.headers, "retry-after": str(decision.retry_after)}
            return done(json_response(429, {"message": QUOTA_MESSAGE}, headers), "quota")
        fault = self._faults.draw(route.endpoint, call.key, call.detail)
        await self._latency()
        if fault == TIMEOUT:
            return done(await self._timeout(stall), TIMEOUT)
        if fault in BODY_FAULT_KINDS:
            return done(error_body(fault, route.endpoint, dict(decision.headers)), fault)
        if fault is not None and fault not in (MALFORMED_JSON, TRUNCATED_JSON):
            response = rapid_fault(fault, dict(decision.headers), seconds_until_month_end(now))
            return done(response, FAULT_OUTCOME[fault])
        response, outcome = call.answer(self.world, now)
        response.headers.update(decision.headers)
        if fault is not None:
            response = self._corrupt(response, fault)
            outcome = fault
        return done(response, outcome)

    async def _chat(self, request: SimRequest, started: float, stall: bool) -> SimResponse:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        try:
            payload = request.json_body()
        except ValueError:
            payload = None
        key, detail = chat.chat_key(payload)

        def done(response: SimResponse, outcome: str) -> SimResponse:
            return self._finish(CHAT, key, detail, request, response, outcome, started, key_hash(token))

        if not token:
            message = "You didn't provide an API key. Provide it in the Authorization header (Bearer <key>)."
            return done(chat.openai_error(401, message, code="invalid_api_key"), "unauthorized")
        if request.method.upper() != "POST":
            return done(chat.openai_error(405, "Use POST for chat completions."), "bad_request")
        if payload is None:
            return done(chat.openai_error(400, "We could not parse the JSON body of your request."), "bad_request")
        fault = self._faults.draw(CHAT, key, detail)
        await self._latency()
        if fault == TIMEOUT:
            return done(await self._timeout(stall), TIMEOUT)
        if fault is not None and fault not in (MALFORMED_JSON, TRUNCATED_JSON, INVALID_OUTPUT):
            return done(openai_fault(fault), FAULT_OUTCOME[fault])
        try:
            response = chat.complete(payload, self.config.seed, self.now(), invalid=fault == INVALID_OUTPUT)
        except chat.ChatRequestError as exc:
            return done(chat.openai_error(400, str(exc)), "bad_request")
        if fault in (MALFORMED_JSON, TRUNCATED_JSON):
            response = self._corrupt(response, fault)
        return done(response, fault or "ok")

    # ------------------------------------------------------------- helpers
    async def _latency(self) -> None:
        if self.config.latency_ms <= 0:
            return
        with self._latency_lock:
            factor = self._latency_rng.uniform(1 - self.config.jitter, 1 + self.config.jitter)
        await asyncio.sleep(self.config.latency_ms * factor / 1000)

    async def _timeout(self, stall: bool) -> SimResponse:
        if stall:
            await asyncio.sleep(self.config.timeout_after_s)
            return json_response(504, {"message": "The request to the API has timed out. Please try again later"})
        return SimResponse(0, timeout=True)

    @staticmethod
    def _corrupt(response: SimResponse, fault: str) -> SimResponse:
        body = malformed_body() if fault == MALFORMED_JSON else truncate_body(response.body)
        return SimResponse(200, body, response.headers)

    def _finish(
        self,
        endpoint: str,
        key: str,
        detail: str,
        request: SimRequest,
        response: SimResponse,
        outcome: str,
        started: float,
        tag: str,
    ) -> SimResponse:
        self.stats.record(
            CallRecord(
                endpoint=endpoint,
                key=key,
                method=request.method.upper(),
                status=response.status,
                outcome=outcome,
                started_at=started,
                finished_at=time.monotonic(),
                api_key_hash=tag,
                detail=detail,
            )
        )
        return response
