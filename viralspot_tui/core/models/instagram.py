"""Instagram and transcript data as the rest of the core sees it, and the parsers that build it.

The RapidAPI scraper answers in several shapes for the same thing (``follower_count`` or
``followers``; similar accounts as a bare list, ``{data: [...]}`` or ``{"0": ..., "1": ...}``;
reels under ``data`` or at the top level). The models absorb those variants through alias
choices, so each model is validated straight from the raw JSON *and* from its own
``model_dump`` (checkpoints reload it by field name).

One variant is *not* an alias: the detail's ``video_view_count`` is a different, smaller
counter than the plays (``play_count`` / ``ig_play_count`` in the list, ``video_play_count``
in the detail), so it never becomes a reel's views (see docs/real-apis.md).

Every ``parse_*`` function either returns a model or raises
:class:`~viralspot_tui.core.providers.errors.MalformedResponseError` naming the endpoint and
the field path (``data.reels[3].node.media.code``) — never a bare ``KeyError`` or
``ValidationError``: a malformed body is an expected condition of a flaky upstream, not a bug.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import AliasPath, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..providers.errors import MalformedResponseError, NotFoundError
from .instagram_fields import (
    Caption,
    Count,
    Flag,
    Id,
    Shortcode,
    When,
    alias,
    parse_follower_text,
    reel_url,
    reject,
)
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


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True, frozen=True)


class ProfileData(_Model):
    username: Username
    full_name: str | None = None
    biography: str | None = None
    followers: Count = Field(
        None, validation_alias=alias("followers", "follower_count", AliasPath("edge_followed_by", "count"))
    )
    following: Count = Field(
        None, validation_alias=alias("following", "following_count", AliasPath("edge_follow", "count"))
    )
    media_count: Count = None
    is_verified: Flag = False
    is_business: Flag = Field(False, validation_alias=alias("is_business", "is_business_account"))
    is_private: Flag = False
    profile_pic_url: str | None = None
    hd_profile_pic_url: str | None = Field(
        None, validation_alias=alias("hd_profile_pic_url", AliasPath("hd_profile_pic_url_info", "url"))
    )
    pk: Id = Field(None, validation_alias=alias("pk", "id", "pk_id"))
    external_url: str | None = None
    bio_links: list[str] = Field(default_factory=list)
    total_clips_count: Count = None
    account_type: int | None = Field(None, ge=0, le=1000)

    @field_validator("bio_links", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        """``bio_links`` items are objects with a ``url`` (or plain strings); junk is dropped."""
        if value is None:
            return []
        if not isinstance(value, list):
            return reject("expected a list of links")
        links = [item.get("url") if isinstance(item, dict) else item for item in value]
        return [link for link in links if isinstance(link, str) and link]

    @field_validator("account_type", mode="before")
    @classmethod
    def _account_type(cls, value: Any) -> Any:
        return None if isinstance(value, bool) else value


class ReelData(_Model):
    shortcode: Shortcode = Field(validation_alias=alias("shortcode", "code"))
    pk: Id = None
    media_id: Id = Field(None, validation_alias=alias("media_id", "id"))
    views: Count = Field(None, validation_alias=alias("views", "play_count"))
    likes: Count = Field(None, validation_alias=alias("likes", "like_count"))
    comments: Count = Field(None, validation_alias=alias("comments", "comment_count"))
    taken_at: When = None
    caption: Caption = None
    video_duration: float | None = Field(None, ge=0, allow_inf_nan=False)
    thumbnail_url: str | None = Field(
        None,
        validation_alias=alias("thumbnail_url", AliasPath("image_versions2", "candidates", 0, "url"), "display_url"),
    )

    @model_validator(mode="before")
    @classmethod
    def _plays(cls, data: Any) -> Any:
        """Plays are ``play_count``, else ``ig_play_count`` (the public plays), else ``view_count``.

        A present-but-null ``play_count`` must not hide an ``ig_play_count`` beside it, which
        a plain alias choice would do (it takes the first key present, null or not).
        """
        if isinstance(data, dict) and data.get("views") is None and data.get("play_count") is None:
            for key in ("ig_play_count", "view_count"):
                if data.get(key) is not None:
                    return {**data, "play_count": data[key]}
        return data

    @property
    def url(self) -> str:
        return reel_url(self.shortcode)

    @property
    def needs_detail(self) -> bool:
        """The list entry lacks what the metrics (views) or the viral selection (date) need."""
        return self.views is None or self.taken_at is None

    def merged_with(self, detail: "ReelDetail") -> "ReelData":
        """Fill only what the list entry lacks from a reel-detail answer.

        The list's plays stay the view count: the detail's ``video_view_count`` is another,
        smaller counter and is never used for views; the detail's own plays
        (``video_play_count``) only fill a list entry that had none.
        """
        updates = {
            "views": self.views if self.views is not None else detail.views,
            "likes": self.likes if self.likes is not None else detail.likes,
            "comments": self.comments if self.comments is not None else detail.comments,
            "taken_at": self.taken_at or detail.taken_at,
            "caption": self.caption or detail.caption,
            "thumbnail_url": self.thumbnail_url or detail.display_url,
            "video_duration": self.video_duration if self.video_duration is not None else detail.video_duration,
        }
        return self.model_copy(update=updates)


class ReelsPage(_Model):
    reels: list[ReelData] = Field(default_factory=list)
    next_token: str | None = None
    message: str | None = None


class ReelDetail(_Model):
    """``get_media_data.php`` in Instagram's web (GraphQL) shape.

    ``views`` are the plays (``video_play_count``, or a media object's ``play_count`` /
    ``ig_play_count``); ``video_view_count`` is kept apart under its own name because it
    counts something else and is smaller (one real reel: 190 against 465 plays).
    """

    shortcode: Shortcode = Field(validation_alias=alias("shortcode", "code"))
    views: Count = Field(None, validation_alias=alias("views", "video_play_count", "play_count", "ig_play_count"))
    video_view_count: Count = None
    video_duration: float | None = Field(None, ge=0, allow_inf_nan=False)
    likes: Count = Field(
        None, validation_alias=alias("likes", AliasPath("edge_media_preview_like", "count"), "like_count")
    )
    comments: Count = Field(
        None,
        validation_alias=alias(
            "comments",
            AliasPath("edge_media_to_parent_comment", "count"),
            AliasPath("edge_media_to_comment", "count"),
            "comment_count",
        ),
    )
    caption: Caption = Field(
        None, validation_alias=alias("caption", AliasPath("edge_media_to_caption", "edges", 0, "node", "text"))
    )
    display_url: str | None = None
    taken_at: When = Field(None, validation_alias=alias("taken_at", "taken_at_timestamp"))


class SimilarAccount(_Model):
    username: Username
    full_name: str | None = None
    profile_pic_url: str | None = None
    is_verified: Flag = False
    is_private: Flag = False
    pk: Id = Field(None, validation_alias=alias("pk", "id"))
    social_context: str | None = None
    followers: Count = Field(None, validation_alias=alias("followers", "follower_count"))

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
        default_factory=list, validation_alias=alias("available_langs", "availableLangs")
    )
    segments: list[TranscriptSegment] = Field(default_factory=list, validation_alias=alias("segments", "content"))

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
    """The profile object, at the top level or under ``data``.

    An ``{"error": ...}`` body is classified by the provider before this runs (see
    ``providers.upstream``); here it is simply not a profile.
    """

    def run() -> ProfileData:
        if isinstance(payload, dict) and "username" not in payload:
            inner = payload.get("data") if isinstance(payload.get("data"), dict) else None
            if inner is not None and "username" in inner:
                return _validate(ProfileData, inner, "profile", "data", "instagram")
        return _validate(ProfileData, payload, "profile", "", "instagram")

    return _guard("profile", "instagram", run)


def parse_reels_page(payload: Any) -> ReelsPage:
    def run() -> ReelsPage:
        if not isinstance(payload, dict):
            raise _fail("reels", "(body)", f"expected an object, got {type(payload).__name__}", "instagram")
        # Reels sit under ``data`` or at the top level, with ``pagination_token`` beside them.
        nested = isinstance(payload.get("data"), dict) and any(k in payload["data"] for k in ("reels", "items"))
        container, prefix = (payload["data"], "data") if nested else (payload, "")
        if not any(k in container for k in ("reels", "items")):
            # No list at all is not "no reels": stored as zero it would be silently wrong.
            raise _fail("reels", "reels", "no reels list in the answer", "instagram")
        raw_reels = container.get("reels", container.get("items"))
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


_DETAIL_WRAPPERS = ("data", "xdt_shortcode_media", "shortcode_media", "graphql", "media")


def parse_reel_detail(payload: Any) -> ReelDetail:
    """The media object at the top level or inside GraphQL-style wrappers (``data``,
    ``xdt_shortcode_media``, ``graphql.shortcode_media``), at most a few levels deep."""

    def run() -> ReelDetail:
        data, prefix = payload, ""
        for _ in range(3):
            if not isinstance(data, dict) or "shortcode" in data or "code" in data:
                break
            key = next((k for k in _DETAIL_WRAPPERS if isinstance(data.get(k), dict)), None)
            if key is None:
                break
            data, prefix = data[key], f"{prefix}.{key}".lstrip(".")
        return _validate(ReelDetail, data, "reel_detail", prefix, "instagram")

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

    return _guard("similar", "instagram", run)  # type: ignore[arg-type, type-var]


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
