"""The Instagram scraper on RapidAPI (SPEC §6), over one shared ``httpx.AsyncClient``.

The provider only knows the four endpoints and their request shapes; everything about
limits, retries and error classes is the :class:`OutboundPolicy`'s job, and everything about
response shapes is the parsers' (``core.models.instagram``). Usernames and shortcodes are
validated here, before a request exists, so nothing invalid ever reaches the wire.

Base URL and host are configuration: the real host, a loopback simulator, or an in-process
transport all go through exactly this code.
"""

from __future__ import annotations

import re

import httpx

from ..models.instagram import (
    ProfileData,
    ReelData,
    ReelDetail,
    ReelsPage,
    SimilarAccount,
    parse_profile,
    parse_reel_detail,
    parse_reels_page,
    parse_similar,
    reel_url,
)
from ..models.usernames import InvalidUsername, normalize_username
from .errors import InvalidInputError
from .policy import OutboundPolicy

__all__ = ["InstagramProvider", "validate_shortcode", "checked_username", "PAGE_SIZE"]

PAGE_SIZE = 12  # the scraper returns about 12 reels per page whatever count says
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REEL_URL = re.compile(r"instagram\.com/(?:reel|reels|p|tv)/([A-Za-z0-9_-]{1,64})")


def checked_username(raw: str, *, provider: str = "instagram", endpoint: str = "") -> str:
    """Normalise a username or raise a permanent provider error saying why."""
    try:
        return normalize_username(raw)
    except InvalidUsername as exc:
        raise InvalidInputError(str(exc), provider=provider, endpoint=endpoint) from None


def validate_shortcode(raw: str, *, provider: str = "instagram", endpoint: str = "") -> str:
    """Accept a bare shortcode or a reel/post URL; return the shortcode."""
    text = raw.strip() if isinstance(raw, str) else ""
    match = _REEL_URL.search(text)
    if match:
        text = match.group(1)
    if not _SHORTCODE.match(text):
        raise InvalidInputError(f"invalid shortcode {raw!r:.80}", provider=provider, endpoint=endpoint)
    return text


class InstagramProvider:
    """Typed calls to the scraper's endpoints; every call goes through ``policy``."""

    name = "instagram"

    def __init__(self, client: httpx.AsyncClient, policy: OutboundPolicy, *, base_url: str) -> None:
        self._client = client
        self.policy = policy
        self.base_url = base_url.rstrip("/")

    async def profile(self, username: str) -> ProfileData:
        """``POST /ig_get_fb_profile.php`` (404 → NotFoundError)."""
        name = checked_username(username, endpoint="profile")
        return await self.policy.request(
            self._client,
            "POST",
            f"{self.base_url}/ig_get_fb_profile.php",
            endpoint="profile",
            parse=parse_profile,
            data={"username_or_url": name},
        )

    async def reels_page(self, username: str, *, count: int = PAGE_SIZE, max_id: str | None = None) -> ReelsPage:
        """One page of ``POST /get_ig_user_reels.php``; ``max_id`` is the previous page's token."""
        name = checked_username(username, endpoint="reels")
        form = {"username_or_url": name, "count": str(max(1, int(count)))}
        if max_id:
            form["max_id"] = max_id
        return await self.policy.request(
            self._client,
            "POST",
            f"{self.base_url}/get_ig_user_reels.php",
            endpoint="reels",
            parse=parse_reels_page,
            data=form,
        )

    async def reels(self, username: str, *, count: int = 50) -> list[ReelData]:
        """Up to ``count`` reels, following ``pagination_token`` page after page.

        Pages depend on the previous page's token, so they are sequential by nature; the
        pipeline drives :meth:`reels_page` itself when it needs per-page checkpoints.
        """
        collected: dict[str, ReelData] = {}
        token: str | None = None
        while len(collected) < count:
            page = await self.reels_page(username, count=min(PAGE_SIZE, count - len(collected)), max_id=token)
            for reel in page.reels:
                collected.setdefault(reel.shortcode, reel)
            if not page.reels or not page.next_token or page.next_token == token:
                break
            token = page.next_token
        return list(collected.values())[:count]

    async def reel_detail(self, shortcode_or_url: str) -> ReelDetail:
        """``GET /get_media_data.php?reel_post_code_or_url=<url>&type=reel``."""
        code = validate_shortcode(shortcode_or_url, endpoint="reel_detail")
        return await self.policy.request(
            self._client,
            "GET",
            f"{self.base_url}/get_media_data.php",
            endpoint="reel_detail",
            parse=parse_reel_detail,
            params={"reel_post_code_or_url": reel_url(code), "type": "reel"},
        )

    async def similar(self, username: str, *, limit: int | None = None) -> list[SimilarAccount]:
        """``GET /get_ig_similar_accounts.php`` in any of its three response shapes."""
        name = checked_username(username, endpoint="similar")
        accounts = await self.policy.request(
            self._client,
            "GET",
            f"{self.base_url}/get_ig_similar_accounts.php",
            endpoint="similar",
            parse=parse_similar,
            params={"username_or_url": name},
        )
        unique: dict[str, SimilarAccount] = {}
        for account in accounts:
            if account.username != name:
                unique.setdefault(account.username, account)
        result = list(unique.values())
        return result[:limit] if limit is not None else result
