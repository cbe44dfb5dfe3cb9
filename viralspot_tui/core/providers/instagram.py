"""The Instagram scraper on RapidAPI, over one shared client (aiohttp over real sockets, see aio_client.py).

The provider only knows the four endpoints and their request shapes; everything about
limits, retries and status codes is the :class:`OutboundPolicy`'s job, HTTP-200 error bodies
are ``upstream``'s, and response shapes are the parsers' (``core.models.instagram``).
Usernames and shortcodes are validated here, before a request exists, so nothing invalid ever
reaches the wire.

Paging parameter names are uncertain (the original backend sent ``count``/``max_id``, other
clients send ``amount``/``pagination_token``; a server that ignores the pair we send answers
page 1 again with the same token). The provider sends both pairs by default — a server
ignores form fields it does not know — and :class:`PageGuard` ends paging on a repeated
token or a page without a new shortcode, so a wrong guess costs one page, never a loop
(see docs/real-apis.md).

Base URL and host are configuration: the real host, a loopback simulator, or an in-process
transport all go through exactly this code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

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
from .upstream import classify_error_text, error_text, is_similar_none

if TYPE_CHECKING:
    from .aio_client import HttpClient

__all__ = ["InstagramProvider", "PageGuard", "Paging", "validate_shortcode", "checked_username", "PAGE_SIZE"]

T = TypeVar("T")
Paging = Literal["both", "count_max_id", "amount_pagination_token"]
PAGING_CHOICES: tuple[str, ...] = ("both", "count_max_id", "amount_pagination_token")

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


def _screened(endpoint: str, parse: Callable[[Any], T], empty: Callable[[], T] | None = None) -> Callable[[Any], T]:
    """``parse`` behind the HTTP-200 error-body check: an error text raises its classified
    error (or, for "no similar accounts", gives ``empty()``) instead of parsing as data."""

    def run(payload: Any) -> T:
        text = error_text(payload)
        if text is not None:
            if empty is not None and is_similar_none(text):
                return empty()
            raise classify_error_text(endpoint, text)
        return parse(payload)

    return run


class PageGuard:
    """Decides whether another reels page is worth asking for.

    Stops when the answer has no token, repeats a token already followed (the server ignored
    our paging parameter and answered page 1 again), or brought no shortcode not seen before.
    """

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.shortcodes: set[str] = set()

    def next_token(self, page: ReelsPage) -> str | None:
        fresh = {r.shortcode for r in page.reels} - self.shortcodes
        self.shortcodes |= fresh
        token = page.next_token
        if not fresh or not token or token in self.tokens:
            return None
        self.tokens.add(token)
        return token


def paging_form(paging: str, count: int, token: str | None) -> dict[str, str]:
    """The paging fields for ``paging`` ("both" sends both pairs)."""
    form: dict[str, str] = {}
    if paging in ("both", "count_max_id"):
        form["count"] = str(count)
        if token:
            form["max_id"] = token
    if paging in ("both", "amount_pagination_token"):
        form["amount"] = str(count)
        if token:
            form["pagination_token"] = token
    return form


class InstagramProvider:
    """Typed calls to the scraper's endpoints; every call goes through ``policy``."""

    name = "instagram"

    def __init__(self, client: HttpClient, policy: OutboundPolicy, *, base_url: str, paging: str = "both") -> None:
        if paging not in PAGING_CHOICES:
            raise ValueError(f"paging must be one of {', '.join(PAGING_CHOICES)}, got {paging!r}")
        self._client = client
        self.policy = policy
        self.base_url = base_url.rstrip("/")
        self.paging = paging

    async def profile(self, username: str) -> ProfileData:
        """``POST /ig_get_fb_profile.php`` (404 → NotFoundError)."""
        name = checked_username(username, endpoint="profile")
        return await self.policy.request(
            self._client,
            "POST",
            f"{self.base_url}/ig_get_fb_profile.php",
            endpoint="profile",
            parse=_screened("profile", parse_profile),
            data={"username_or_url": name},
        )

    async def reels_page(self, username: str, *, count: int = PAGE_SIZE, max_id: str | None = None) -> ReelsPage:
        """One page of ``POST /get_ig_user_reels.php``; ``max_id`` is the previous page's token
        (sent as ``max_id`` and/or ``pagination_token``, per ``paging``)."""
        name = checked_username(username, endpoint="reels")
        form = {"username_or_url": name, **paging_form(self.paging, max(1, int(count)), max_id)}
        return await self.policy.request(
            self._client,
            "POST",
            f"{self.base_url}/get_ig_user_reels.php",
            endpoint="reels",
            parse=_screened("reels", parse_reels_page),
            data=form,
        )

    async def reels(self, username: str, *, count: int = 50) -> list[ReelData]:
        """Up to ``count`` reels, following ``pagination_token`` page after page.

        Pages depend on the previous page's token, so they are sequential by nature; the
        pipeline drives :meth:`reels_page` itself when it needs per-page checkpoints.
        """
        collected: dict[str, ReelData] = {}
        guard = PageGuard()
        token: str | None = None
        while len(collected) < count:
            page = await self.reels_page(username, count=min(PAGE_SIZE, count - len(collected)), max_id=token)
            for reel in page.reels:
                collected.setdefault(reel.shortcode, reel)
            token = guard.next_token(page)
            if token is None:
                break
        return list(collected.values())[:count]

    async def reel_detail(self, shortcode_or_url: str) -> ReelDetail:
        """``GET /get_media_data.php?reel_post_code_or_url=<url>&type=reel``."""
        code = validate_shortcode(shortcode_or_url, endpoint="reel_detail")
        return await self.policy.request(
            self._client,
            "GET",
            f"{self.base_url}/get_media_data.php",
            endpoint="reel_detail",
            parse=_screened("reel_detail", parse_reel_detail),
            params={"reel_post_code_or_url": reel_url(code), "type": "reel"},
        )

    async def similar(self, username: str, *, limit: int | None = None) -> list[SimilarAccount]:
        """``GET /get_ig_similar_accounts.php`` in any of its three response shapes; the host's
        "similar accounts data not found" text is the answer "none" (an empty list)."""
        name = checked_username(username, endpoint="similar")
        accounts = await self.policy.request(
            self._client,
            "GET",
            f"{self.base_url}/get_ig_similar_accounts.php",
            endpoint="similar",
            parse=_screened("similar", parse_similar, empty=list),
            params={"username_or_url": name},
        )
        unique: dict[str, SimilarAccount] = {}
        for account in cast("list[SimilarAccount]", accounts):
            if account.username != name:
                unique.setdefault(account.username, account)
        result = list(unique.values())
        return result[:limit] if limit is not None else result
