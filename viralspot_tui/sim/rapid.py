"""The five RapidAPI endpoints: parse a request, consult the world, build the real answer.

This is the "happy path" layer only — what the provider returns when nothing goes wrong —
kept apart from the gatekeeping (keys, limits, faults, latency) in ``simulator`` so each can
be read on its own. Every handler also names the request's *key* (username or shortcode) and
*detail* (page token, raw URL), which stats and targeted fault injection match on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from . import payloads
from .faults import PROFILE, REEL_DETAIL, REELS, SIMILAR, TRANSCRIPT
from .names import parse_shortcode, parse_username
from .wire import SimRequest, SimResponse, json_response
from .world import PAGE_SIZE, World

__all__ = ["ROUTES", "RapidCall", "Route"]


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
    parse: Callable[[SimRequest], RapidCall]


def _not_found(message: str) -> tuple[SimResponse, str]:
    return json_response(404, payloads.error(message)), "not_found"


def _bad_request(message: str) -> tuple[SimResponse, str]:
    return json_response(400, payloads.error(message)), "bad_request"


def _ok(obj: object) -> tuple[SimResponse, str]:
    return json_response(200, obj), "ok"


def _parse_profile(request: SimRequest) -> RapidCall:
    raw = request.form_param("username_or_url")
    username = parse_username(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        profile = world.profile(username, now) if username else None
        if profile is None or not profile.exists:
            return _not_found("User not found")
        return _ok(payloads.profile_payload(profile))

    return RapidCall(username or (raw or ""), "", answer)


def _parse_reels(request: SimRequest) -> RapidCall:
    raw = request.form_param("username_or_url")
    username = parse_username(raw)
    max_id = request.form_param("max_id") or None
    try:
        count = int(request.form_param("count") or PAGE_SIZE)
    except ValueError:
        count = PAGE_SIZE

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        profile = world.profile(username, now) if username else None
        if profile is None or not profile.exists:
            return _not_found("User not found")
        if profile.is_private:
            return _ok(payloads.private_reels_payload())
        try:
            reels, token = world.reel_page(profile.username, count, max_id, now)
        except ValueError:
            return _bad_request("Invalid max_id")
        return _ok(payloads.reels_payload(reels, token))

    return RapidCall(username or (raw or ""), max_id or "", answer)


def _parse_reel_detail(request: SimRequest) -> RapidCall:
    raw = request.query_param("reel_post_code_or_url")
    code = parse_shortcode(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("reel_post_code_or_url is required")
        reel = world.reel(code, now) if code else None
        if reel is None:
            return _not_found("Media not found")
        return _ok(payloads.reel_detail_payload(reel))

    return RapidCall(code or (raw or ""), raw or "", answer)


def _parse_similar(request: SimRequest) -> RapidCall:
    raw = request.query_param("username_or_url")
    username = parse_username(raw)

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw:
            return _bad_request("username_or_url is required")
        if not username or not world.profile(username, now).exists:
            return _not_found("User not found")
        return _ok(payloads.similar_payload(world, username))

    return RapidCall(username or (raw or ""), "", answer)


def _parse_transcript(request: SimRequest) -> RapidCall:
    raw = request.query_param("url")
    code = parse_shortcode(raw)
    as_text = (request.query_param("text") or "false").lower() == "true"

    def answer(world: World, now: datetime) -> tuple[SimResponse, str]:
        if not raw or code is None:
            return json_response(400, {"message": "A valid Instagram reel url is required"}), "bad_request"
        return _ok(payloads.transcript_payload(world.transcript(code), as_text))

    return RapidCall(code or (raw or ""), raw or "", answer)


ROUTES: tuple[Route, ...] = (
    Route(PROFILE, "POST", "/ig_get_fb_profile.php", _parse_profile),
    Route(REELS, "POST", "/get_ig_user_reels.php", _parse_reels),
    Route(REEL_DETAIL, "GET", "/get_media_data.php", _parse_reel_detail),
    Route(SIMILAR, "GET", "/get_ig_similar_accounts.php", _parse_similar),
    Route(TRANSCRIPT, "GET", "/transcript", _parse_transcript),
)
