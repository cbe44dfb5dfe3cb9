"""Instagram and transcript data as the rest of the core sees it, and the parsers that build it.

The RapidAPI scraper answers in several shapes for the same thing (``follower_count`` or
``followers``; similar accounts as a list, ``{data: [...]}`` or ``{"0": ..., "1": ...}``; a
reel's numbers under ``play_count`` in the list but ``video_view_count`` in the detail). The
models absorb those variants through alias choices, so each model is validated straight from
the raw JSON *and* from its own ``model_dump`` (checkpoints reload it by field name).

Every ``parse_*`` function either returns a model or raises
:class:`~viralspot_tui.core.providers.errors.MalformedResponseError` naming the endpoint and
the field path (``data.reels[3].node.media.code``) — never a bare ``KeyError`` or
``ValidationError``: a malformed body is an expected condition of a flaky upstream, not a bug.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ..providers.errors import MalformedResponseError, NotFoundError
from .usernames import Username

log = logging.getLogger("viralspot.providers")

__all__ = [
    "ProfileData",
    "ReelData",
    "ReelsPage",
    "ReelDetail",
    "SimilarAccount",
    "Transcript",
    "TranscriptSegment",
    "parse_follower_text",
    "reel_url",
    "parse_json",
    "parse_profile",
    "parse_reels_page",
    "parse_reel_detail",
    "parse_similar",
    "parse_transcript",
]

_MAX_COUNT = 2**62  # SQLite INTEGER is 64-bit; larger "counts" are garbage, not data
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FOLLOWERS = re.compile(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*([KMB])?\b", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_follower_text(text: object) -> int | None:
    """``"12.5K followers"`` → 12500, ``"8,431 followers"`` → 8431; anything else → None.

    Similar accounts carry their audience only inside ``social_context`` text, and the crawler
    filters on it (SPEC C4). Text that merely mentions people (``"Followed by x + 3 more"``)
    is not a follower count and yields None, so the crawler enriches instead of guessing.
    """
    if not isinstance(text, str):
        return None
    cleaned = text.strip()
    lowered = cleaned.lower()
    if not cleaned or "followed by" in lowered:
        return None
    if "follower" not in lowered and not re.fullmatch(r"[0-9][0-9,.]*\s*[KMBkmb]?", cleaned):
        return None
    match = _FOLLOWERS.search(cleaned)
    if match is None:
        return None
    number = float(match.group(1).replace(",", ""))
    value = int(round(number * _MULTIPLIER[(match.group(2) or "").upper()]))
    return value if 0 <= value < _MAX_COUNT else None


def reel_url(shortcode: str) -> str:
    return f"https://www.instagram.com/reel/{shortcode}/"


def _count(value: Any) -> Any:
    """Counts arrive as ints, floats, numeric strings or null; negatives mean "hidden"."""
    if value is None or isinstance(value, bool):
        return None if value is None else _reject("expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        value = text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:  # NaN
            _reject("expected a number, got NaN")
        if value < 0:
            return None
        if value >= _MAX_COUNT:
            _reject("number out of range")
    return value


def _reject(message: str) -> Any:
    raise ValueError(message)


def _flag(value: Any) -> Any:
    return False if value is None else value


def _id(value: Any) -> Any:
    if isinstance(value, bool):
        _reject("expected an id, got a boolean")
    return str(value) if isinstance(value, int) else value


def _caption(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("text")
    return value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _shortcode(value: str) -> str:
    if not _SHORTCODE.match(value):
        raise ValueError("not a valid shortcode (letters, digits, '_' and '-' only)")
    return value


Count = Annotated[int | None, BeforeValidator(_count)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Id = Annotated[str | None, BeforeValidator(_id)]
Shortcode = Annotated[str, AfterValidator(_shortcode)]
Caption = Annotated[str | None, BeforeValidator(_caption)]
When = Annotated[datetime | None, AfterValidator(_utc)]


def _alias(*names: str | AliasPath) -> AliasChoices:
    return AliasChoices(*names)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True, frozen=True)


class ProfileData(_Model):
    username: Username
    full_name: str | None = None
    biography: str | None = None
    followers: Count = Field(
        None, validation_alias=_alias("followers", "follower_count", AliasPath("edge_followed_by", "count"))
    )
    following: Count = Field(
        None, validation_alias=_alias("following", "following_count", AliasPath("edge_follow", "count"))
    )
    media_count: Count = None
    is_verified: Flag = False
    is_business: Flag = Field(False, validation_alias=_alias("is_business", "is_business_account"))
    is_private: Flag = False
    profile_pic_url: str | None = None
    hd_profile_pic_url: str | None = None
    pk: Id = Field(None, validation_alias=_alias("pk", "id", "pk_id"))


class ReelData(_Model):
    shortcode: Shortcode = Field(validation_alias=_alias("shortcode", "code"))
    pk: Id = None
    media_id: Id = Field(None, validation_alias=_alias("media_id", "id"))
    views: Count = Field(None, validation_alias=_alias("views", "play_count", "ig_play_count", "view_count"))
    likes: Count = Field(None, validation_alias=_alias("likes", "like_count"))
    comments: Count = Field(None, validation_alias=_alias("comments", "comment_count"))
    taken_at: When = None
    caption: Caption = None
    video_duration: float | None = Field(None, ge=0, allow_inf_nan=False)
    thumbnail_url: str | None = Field(
        None,
        validation_alias=_alias("thumbnail_url", AliasPath("image_versions2", "candidates", 0, "url"), "display_url"),
    )

    @property
    def url(self) -> str:
        return reel_url(self.shortcode)

    @property
    def needs_detail(self) -> bool:
        """The list entry lacks numbers the metrics need, so the detail endpoint must fill them."""
        return self.views is None or self.taken_at is None

    def merged_with(self, detail: "ReelDetail") -> "ReelData":
        """Fill gaps (and refresh numbers) from a reel-detail answer."""
        updates = {
            "views": detail.views if detail.views is not None else self.views,
            "likes": detail.likes if detail.likes is not None else self.likes,
            "comments": detail.comments if detail.comments is not None else self.comments,
            "taken_at": self.taken_at or detail.taken_at,
            "caption": self.caption or detail.caption,
            "thumbnail_url": self.thumbnail_url or detail.display_url,
        }
        return self.model_copy(update=updates)


class ReelsPage(_Model):
    reels: list[ReelData] = Field(default_factory=list)
    next_token: str | None = None
    message: str | None = None


class ReelDetail(_Model):
    shortcode: Shortcode = Field(validation_alias=_alias("shortcode", "code"))
    views: Count = Field(None, validation_alias=_alias("views", "video_view_count", "video_play_count", "play_count"))
    likes: Count = Field(
        None, validation_alias=_alias("likes", AliasPath("edge_media_preview_like", "count"), "like_count")
    )
    comments: Count = Field(
        None,
        validation_alias=_alias(
            "comments",
            AliasPath("edge_media_to_parent_comment", "count"),
            AliasPath("edge_media_to_comment", "count"),
            "comment_count",
        ),
    )
    caption: Caption = Field(
        None, validation_alias=_alias("caption", AliasPath("edge_media_to_caption", "edges", 0, "node", "text"))
    )
    display_url: str | None = None
    taken_at: When = Field(None, validation_alias=_alias("taken_at", "taken_at_timestamp"))


class SimilarAccount(_Model):
    username: Username
    full_name: str | None = None
    profile_pic_url: str | None = None
    is_verified: Flag = False
    is_private: Flag = False
    pk: Id = Field(None, validation_alias=_alias("pk", "id"))
    social_context: str | None = None
    followers: Count = Field(None, validation_alias=_alias("followers", "follower_count"))

    @model_validator(mode="after")
    def _followers_from_text(self) -> "SimilarAccount":
        if self.followers is None and self.social_context:
            object.__setattr__(self, "followers", parse_follower_text(self.social_context))
        return self


class TranscriptSegment(_Model):
    text: str
    offset: float | None = Field(None, allow_inf_nan=False)
    duration: float | None = Field(None, allow_inf_nan=False)


class Transcript(_Model):
    shortcode: str | None = None
    lang: str | None = None
    available_langs: list[str] = Field(
        default_factory=list, validation_alias=_alias("available_langs", "availableLangs")
    )
    segments: list[TranscriptSegment] = Field(default_factory=list, validation_alias=_alias("segments", "content"))

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def has_content(self) -> bool:
        return bool(self.text)


# ---------------------------------------------------------------------------------- parsers

M = TypeVar("M", bound=BaseModel)


def _fail(endpoint: str, field: str | None, message: str, provider: str) -> MalformedResponseError:
    return MalformedResponseError(message, field=field or None, provider=provider, endpoint=endpoint)


def _validate(model: type[M], data: Any, endpoint: str, prefix: str, provider: str) -> M:
    if not isinstance(data, dict):
        raise _fail(endpoint, prefix or "(body)", f"expected an object, got {type(data).__name__}", provider)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        field = f"{prefix}.{path}".strip(".") if prefix else path
        raise _fail(endpoint, field.replace(".[", "["), first["msg"], provider) from None


def parse_json(endpoint: str, body: bytes | str, provider: str = "instagram") -> Any:
    """Decode a body; invalid or truncated JSON becomes a (transient) malformed-response error."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        kind = "truncated" if isinstance(exc, json.JSONDecodeError) and exc.pos >= len(exc.doc.rstrip()) else "invalid"
        raise _fail(endpoint, None, f"{kind} JSON in response body", provider) from None


def _guard(endpoint: str, provider: str, fn: Callable[[], M]) -> M:
    try:
        return fn()
    except (MalformedResponseError, NotFoundError):
        raise
    except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise _fail(endpoint, None, f"unexpected response shape ({type(exc).__name__})", provider) from None


def parse_profile(payload: Any) -> ProfileData:
    def run() -> ProfileData:
        if isinstance(payload, dict) and "username" not in payload:
            inner = payload.get("data") if isinstance(payload.get("data"), dict) else None
            if inner is not None and "username" in inner:
                return _validate(ProfileData, inner, "profile", "data", "instagram")
            note = payload.get("error") or payload.get("message")
            if isinstance(note, str) and re.search(r"not found|does not exist|no user", note, re.I):
                raise NotFoundError(note[:120], provider="instagram", endpoint="profile")
        return _validate(ProfileData, payload, "profile", "", "instagram")

    return _guard("profile", "instagram", run)


def parse_reels_page(payload: Any) -> ReelsPage:
    def run() -> ReelsPage:
        if not isinstance(payload, dict):
            raise _fail("reels", "(body)", f"expected an object, got {type(payload).__name__}", "instagram")
        container, prefix = (payload["data"], "data") if isinstance(payload.get("data"), dict) else (payload, "")
        raw_reels = container.get("reels", container.get("items", []))
        if raw_reels is None:
            raw_reels = []
        if not isinstance(raw_reels, list):
            raise _fail("reels", f"{prefix}.reels".lstrip("."), "expected a list", "instagram")
        reels: list[ReelData] = []
        for i, item in enumerate(raw_reels):
            where = f"{prefix}.reels[{i}]".lstrip(".")
            media = item
            if isinstance(media, dict) and isinstance(media.get("node"), dict):
                media, where = media["node"], where + ".node"
            if isinstance(media, dict) and isinstance(media.get("media"), dict):
                media, where = media["media"], where + ".media"
            reels.append(_validate(ReelData, media, "reels", where, "instagram"))
        token = container.get("pagination_token", payload.get("pagination_token"))
        if isinstance(token, int) and not isinstance(token, bool):
            token = str(token)
        if token is not None and not isinstance(token, str):
            raise _fail("reels", f"{prefix}.pagination_token".lstrip("."), "expected a string or null", "instagram")
        message = payload.get("message", container.get("message"))
        return ReelsPage(reels=reels, next_token=token or None, message=message if isinstance(message, str) else None)

    return _guard("reels", "instagram", run)


def parse_reel_detail(payload: Any) -> ReelDetail:
    def run() -> ReelDetail:
        if isinstance(payload, dict) and "shortcode" not in payload and isinstance(payload.get("data"), dict):
            return _validate(ReelDetail, payload["data"], "reel_detail", "data", "instagram")
        return _validate(ReelDetail, payload, "reel_detail", "", "instagram")

    return _guard("reel_detail", "instagram", run)


def parse_similar(payload: Any) -> list[SimilarAccount]:
    """Accepts a list, ``{"data": [...]}`` or an object keyed ``"0", "1", ...``."""

    def run() -> list[SimilarAccount]:
        items, prefix = payload, ""
        if isinstance(items, dict) and "data" in items:
            items, prefix = items["data"], "data"
        if isinstance(items, dict):
            if not all(isinstance(k, str) and k.isdigit() for k in items):
                raise _fail("similar", prefix or "(body)", "expected a list or an object keyed 0, 1, ...", "instagram")
            items = [items[k] for k in sorted(items, key=int)]
        if items is None:
            items = []
        if not isinstance(items, list):
            raise _fail("similar", prefix or "(body)", f"expected a list, got {type(items).__name__}", "instagram")
        accounts: list[SimilarAccount] = []
        for i, item in enumerate(items):
            try:
                accounts.append(_validate(SimilarAccount, item, "similar", f"{prefix}[{i}]", "instagram"))
            except MalformedResponseError as exc:
                # One suggestion with a name Instagram itself would refuse must not cost the
                # whole list: skip it (and say so); any other broken item still fails the call.
                if not (exc.field or "").endswith("username") or not isinstance(item, dict):
                    raise
                log.warning("similar accounts: skipped item %s: %s", i, exc.detail)
        return accounts

    return _guard("similar", "instagram", run)  # type: ignore[arg-type]


def parse_transcript(payload: Any, shortcode: str | None = None) -> Transcript:
    def run() -> Transcript:
        data = payload
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            data = {**data, "content": [{"text": data["content"]}]}
        if isinstance(data, dict) and data.get("content") is None and "content" in data:
            data = {**data, "content": []}
        parsed = _validate(Transcript, data, "transcript", "", "transcripts")
        return parsed.model_copy(update={"shortcode": shortcode}) if shortcode else parsed

    return _guard("transcript", "transcripts", run)
