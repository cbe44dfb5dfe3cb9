"""The shared content tables: ``primary_profiles``, ``content`` and ``secondary_profiles`` (docs/queue.md).

Writes are idempotent upserts on the natural keys (username, shortcode), so a crash between
"sent" and "stored" or a re-scrape can never duplicate a row (docs/queue.md, "Leases"). A re-scrape refreshes
numbers, keeps ``first_seen_at`` and never deletes: content that dropped off the latest page
is still content. A value the new answer lacks (None) never overwrites a known one.

The ``*_sync`` functions take a connection so the pipeline can put the whole store step —
profile, reels, similar accounts, recomputed outlier scores and aggregates, the queue item's
completion and the checkpoint cleanup — into ONE transaction (docs/queue.md, "Leases", Q11). The async
methods are single round trips to the database thread for the other processors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..clock import Clock, SystemClock, from_iso, to_iso
from ..models.instagram import ProfileData, ReelData, SimilarAccount
from ..models.usernames import normalize_username
from ..pipeline.metrics import ProfileAggregates, engagement_rate, median_nonzero, outlier_score, profile_aggregates
from .database import Database

__all__ = ["ContentStore", "StoreCounts"]


@dataclass(frozen=True)
class StoreCounts:
    reels_new: int = 0
    reels_updated: int = 0
    similar: int = 0


_PROFILE_SQL = """
INSERT INTO primary_profiles (username, profile_id, full_name, biography, followers, following, media_count,
    is_verified, is_business, is_private, profile_pic_url, hd_profile_pic_url, first_scraped_at, last_scraped_at)
VALUES (:username, :pk, :full_name, :biography, :followers, :following, :media_count,
    :is_verified, :is_business, :is_private, :profile_pic_url, :hd_profile_pic_url, :now, :now)
ON CONFLICT(username) DO UPDATE SET
    profile_id = COALESCE(excluded.profile_id, primary_profiles.profile_id),
    full_name = COALESCE(excluded.full_name, primary_profiles.full_name),
    biography = COALESCE(excluded.biography, primary_profiles.biography),
    followers = COALESCE(excluded.followers, primary_profiles.followers),
    following = COALESCE(excluded.following, primary_profiles.following),
    media_count = COALESCE(excluded.media_count, primary_profiles.media_count),
    is_verified = excluded.is_verified,
    is_business = excluded.is_business,
    is_private = excluded.is_private,
    profile_pic_url = COALESCE(excluded.profile_pic_url, primary_profiles.profile_pic_url),
    hd_profile_pic_url = COALESCE(excluded.hd_profile_pic_url, primary_profiles.hd_profile_pic_url),
    last_scraped_at = excluded.last_scraped_at
"""

_REEL_SQL = """
INSERT INTO content (content_id, shortcode, username, url, caption, taken_at, views, likes, comments,
    thumbnail_url, video_duration, first_seen_at, updated_at)
VALUES (:content_id, :shortcode, :username, :url, :caption, :taken_at, COALESCE(:views, 0), COALESCE(:likes, 0),
    COALESCE(:comments, 0), :thumbnail_url, :video_duration, :now, :now)
ON CONFLICT(shortcode) DO UPDATE SET
    username = excluded.username,
    caption = COALESCE(:caption, content.caption),
    taken_at = COALESCE(:taken_at, content.taken_at),
    views = COALESCE(:views, content.views),
    likes = COALESCE(:likes, content.likes),
    comments = COALESCE(:comments, content.comments),
    thumbnail_url = COALESCE(:thumbnail_url, content.thumbnail_url),
    video_duration = COALESCE(:video_duration, content.video_duration),
    updated_at = :now
"""

_SECONDARY_SQL = """
INSERT INTO secondary_profiles (username, full_name, profile_pic_url, is_verified, is_private, pk, social_context,
    followers, discovered_by, first_seen_at, updated_at)
VALUES (:username, :full_name, :profile_pic_url, :is_verified, :is_private, :pk, :social_context,
    :followers, :discovered_by, :now, :now)
ON CONFLICT(username) DO UPDATE SET
    full_name = COALESCE(excluded.full_name, secondary_profiles.full_name),
    profile_pic_url = COALESCE(excluded.profile_pic_url, secondary_profiles.profile_pic_url),
    is_verified = excluded.is_verified,
    is_private = excluded.is_private,
    pk = COALESCE(excluded.pk, secondary_profiles.pk),
    social_context = COALESCE(excluded.social_context, secondary_profiles.social_context),
    followers = COALESCE(excluded.followers, secondary_profiles.followers),
    updated_at = excluded.updated_at
"""


def upsert_profile_sync(conn: sqlite3.Connection, profile: ProfileData, now: str) -> None:
    row = profile.model_dump(
        include={
            "username",
            "pk",
            "full_name",
            "biography",
            "followers",
            "following",
            "media_count",
            "is_verified",
            "is_business",
            "is_private",
            "profile_pic_url",
            "hd_profile_pic_url",
        }
    )
    conn.execute(_PROFILE_SQL, {**row, "now": now})


def upsert_reels_sync(conn: sqlite3.Connection, username: str, reels: Iterable[ReelData], now: str) -> tuple[int, int]:
    """Upsert by shortcode; returns ``(new, updated)``."""
    new = updated = 0
    for reel in reels:
        exists = conn.execute("SELECT 1 FROM content WHERE shortcode = ?", (reel.shortcode,)).fetchone() is not None
        conn.execute(
            _REEL_SQL,
            {
                "content_id": reel.pk or reel.media_id or reel.shortcode,
                "shortcode": reel.shortcode,
                "username": username,
                "url": reel.url,
                "caption": reel.caption,
                "taken_at": to_iso(reel.taken_at),
                "views": reel.views,
                "likes": reel.likes,
                "comments": reel.comments,
                "thumbnail_url": reel.thumbnail_url,
                "video_duration": reel.video_duration,
                "now": now,
            },
        )
        if exists:
            updated += 1
        else:
            new += 1
    return new, updated


def recompute_sync(conn: sqlite3.Connection, username: str) -> ProfileAggregates:
    """Outlier scores and engagement over ALL stored reels of the profile, then its aggregates."""
    rows = conn.execute(
        "SELECT shortcode, views, likes, comments FROM content WHERE username = ?", (username,)
    ).fetchall()
    baseline = median_nonzero(r["views"] for r in rows)
    conn.executemany(
        "UPDATE content SET outlier_score = ?, engagement_rate = ? WHERE shortcode = ?",
        [
            (
                outlier_score(r["views"], baseline),
                engagement_rate(r["likes"], r["comments"], r["views"]),
                r["shortcode"],
            )
            for r in rows
        ],
    )
    agg = profile_aggregates((r["views"], r["likes"], r["comments"]) for r in rows)
    conn.execute(
        "UPDATE primary_profiles SET total_views = ?, median_views = ?, mean_views = ?, std_views = ?,"
        " total_likes = ?, total_comments = ?, reels_count = ? WHERE username = ?",
        (
            agg.total_views,
            agg.median_views,
            agg.mean_views,
            agg.std_views,
            agg.total_likes,
            agg.total_comments,
            agg.reels_count,
            username,
        ),
    )
    return agg


def upsert_secondaries_sync(
    conn: sqlite3.Connection, discovered_by: str, accounts: Iterable[SimilarAccount], now: str
) -> int:
    count = 0
    for account in accounts:
        row = account.model_dump(
            include={
                "username",
                "full_name",
                "profile_pic_url",
                "is_verified",
                "is_private",
                "pk",
                "social_context",
                "followers",
            }
        )
        conn.execute(_SECONDARY_SQL, {**row, "discovered_by": discovered_by, "now": now})
        count += 1
    return count


class ContentStore:
    """Profiles, reels and similar accounts; each method is one round trip to the DB thread."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()

    def apply_fetch_sync(
        self,
        conn: sqlite3.Connection,
        profile: ProfileData,
        reels: Iterable[ReelData],
        similar: Iterable[SimilarAccount],
    ) -> StoreCounts:
        """Everything a profile fetch stores, for use inside a caller's transaction."""
        now = to_iso(self.clock.now())
        assert now is not None
        upsert_profile_sync(conn, profile, now)
        new, updated = upsert_reels_sync(conn, profile.username, reels, now)
        found = upsert_secondaries_sync(conn, profile.username, similar, now)
        recompute_sync(conn, profile.username)
        return StoreCounts(new, updated, found)

    async def save_fetch(
        self, profile: ProfileData, reels: Iterable[ReelData] = (), similar: Iterable[SimilarAccount] = ()
    ) -> StoreCounts:
        reels, similar = list(reels), list(similar)
        return await self.db.write(lambda conn: self.apply_fetch_sync(conn, profile, reels, similar))

    async def get_profile(self, username: str) -> dict[str, Any] | None:
        name = normalize_username(username)

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT * FROM primary_profiles WHERE username = ?", (name,)).fetchone()
            return dict(row) if row else None

        return await self.db.read(read)

    async def reels_for(self, username: str) -> list[dict[str, Any]]:
        """Stored reels, newest first (undated last)."""
        name = normalize_username(username)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT * FROM content WHERE username = ? ORDER BY taken_at IS NULL, taken_at DESC, views DESC", (name,)
            ).fetchall()
            return [dict(r) for r in rows]

        return await self.db.read(read)

    async def known_shortcodes(self, username: str) -> set[str]:
        name = normalize_username(username)

        def read(conn: sqlite3.Connection) -> set[str]:
            return {r[0] for r in conn.execute("SELECT shortcode FROM content WHERE username = ?", (name,))}

        return await self.db.read(read)

    async def set_transcript(self, shortcode: str, text: str | None, lang: str | None) -> bool:
        """Store a transcript (or, with ``text=None``, that the reel has none); False if unknown reel."""
        now = to_iso(self.clock.now())

        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE content SET transcript = ?, transcript_lang = ?, transcript_checked_at = ? WHERE shortcode = ?",
                (text, lang, now, shortcode),
            )
            return cur.rowcount > 0

        return await self.db.write(write)

    async def profile_age(self, username: str) -> timedelta | None:
        """Time since the profile was last scraped, or None if it never was."""
        name = normalize_username(username)

        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT last_scraped_at FROM primary_profiles WHERE username = ?", (name,)).fetchone()
            return row[0] if row else None

        stamp = from_iso(await self.db.read(read))
        return None if stamp is None else self.clock.now() - stamp
