"""Response bodies in the exact shapes the real hosts use (docs/real-apis.md).

Client parsers are written against these shapes, so the quirks matter as much as the data:
the reels list nests media under ``node.media``, the reel detail uses GraphQL-style ``edge_*``
names, the similar-accounts endpoint returns one of three container shapes and gives follower
counts only as text in ``social_context``. Keeping all shapes here means the world model stays
free of wire-format concerns.

``real=True`` gives the shapes captured from the real hosts (see ``sim.quirks``): the HD
picture under ``hd_profile_pic_url_info``, reels at the top level for some accounts, bare list
entries (no date, no caption) for others, a detail with a smaller ``video_view_count`` beside
``video_play_count``, similar accounts as a bare array, transcript offsets in milliseconds.
"""

from __future__ import annotations

from typing import Any

from .hashing import h64, pick
from .quirks import bare_list_entries, reels_at_top_level, video_view_share
from .words import FIRST_NAMES
from .world import Profile, Reel, World

__all__ = [
    "SIMILAR_SHAPES",
    "error",
    "format_followers",
    "private_reels_payload",
    "profile_payload",
    "reel_detail_payload",
    "reels_payload",
    "similar_payload",
    "similar_shape",
    "social_context",
    "transcript_payload",
]

SIMILAR_SHAPES: tuple[str, ...] = ("list", "data", "keyed")


def error(message: str) -> dict[str, str]:
    """The scraper host's error body (``{"error": ...}``)."""
    return {"error": message}


def profile_payload(p: Profile, *, real: bool = False) -> dict[str, Any]:
    body = _profile_fields(p)
    if real:
        del body["hd_profile_pic_url"]
        body["hd_profile_pic_url_info"] = {"url": p.hd_profile_pic_url, "width": 1080, "height": 1080}
        site = f"https://{p.username.replace('_', '').replace('.', '')}.example"
        has_link = h64(0, "link", p.pk) % 2 == 0
        body["external_url"] = site if has_link else None
        body["bio_links"] = [{"url": site, "title": "", "link_type": "external"}] if has_link else []
        body["total_clips_count"] = p.media_count
        body["account_type"] = 2 if p.is_business else 3 if p.is_verified else 1
    return body


def _profile_fields(p: Profile) -> dict[str, Any]:
    return {
        "username": p.username,
        "full_name": p.full_name,
        "biography": p.biography,
        "follower_count": p.follower_count,
        "following_count": p.following_count,
        "media_count": p.media_count,
        "is_verified": p.is_verified,
        "is_business": p.is_business,
        "is_private": p.is_private,
        "profile_pic_url": p.profile_pic_url,
        "hd_profile_pic_url": p.hd_profile_pic_url,
        "pk": p.pk,
        "id": p.pk,
        "category": p.category,
    }


def _media(reel: Reel) -> dict[str, Any]:
    return {
        "code": reel.shortcode,
        "pk": reel.pk,
        "id": f"{reel.pk}_{reel.owner_pk}",
        "media_type": 2,
        "product_type": "clips",
        "play_count": reel.play_count,
        "like_count": reel.like_count,
        "comment_count": reel.comment_count,
        "taken_at": reel.taken_at_ts,
        "caption": {"text": reel.caption},
        "video_duration": reel.video_duration,
        "image_versions2": {
            "candidates": [
                {"url": reel.display_url, "width": 1080, "height": 1920},
                {"url": reel.display_url.replace(".jpg", "_640.jpg"), "width": 640, "height": 1137},
            ]
        },
        "user": {"username": reel.owner, "pk": reel.owner_pk},
    }


def _bare_media(reel: Reel) -> dict[str, Any]:
    """A list entry as some real answers carry it: no ``taken_at``, no caption, no picture."""
    return {
        "code": reel.shortcode,
        "pk": reel.pk,
        "media_type": 2,
        "product_type": "clips",
        "play_count": reel.play_count,
        "like_count": reel.like_count,
        "comment_count": reel.comment_count,
    }


def reels_payload(
    reels: list[Reel], token: str | None, seed: int = 0, username: str = "", *, real: bool = False
) -> dict[str, Any]:
    if not real:
        return {"data": {"reels": [{"node": {"media": _media(r)}} for r in reels], "pagination_token": token}}
    bare = bare_list_entries(seed, username)
    items = []
    for reel in reels:
        media = _bare_media(reel) if bare else {**_media(reel), "ig_play_count": reel.play_count}
        items.append({"node": {"media": media}})
    if reels_at_top_level(seed, username):
        return {"reels": items, "pagination_token": token}
    return {"data": {"reels": items, "pagination_token": token}}


def private_reels_payload() -> dict[str, Any]:
    return {"data": {"reels": [], "pagination_token": None}, "message": "This account is private"}


def reel_detail_payload(reel: Reel, seed: int = 0, *, real: bool = False) -> dict[str, Any]:
    """GraphQL shape; ``video_play_count`` is the plays, ``video_view_count`` (real) a smaller counter."""
    views = int(reel.play_count * video_view_share(seed, reel.shortcode)) if real else reel.play_count
    return {
        "__typename": "XDTGraphVideo",
        "id": reel.pk,
        "shortcode": reel.shortcode,
        "is_video": True,
        "video_view_count": views,
        "video_play_count": reel.play_count,
        "video_duration": reel.video_duration,
        "edge_media_preview_like": {"count": reel.like_count},
        "edge_media_to_parent_comment": {"count": reel.comment_count},
        "edge_media_to_caption": {"edges": [{"node": {"text": reel.caption}}]},
        "display_url": reel.display_url,
        "taken_at_timestamp": reel.taken_at_ts,
        # The owner's name is unknown only for codes issued by an earlier process.
        "owner": {"username": reel.owner, "id": reel.owner_pk} if reel.owner else {"id": reel.owner_pk},
    }


def format_followers(count: int, style: str = "compact") -> str:
    """Instagram's follower text: "12.5K followers", "1.2M followers" or "8,431 followers"."""
    if style == "comma" or count < 1_000:
        number = f"{count:,}"
    elif count >= 1_000_000 or round(count / 1_000, 1) >= 1_000:
        number = f"{count / 1_000_000:.1f}M"
    else:
        number = f"{count / 1_000:.1f}K"
    return f"{number} follower" if count == 1 else f"{number} followers"


def social_context(seed: int, viewer: str, candidate: Profile) -> str | None:
    """The text under a suggested account; ``None`` means the key is absent.

    About 65% carry a follower count (compact or comma form), the rest a "Followed by" line,
    an empty string or nothing — so a crawler must sometimes enrich with a profile call.
    """
    roll = h64(seed, "ctx", viewer, candidate.username) % 100
    if roll < 45:
        return format_followers(candidate.follower_count, "compact")
    if roll < 65:
        return format_followers(candidate.follower_count, "comma")
    if roll < 80:
        friend = pick(seed, FIRST_NAMES, "friend", viewer, candidate.username)
        more = h64(seed, "more", viewer, candidate.username) % 9
        return f"Followed by {friend} + {more} more" if more else f"Followed by {friend}"
    if roll < 90:
        return ""
    return None


def similar_shape(seed: int, username: str) -> str:
    """Which of the three container shapes this username's answer uses."""
    return SIMILAR_SHAPES[h64(seed, "shape", username) % len(SIMILAR_SHAPES)]


def similar_payload(world: World, username: str, *, real: bool = False) -> Any:
    items: list[dict[str, Any]] = []
    for name in world.similar(username):
        p = world.profile(name)
        item: dict[str, Any] = {
            "username": p.username,
            "full_name": p.full_name,
            "profile_pic_url": p.profile_pic_url,
            "is_verified": p.is_verified,
            "is_private": p.is_private,
            "pk": p.pk,
        }
        context = social_context(world.seed, username, p)
        if context is not None:
            item["social_context"] = context
        items.append(item)
    shape = "list" if real else similar_shape(world.seed, username)
    if shape == "list":
        return items
    if shape == "data":
        return {"data": items}
    return {str(i): item for i, item in enumerate(items)}


def transcript_payload(
    segments: list[dict[str, object]] | None, as_text: bool, *, millis: bool = False
) -> dict[str, Any]:
    """``millis``: offsets and durations in milliseconds, as the real API sends them."""
    if not segments:
        return {"lang": None, "availableLangs": [], "content": []}
    if millis:
        segments = [
            {**s, "offset": round(float(s["offset"]) * 1000), "duration": round(float(s["duration"]) * 1000)}  # type: ignore[arg-type]
            for s in segments
        ]
    content: Any = " ".join(str(s["text"]) for s in segments) if as_text else segments
    return {"lang": "en", "availableLangs": ["en"], "content": content}
