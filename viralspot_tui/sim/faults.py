"""Faults: which request gets one, and what a faulty answer looks like.

Reliability code is only as good as the failures it was tested against, and a flaky fault
generator makes flaky tests. Faults are therefore decided in two deterministic ways: targeted
injections (``inject``: "the next 2 reels calls for alice time out") consumed in order, and a
background rate drawn from (seed, endpoint, key, per-key call number) so the same run sees
the same faults no matter how requests interleave across keys.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .hashing import h64, unit
from .quirks import BUSY_TEXT, MEDIA_THROTTLED_TEXT, THROTTLED_TEXT, UNKNOWN_TEXT
from .wire import SimResponse, dumps, json_response

__all__ = [
    "BODY_FAULT_KINDS",
    "BUSY_BODY",
    "CHAT",
    "ENDPOINTS",
    "FAULT_KINDS",
    "FAULT_OUTCOME",
    "HTTP_500",
    "HTTP_503",
    "INVALID_OUTPUT",
    "MALFORMED_JSON",
    "NOT_SUBSCRIBED",
    "NOT_SUBSCRIBED_MESSAGE",
    "PROFILE",
    "QUOTA_EXHAUSTED",
    "QUOTA_MESSAGE",
    "RANDOM_FAULT_KINDS",
    "RATE_LIMIT_BURST",
    "RATE_MESSAGE",
    "REELS",
    "REEL_DETAIL",
    "SIMILAR",
    "TIMEOUT",
    "TRANSCRIPT",
    "THROTTLED_BODY",
    "TRUNCATED_JSON",
    "UNKNOWN_BODY",
    "FaultPlan",
    "error_body",
    "malformed_body",
    "openai_fault",
    "rapid_fault",
    "truncate_body",
]

PROFILE, REELS, REEL_DETAIL, SIMILAR, TRANSCRIPT, CHAT = (
    "profile",
    "reels",
    "reel_detail",
    "similar",
    "transcript",
    "chat",
)
ENDPOINTS: tuple[str, ...] = (PROFILE, REELS, REEL_DETAIL, SIMILAR, TRANSCRIPT, CHAT)

HTTP_500 = "http_500"
HTTP_503 = "http_503"
TIMEOUT = "timeout"
MALFORMED_JSON = "malformed_json"
TRUNCATED_JSON = "truncated_json"
RATE_LIMIT_BURST = "rate_limit_burst"
QUOTA_EXHAUSTED = "quota_exhausted"
NOT_SUBSCRIBED = "not_subscribed"
INVALID_OUTPUT = "invalid_output"  # chat only: valid JSON that breaks the requested schema
# HTTP 200 with {"error": ...}, the scraper host's own way (see sim.quirks); scraper endpoints only.
BUSY_BODY = "busy_body"
THROTTLED_BODY = "throttled_body"
UNKNOWN_BODY = "unknown_error_body"
BODY_FAULT_KINDS: tuple[str, ...] = (BUSY_BODY, THROTTLED_BODY, UNKNOWN_BODY)
_RANDOM_BODY_KINDS = (BUSY_BODY, THROTTLED_BODY)
SCRAPER_ENDPOINTS: tuple[str, ...] = (PROFILE, REELS, REEL_DETAIL, SIMILAR)

FAULT_KINDS: tuple[str, ...] = (
    HTTP_500,
    HTTP_503,
    TIMEOUT,
    MALFORMED_JSON,
    TRUNCATED_JSON,
    RATE_LIMIT_BURST,
    QUOTA_EXHAUSTED,
    NOT_SUBSCRIBED,
    INVALID_OUTPUT,
    *BODY_FAULT_KINDS,
)
RANDOM_FAULT_KINDS: tuple[str, ...] = (
    HTTP_500,
    HTTP_503,
    TIMEOUT,
    MALFORMED_JSON,
    TRUNCATED_JSON,
    RATE_LIMIT_BURST,
)
FAULT_OUTCOME: dict[str, str] = {
    **{k: k for k in FAULT_KINDS},
    RATE_LIMIT_BURST: "rate_limited",
    QUOTA_EXHAUSTED: "quota",
}


RATE_MESSAGE = "You have exceeded the rate limit per second for your plan, BASIC, by the API provider"
QUOTA_MESSAGE = (
    "You have exceeded the MONTHLY quota for Requests on your current plan, BASIC. "
    "Upgrade your plan at https://rapidapi.com/instagram-scraper-stable-api/pricing"
)
NOT_SUBSCRIBED_MESSAGE = "You are not subscribed to this API."


@dataclass(slots=True)
class _Injection:
    endpoint: str
    kind: str
    remaining: int
    match: str | None


class FaultPlan:
    """Targeted injections plus the seeded background fault rate (and error-body rate)."""

    def __init__(self, seed: int, fault_rate: float, error_body_rate: float = 0.0) -> None:
        self._seed = seed
        self._rate = fault_rate
        self._body_rate = error_body_rate
        self._lock = threading.Lock()
        self._injections: list[_Injection] = []
        self._calls: dict[tuple[str, str], int] = {}

    def inject(self, endpoint: str, kind: str, count: int = 1, match: str | None = None) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if kind == INVALID_OUTPUT and endpoint != CHAT:
            raise ValueError("invalid_output applies to the chat endpoint only")
        if kind in BODY_FAULT_KINDS and endpoint not in SCRAPER_ENDPOINTS:
            raise ValueError(f"{kind} applies to the scraper endpoints only: {', '.join(SCRAPER_ENDPOINTS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._injections.append(_Injection(endpoint, kind, count, match))

    def pending(self, endpoint: str | None = None) -> int:
        """Injected faults not yet consumed."""
        with self._lock:
            return sum(i.remaining for i in self._injections if endpoint in (None, i.endpoint))

    def clear(self) -> None:
        with self._lock:
            self._injections.clear()

    def draw(self, endpoint: str, key: str, detail: str = "") -> str | None:
        """The fault for this request, if any; consumes an injection when one matches."""
        with self._lock:
            for injection in self._injections:
                if injection.endpoint == endpoint and injection.match in (None, key, detail):
                    injection.remaining -= 1
                    if injection.remaining == 0:
                        self._injections.remove(injection)
                    return injection.kind
            number = self._calls.get((endpoint, key), 0)
            self._calls[(endpoint, key)] = number + 1
        if self._rate > 0 and unit(self._seed, "fault", endpoint, key, number) < self._rate:
            pool = RANDOM_FAULT_KINDS
            return pool[h64(self._seed, "faultkind", endpoint, key, number) % len(pool)]
        if (
            self._body_rate > 0
            and endpoint in SCRAPER_ENDPOINTS
            and unit(self._seed, "bodyfault", endpoint, key, number) < self._body_rate
        ):
            return _RANDOM_BODY_KINDS[h64(self._seed, "bodykind", endpoint, key, number) % len(_RANDOM_BODY_KINDS)]
        return None


def error_body(kind: str, endpoint: str, headers: dict[str, str]) -> SimResponse:
    """The scraper's HTTP-200 error answers with their real texts."""
    if kind == BUSY_BODY:
        text = BUSY_TEXT
    elif kind == THROTTLED_BODY:
        text = MEDIA_THROTTLED_TEXT if endpoint == REEL_DETAIL else THROTTLED_TEXT
    elif kind == UNKNOWN_BODY:
        text = UNKNOWN_TEXT
    else:
        raise ValueError(f"{kind} is not an error-body fault")
    return json_response(200, {"error": text}, headers)


def malformed_body() -> bytes:
    """Something a gateway in trouble really sends with a 200: not JSON at all."""
    return b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def truncate_body(body: bytes) -> bytes:
    """The first half of a real answer: a connection cut mid-stream."""
    return body[: max(1, len(body) // 2)]


def rapid_fault(kind: str, headers: dict[str, str], retry_after_quota: int) -> SimResponse:
    """RapidAPI-style answers for the status-code faults."""
    if kind == HTTP_500:
        return json_response(500, {"message": "Internal Server Error"}, headers)
    if kind == HTTP_503:
        return json_response(503, {"message": "Service Unavailable"}, {**headers, "retry-after": "1"})
    if kind == RATE_LIMIT_BURST:
        return json_response(429, {"message": RATE_MESSAGE}, {**headers, "retry-after": "1"})
    if kind == QUOTA_EXHAUSTED:
        return json_response(
            429,
            {"message": QUOTA_MESSAGE},
            {**headers, "x-ratelimit-requests-remaining": "0", "retry-after": str(retry_after_quota)},
        )
    if kind == NOT_SUBSCRIBED:
        return json_response(403, {"message": NOT_SUBSCRIBED_MESSAGE}, headers)
    raise ValueError(f"{kind} is not a status fault")


def openai_fault(kind: str) -> SimResponse:
    """OpenAI-style answers for the status-code faults."""
    if kind == HTTP_500:
        return _openai_error(500, "The server had an error while processing your request.", "server_error", None)
    if kind == HTTP_503:
        return _openai_error(
            503,
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
            {"retry-after": "1"},
        )
    if kind == RATE_LIMIT_BURST:
        return _openai_error(
            429,
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            "rate_limit_exceeded",
            {"retry-after": "1"},
        )
    if kind == QUOTA_EXHAUSTED:
        return _openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )
    if kind == NOT_SUBSCRIBED:
        return _openai_error(
            403, "You are not allowed to access this model.", "invalid_request_error", "model_not_found"
        )
    raise ValueError(f"{kind} is not a status fault")


def _openai_error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> SimResponse:
    return SimResponse(
        status, dumps({"error": {"message": message, "type": type_, "param": None, "code": code}}), dict(headers or {})
    )
