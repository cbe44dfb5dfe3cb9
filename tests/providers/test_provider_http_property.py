"""Property tests through the real providers over HTTP: any JSON body, any endpoint, no escape.

Unlike ``test_provider_parsers_property`` (the parse functions alone), these send a real
request through the provider, its outbound policy and httpx; only the answer is generated.
The outcome must be a parsed model (or None / an empty list where that is an answer) or a
classified :class:`ProviderError` — never any other exception. Error-body texts are drawn
from the captured ones as well as at random, since those are what the providers branch on.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viralspot_tui.core.clock import FakeClock
from viralspot_tui.core.models.instagram import ProfileData, ReelDetail, ReelsPage, SimilarAccount, Transcript
from viralspot_tui.core.providers.errors import ProviderError
from viralspot_tui.core.providers.instagram import InstagramProvider
from viralspot_tui.core.providers.policy import OutboundPolicy
from viralspot_tui.core.providers.transcripts import TranscriptProvider

TEXTS = [
    "Invalid or missing username or user does not exist on Instagram",
    "Please try again later. You wont be charged for this request.",
    "data not found. Please try again later.",
    "Media data not found. Received 429 Too Many Requests.",
    "User similar accounts data not found or user profile is private or does not exist on Instagram",
    "Endpoint '/x.php' does not exist",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(TEXTS),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["error", "message", "data", "reels", "pagination_token", "username", "shortcode", "content"]
            )
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=14,
)
error_bodies = st.builds(lambda key, text: {key: text}, st.sampled_from(["error", "message"]), st.sampled_from(TEXTS))
ENDPOINTS = ["profile", "reels", "reel_detail", "similar", "transcript"]
EXPECTED: dict[str, tuple[type, ...]] = {
    "profile": (ProfileData,),
    "reels": (ReelsPage,),
    "reel_detail": (ReelDetail,),
    "similar": (list,),
    "transcript": (Transcript, type(None)),
}


async def _call(endpoint: str, status: int, body: bytes) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    clock = FakeClock()
    policy = OutboundPolicy("instagram", requests_per_second=1e6, retries=1, clock=clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        if endpoint == "transcript":
            return await TranscriptProvider(client, policy, base_url="https://t", polls=1).fetch("C0de")
        ig = InstagramProvider(client, policy, base_url="https://i")
        if endpoint == "profile":
            return await ig.profile("alice")
        if endpoint == "reels":
            return await ig.reels("alice", count=30)  # pages after pages: the guard must end it
        if endpoint == "reel_detail":
            return await ig.reel_detail("C0de")
        return await ig.similar("alice")


def _check(endpoint: str, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    try:
        result = asyncio.run(_call(endpoint, status, body))
    except ProviderError as exc:
        assert str(exc) and exc.kind in ("permanent", "transient", "quota", "configuration")
        return
    if endpoint == "reels":
        assert isinstance(result, list)
    else:
        assert isinstance(result, EXPECTED[endpoint]), (endpoint, result)
    if endpoint == "similar":
        assert all(isinstance(a, SimilarAccount) for a in result)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint=st.sampled_from(ENDPOINTS), payload=json_values | error_bodies)
def test_any_json_body_gives_a_model_or_a_clear_error(endpoint, payload):
    _check(endpoint, 200, payload)


@settings(max_examples=80, deadline=None)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    status=st.sampled_from([202, 206, 400, 403, 404, 408, 429, 500, 503]),
    payload=json_values | error_bodies,
)
def test_any_status_and_body_gives_a_model_or_a_clear_error(endpoint, status, payload):
    _check(endpoint, status, payload)
