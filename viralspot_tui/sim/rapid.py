"""The five RapidAPI endpoints: parse a request, consult the world, build the real answer.

This is the "happy path" layer only — what the provider returns when nothing goes wrong —
kept apart from the gatekeeping (keys, limits, faults, latency) in ``simulator`` so each can
be read on its own. Every handler also names the request's *key* (username or shortcode) and
*detail* (page token, raw URL), which stats and targeted fault injection match on.

With the real quirks on (``Answering.real``), "does not exist" and "no similar accounts" are
HTTP 200 ``{"error": ...}`` bodies with the real texts, the reels endpoint honours only one
paging pair (the other is ignored: page 1 again, same token), and transcripts answer 206 for
"none" and 202 for "being prepared" (see ``sim.quirks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from . import payloads
from .faults import PROFILE, REEL_DETAIL, REELS, SIMILAR, TRANSCRIPT
from .hashing import h64
from .names import parse_shortcode, parse_username
from .quirks import NOT_EXIST_TEXT, SIMILAR_NONE_TEXT, PreparingJobs, no_similar, transcript_prepares
from .wire import SimRequest, SimResponse, json_response
from .world import PAGE_SIZE, World

__all__ = ["ROUTES", "Answering", "RapidCall", "Route"]


@dataclass(frozen=True, slots=True)
class Answering:
    """How this simulator answers: real quirks or not, the honoured paging pair, 202 state."""

    real: bool
    paging: str
    jobs: PreparingJobs


@dataclass(frozen=True, slots=True)
class RapidCall:
    """A parsed request: what it is about, and how to answer it once admitted."""

    key: str
    detail: str
    answer: Callable[[World, datetime], tuple[SimResponse, str]]  # -> (response, outcome)


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: str
    method: str
    path: str
    parse: Callable[[SimRequest, Answering], RapidCall]


def _not_found(message: str) -> tuple[SimResponse, str]:
    return json_response(404, payloads.error(message)), "not_found"


def _missing_user(how: Answering) -> tuple[SimResponse, str]:
    """The real host says "does not exist" with HTTP 200; the idealised one with a 404."""
    if how.real:
        return json_response(200, payloads.error(NOT_EXIST_TEXT)), "not_found"
    return _not_found("User not found")


def _bad_request(message: str) -> tuple[SimResponse, str]:
    return json_response(400, payloads.error(message)), "bad_request"


def _ok(obj: object) -> tuple[SimResponse, str]:
    return json_response(200, obj), "ok"


def _parse_profile(request: SimRequest, how: Answering) -> RapidCall:
    raw = request.form_param("username_or_url")
    username = parse_username(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        profile = world.profile(username, now) if username else None
        if profile is None or not profile.exists:
            return _missing_user(how)
        return _ok(payloads.profile_payload(profile, real=how.real))

    return RapidCall(username or (raw or ""), "", answer)


def _paging(request: SimRequest, how: Answering) -> tuple[str | None, str | None]:
    """(count, token) from the pair this server honours; the idealised one reads either."""
    if how.real:
        count_name, token_name = (
            ("amount", "pagination_token") if how.paging.startswith("amount") else ("count", "max_id")
        )
        return request.form_param(count_name), request.form_param(token_name) or None
    count = request.form_param("count") or request.form_param("amount")
    return count, request.form_param("max_id") or request.form_param("pagination_token") or None


def _parse_reels(request: SimRequest, how: Answering) -> RapidCall:
    raw = request.form_param("username_or_url")
    username = parse_username(raw)
    count_text, max_id = _paging(request, how)
    try:
        count = int(count_text or PAGE_SIZE)
    except ValueError:
        count = PAGE_SIZE

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        profile = world.profile(username, now) if username else None
        if profile is None or not profile.exists:
            return _missing_user(how)
        if profile.is_private:
            return _ok(payloads.private_reels_payload())
        try:
            reels, token = world.reel_page(profile.username, count, max_id, now)
        except ValueError:
            return _bad_request("Invalid max_id")
        return _ok(payloads.reels_payload(reels, token, world.seed, profile.username, real=how.real))

    return RapidCall(username or (raw or ""), max_id or "", answer)


def _parse_reel_detail(request: SimRequest, how: Answering) -> RapidCall:
    raw = request.query_param("reel_post_code_or_url")
    code = parse_shortcode(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("reel_post_code_or_url is required")
        reel = world.reel(code, now) if code else None
        if reel is None:
            return _not_found("Media not found")
        return _ok(payloads.reel_detail_payload(reel, world.seed, real=how.real))

    return RapidCall(code or (raw or ""), raw or "", answer)


def _parse_similar(request: SimRequest, how: Answering) -> RapidCall:
    raw = request.query_param("username_or_url")
    username = parse_username(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        profile = world.profile(username, now) if username else None
        if how.real and (profile is None or not profile.exists or profile.is_private or no_similar(profile.username)):
            return _ok(payloads.error(SIMILAR_NONE_TEXT))  # "none", not a failure
        if profile is None or not profile.exists:
            return _not_found("User not found")
        return _ok(payloads.similar_payload(world, profile.username, real=how.real))

    return RapidCall(username or (raw or ""), "", answer)


def _parse_transcript(request: SimRequest, how: Answering) -> RapidCall:
    raw = request.query_param("url")
    code = parse_shortcode(raw)
    as_text = (request.query_param("text") or "false").lower() == "true"

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw or code is None:
            return json_response(400, {"message": "A valid Instagram reel url is required"}), "bad_request"
        segments = world.transcript(code)
        if not how.real:
            return _ok(payloads.transcript_payload(segments, as_text))
        if not segments:
            return json_response(206, payloads.transcript_payload(None, as_text)), "ok"
        if transcript_prepares(world.seed, code) and how.jobs.first_ask(code):
            job = f"{h64(world.seed, 'job', code):016x}"
            return json_response(202, {"jobId": job, "status": "processing"}, {"retry-after": "1"}), "preparing"
        return _ok(payloads.transcript_payload(segments, as_text, millis=True))

    return RapidCall(code or (raw or ""), raw or "", answer)


ROUTES: tuple[Route, ...] = (
    Route(PROFILE, "POST", "/ig_get_fb_profile.php", _parse_profile),
    Route(REELS, "POST", "/get_ig_user_reels.php", _parse_reels),
    Route(REEL_DETAIL, "GET", "/get_media_data.php", _parse_reel_detail),
    Route(SIMILAR, "GET", "/get_ig_similar_accounts.php", _parse_similar),
    Route(TRANSCRIPT, "GET", "/transcript", _parse_transcript),
)
