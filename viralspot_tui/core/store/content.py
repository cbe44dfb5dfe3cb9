"""The shared content tables: ``primary_profiles``, ``content`` and ``secondary_profiles`` (docs/queue.md).

Writes are idempotent upserts on the natural keys (username, shortcode), so a crash between
"sent" and "stored" or a re-scrape can never duplicate a row (docs/queue.md, "Leases"). A re-scrape refreshes
numbers, keeps ``first_seen_at`` and never deletes: content that dropped off the latest page
is still content. A value the new answer lacks (None) never overwrites a known one.

The ``*_sync`` functions take a connection so the pipeline can put the whole store step —
profile, reels, similar accounts, outlier scores and aggregates over all stored reels, the queue
item's completion and the checkpoint cleanup — into ONE transaction (docs/queue.md, "Leases", Q11).
Scores are worked out before anything is written (``plan_reels_sync``), so each row is written
once per fetch (docs/performance-client-cpu.md, "Round 3"). The async methods are single round
trips to the database thread for the other processors.
"""

from __future__ import annotations

import json
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


# A fetch stores the profile with the aggregates over its reels in this one statement, so the row is
# written (and, with capture on, captured) once per fetch; a private profile passes no aggregates
# (NULL), which keep what is stored.
_PROFILE_SQL = """
INSERT INTO primary_profiles (username, profile_id, full_name, biography, followers, following, media_count,
    is_verified, is_business, is_private, profile_pic_url, hd_profile_pic_url, first_scraped_at, last_scraped_at,
    total_views, median_views, mean_views, std_views, total_likes, total_comments, reels_count)
VALUES (:username, :pk, :full_name, :biography, :followers, :following, :media_count,
    :is_verified, :is_business, :is_private, :profile_pic_url, :hd_profile_pic_url, :now, :now,
    COALESCE(:total_views, 0), COALESCE(:median_views, 0), COALESCE(:mean_views, 0), COALESCE(:std_views, 0),
    COALESCE(:total_likes, 0), COALESCE(:total_comments, 0), COALESCE(:reels_count, 0))
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
    last_scraped_at = excluded.last_scraped_at,
    total_views = COALESCE(:total_views, primary_profiles.total_views),
    median_views = COALESCE(:median_views, primary_profiles.median_views),
    mean_views = COALESCE(:mean_views, primary_profiles.mean_views),
    std_views = COALESCE(:std_views, primary_profiles.std_views),
    total_likes = COALESCE(:total_likes, primary_profiles.total_likes),
    total_comments = COALESCE(:total_comments, primary_profiles.total_comments),
    reels_count = COALESCE(:reels_count, primary_profiles.reels_count)
"""
_AGGREGATES = ("total_views", "median_views", "mean_views", "std_views", "total_likes", "total_comments", "reels_count")
_NO_AGGREGATES = dict.fromkeys(_AGGREGATES)

# views, likes and comments come merged (plan_reels_sync: None keeps the stored number) and scored.
_REEL_SQL = """
INSERT INTO content (content_id, shortcode, username, url, caption, taken_at, views, likes, comments,
    outlier_score, engagement_rate, thumbnail_url, video_duration, first_seen_at, updated_at)
VALUES (:content_id, :shortcode, :username, :url, :caption, :taken_at, :views, :likes, :comments,
    :outlier_score, :engagement_rate, :thumbnail_url, :video_duration, :now, :now)
ON CONFLICT(shortcode) DO UPDATE SET
    username = excluded.username,
    caption = COALESCE(:caption, content.caption),
    taken_at = COALESCE(:taken_at, content.taken_at),
    views = excluded.views,
    likes = excluded.likes,
    comments = excluded.comments,
    outlier_score = excluded.outlier_score,
    engagement_rate = excluded.engagement_rate,
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


def _profile_row(profile: ProfileData, now: str) -> dict[str, Any]:
    return {
        "username": profile.username,
        "pk": profile.pk,
        "full_name": profile.full_name,
        "biography": profile.biography,
        "followers": profile.followers,
        "following": profile.following,
        "media_count": profile.media_count,
        "is_verified": profile.is_verified,
        "is_business": profile.is_business,
        "is_private": profile.is_private,
        "profile_pic_url": profile.profile_pic_url,
        "hd_profile_pic_url": profile.hd_profile_pic_url,
        "now": now,
    }


def upsert_profile_sync(
    conn: sqlite3.Connection, profile: ProfileData, now: str, aggregates: ProfileAggregates | None = None
) -> None:
    """The profile's own fields; with ``aggregates``, its reel aggregates in the same statement."""
    known = _NO_AGGREGATES if aggregates is None else {name: getattr(aggregates, name) for name in _AGGREGATES}
    conn.execute(_PROFILE_SQL, {**_profile_row(profile, now), **known})


Numbers = tuple[int | None, int | None, int | None]  # (views, likes, comments) as stored


@dataclass(frozen=True)
class ReelsPlan:
    """What a fetch writes to ``content``, worked out from one read before anything is written.

    Every page reel is written once with its final outlier score and engagement rate; a stored reel
    off the page is rewritten only when the new baseline moved its score. Scoring after writing
    (as this module once did) wrote each page reel twice and every stored reel on every fetch,
    ~40% of the store step's CPU and, with capture on, twice the outbox rows (docs/performance-client-cpu.md).
    """

    rows: list[dict[str, Any]]
    rescored: list[tuple[float | None, float | None, str]]
    aggregates: ProfileAggregates
    new: int
    updated: int


def _merge(reel: ReelData, prev: Numbers | None) -> Numbers:
    """The numbers a reel's upsert leaves: a new row takes 0 for what the answer lacks, a known
    row keeps its stored value (None never overwrites a known number)."""
    if prev is None:
        return (reel.views or 0, reel.likes or 0, reel.comments or 0)
    return (
        prev[0] if reel.views is None else reel.views,
        prev[1] if reel.likes is None else reel.likes,
        prev[2] if reel.comments is None else reel.comments,
    )


def plan_reels_sync(conn: sqlite3.Connection, username: str, reels: Iterable[ReelData], now: str) -> ReelsPlan:
    """Scores and aggregates over ALL stored reels of the profile as they will be after this page."""
    page = list(reels)
    stored = {
        r[0]: r
        for r in conn.execute(
            "SELECT shortcode, views, likes, comments, outlier_score, engagement_rate FROM content WHERE username = ?",
            (username,),
        )
    }
    # every reel of the profile as this write leaves it: the stored ones, then the page merged in
    mine: dict[str, Numbers] = {code: (r[1], r[2], r[3]) for code, r in stored.items()}
    elsewhere = [reel.shortcode for reel in page if reel.shortcode not in mine]  # new, or stored under another name
    if elsewhere:
        sql = (
            "SELECT shortcode, views, likes, comments FROM content WHERE shortcode IN (SELECT value FROM json_each(?))"
        )
        for r in conn.execute(sql, (json.dumps(elsewhere),)):
            mine[r[0]] = (r[1], r[2], r[3])
    new = updated = 0
    for reel in page:
        prev = mine.get(reel.shortcode)
        if prev is None:
            new += 1
        else:
            updated += 1
        mine[reel.shortcode] = _merge(reel, prev)
    baseline = median_nonzero(n[0] for n in mine.values())

    def scored(code: str) -> tuple[float | None, float | None]:
        views, likes, comments = mine[code]
        return outlier_score(views, baseline), engagement_rate(likes, comments, views)

    rows = []
    for reel in page:
        views, likes, comments = mine[reel.shortcode]
        score, rate = scored(reel.shortcode)
        rows.append(
            {
                "content_id": reel.pk or reel.media_id or reel.shortcode,
                "shortcode": reel.shortcode,
                "username": username,
                "url": reel.url,
                "caption": reel.caption,
                "taken_at": to_iso(reel.taken_at),
                "views": views,
                "likes": likes,
                "comments": comments,
                "outlier_score": score,
                "engagement_rate": rate,
                "thumbnail_url": reel.thumbnail_url,
                "video_duration": reel.video_duration,
                "now": now,
            }
        )
    on_page = {reel.shortcode for reel in page}
    rescored = []
    for code, r in stored.items():
        if code not in on_page:
            score, rate = scored(code)
            if (score, rate) != (r[4], r[5]):
                rescored.append((score, rate, code))
    return ReelsPlan(rows, rescored, profile_aggregates(mine.values()), new, updated)


def write_reels_sync(conn: sqlite3.Connection, plan: ReelsPlan) -> None:
    conn.executemany(_REEL_SQL, plan.rows)
    if plan.rescored:
        conn.executemany("UPDATE content SET outlier_score = ?, engagement_rate = ? WHERE shortcode = ?", plan.rescored)


def upsert_secondaries_sync(
    conn: sqlite3.Connection, discovered_by: str, accounts: Iterable[SimilarAccount], now: str
) -> int:
    rows = [
        {
            "username": account.username,
            "full_name": account.full_name,
            "profile_pic_url": account.profile_pic_url,
            "is_verified": account.is_verified,
            "is_private": account.is_private,
            "pk": account.pk,
            "social_context": account.social_context,
            "followers": account.followers,
            "discovered_by": discovered_by,
            "now": now,
        }
        for account in accounts
    ]
    conn.executemany(_SECONDARY_SQL, rows)
    return len(rows)


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
        plan = plan_reels_sync(conn, profile.username, reels, now)
        upsert_profile_sync(conn, profile, now, plan.aggregates)  # first: the reels' outbox rows follow their profile
        write_reels_sync(conn, plan)
        found = upsert_secondaries_sync(conn, profile.username, similar, now)
        return StoreCounts(plan.new, plan.updated, found)

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
