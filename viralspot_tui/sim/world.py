"""The ground truth of the synthetic Instagram: accounts, reels, the similar-account graph.

The world is open-ended — any valid username is an account — and everything about an account
is derived from (seed, username) and everything about a reel from (seed, username, index), so
the world needs no storage and two processes with the same seed agree. Only *time* changes
what is visible: each account posts on its own cadence from a fixed anchor, so moving the
clock forward reveals new reels (recurring analyses need that), while a reel's numbers grow
slightly with age (a re-scrape sees refreshed counts).

Tests and benchmarks read this object to know what the HTTP layer *should* have said.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from .hashing import INDEX_MODULUS, account_tag, decode_shortcode, h64, make_shortcode, rng, unit
from .names import community_pool_names, display_name, is_valid_username
from .words import TOPIC_INDEX, TOPICS, Topic, biography, caption, transcript_segments

__all__ = ["EPOCH", "N_COMMUNITIES", "POOL_SIZE", "PAGE_SIZE", "Profile", "Reel", "World"]

EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
N_COMMUNITIES = 40
POOL_SIZE = 150
PAGE_SIZE = 12
ProfileKind = Literal["public", "private", "missing"]


@dataclass(frozen=True, slots=True)
class Profile:
    """One account as the world knows it (``media_count`` depends on the time asked)."""

    username: str
    kind: ProfileKind
    pk: str
    full_name: str
    biography: str
    follower_count: int
    following_count: int
    media_count: int
    is_verified: bool
    is_business: bool
    category: str | None
    profile_pic_url: str
    hd_profile_pic_url: str
    community: int
    topic: Topic
    base_views: float

    @property
    def exists(self) -> bool:
        return self.kind != "missing"

    @property
    def is_private(self) -> bool:
        return self.kind == "private"


@dataclass(frozen=True, slots=True)
class Reel:
    """One reel with its numbers as of the time it was asked for."""

    shortcode: str
    pk: str
    owner: str
    owner_pk: str
    index: int
    taken_at: datetime
    caption: str
    play_count: int
    like_count: int
    comment_count: int
    video_duration: float
    has_transcript: bool
    display_url: str

    @property
    def taken_at_ts(self) -> int:
        return int(self.taken_at.timestamp())

    @property
    def url(self) -> str:
        return f"https://www.instagram.com/reel/{self.shortcode}/"


@dataclass(frozen=True, slots=True)
class _Timeline:
    start: datetime
    cadence_days: float
    cap: int


@dataclass(frozen=True, slots=True)
class _ReelSeed:
    shortcode: str
    pk: str
    taken_at: datetime
    caption: str
    final_views: float
    like_ratio: float
    comment_ratio: float
    hides_plays: bool
    duration: float
    has_transcript: bool


@dataclass(frozen=True, slots=True)
class _Numbers:
    followers: int
    following: int
    verified: bool
    business: bool
    pk: str
    base_views: float


class World:
    """Deterministic synthetic Instagram for one seed; ``clock`` gives the default "now".

    Account numbers, timelines and reels are keyed by the account's *tag* (a hash of the
    username that every shortcode carries), so a reel can be rebuilt from its shortcode alone —
    a process that restarts mid-item can still answer reel-detail calls for codes an earlier
    process issued. Only the owner's username text needs the name to have been seen.
    """

    def __init__(self, seed: int, clock: Callable[[], datetime]) -> None:
        self.seed = seed
        self._clock = clock
        self._owners: dict[int, str] = {}  # account tag -> username, learnt as names are seen
        self._pools: list[list[str]] | None = None
        self._member_of: dict[str, int] = {}
        self._static_profile = lru_cache(maxsize=200_000)(self._build_profile)
        self._numbers = lru_cache(maxsize=200_000)(self._build_numbers)
        self._reel_seed = lru_cache(maxsize=400_000)(self._build_reel_seed)
        self._timeline = lru_cache(maxsize=200_000)(self._build_timeline)
        self._dated_profile = lru_cache(maxsize=65_536)(self._with_media_count)

    # ----------------------------------------------------------------- accounts
    def now(self) -> datetime:
        return self._clock()

    def tag(self, username: str) -> int:
        return account_tag(self.seed, username)

    def profile(self, username: str, now: datetime | None = None) -> Profile:
        """The account behind ``username`` (case-folded); invalid names are "missing"."""
        username = username.lower()
        base = self._static_profile(username)
        if base.kind == "missing":
            return base
        latest = self._latest_index(self.tag(username), now or self.now())
        return self._dated_profile(username, latest)

    def _with_media_count(self, username: str, latest: int) -> Profile:
        extra = h64(self.seed, "posts", username) % 300
        return replace(self._static_profile(username), media_count=latest + 1 + extra)

    def _build_numbers(self, tag: int) -> _Numbers:
        r = rng(self.seed, "account", tag)
        followers = int(min(400e6, max(30.0, math.exp(r.gauss(math.log(15_000), 1.8)))))
        following = int(min(7_500.0, math.exp(r.gauss(math.log(600), 0.8))))
        verified = (followers >= 500_000 and r.random() < 0.7) or r.random() < 0.01
        business = r.random() < 0.4
        pk = str(1_000_000_000 + h64(self.seed, "pk", tag) % 70_000_000_000)
        return _Numbers(followers, following, verified, business, pk, max(40.0, followers * r.uniform(0.05, 0.6)))

    def _build_profile(self, username: str) -> Profile:
        kind = self._kind(username)
        community = self.community_of(username)
        topic = TOPICS[community % len(TOPICS)]
        if kind == "missing":
            return Profile(username, "missing", "", "", "", 0, 0, 0, False, False, None, "", "", community, topic, 0.0)
        tag = self.tag(username)
        self._owners.setdefault(tag, username)
        n = self._numbers(tag)
        pic = f"https://scontent.cdninstagram.sim/v/t51.2885-19/{n.pk}_s150x150.jpg"
        return Profile(
            username=username,
            kind=kind,
            pk=n.pk,
            full_name=display_name(self.seed, username, topic),
            biography=biography(self.seed, username, topic),
            follower_count=n.followers,
            following_count=n.following,
            media_count=0,
            is_verified=n.verified,
            is_business=n.business,
            category=topic.category if n.business else None,
            profile_pic_url=pic,
            hd_profile_pic_url=pic.replace("s150x150", "s1080x1080"),
            community=community,
            topic=topic,
            base_views=n.base_views,
        )

    def _kind(self, username: str) -> ProfileKind:
        if not is_valid_username(username) or username.startswith("missing_"):
            return "missing"
        if username.startswith("private_"):
            return "private"
        if username.startswith(("public_", "notranscript_")) or username in self._members():
            # Pool members are what the similar graph recommends; they must exist to be useful.
            return "private" if username in self._members() and unit(self.seed, "kind", username) < 0.06 else "public"
        u = unit(self.seed, "kind", username)
        return "missing" if u < 0.03 else "private" if u < 0.08 else "public"

    # ------------------------------------------------------------- the graph
    def _members(self) -> dict[str, int]:
        if self._pools is None:
            taken: set[str] = set()
            pools = [
                community_pool_names(self.seed, TOPICS[k % len(TOPICS)], k, POOL_SIZE, taken)
                for k in range(N_COMMUNITIES)
            ]
            self._member_of = {name: k for k, pool in enumerate(pools) for name in pool}
            self._pools = pools
        return self._member_of

    def community_of(self, username: str) -> int:
        """Pool members belong to their pool; any other name is hashed into a community."""
        member = self._members().get(username)
        return member if member is not None else h64(self.seed, "community", username) % N_COMMUNITIES

    def community_members(self, community: int) -> list[str]:
        self._members()
        assert self._pools is not None
        return list(self._pools[community % N_COMMUNITIES])

    def similar(self, username: str) -> list[str]:
        """Up to 20 similar accounts: mostly the same community, 1–2 from the next one."""
        username = username.lower()
        if not self._static_profile(username).exists:
            return []
        k = self.community_of(username)
        r = rng(self.seed, "similar", username)
        own = [n for n in self.community_members(k) if n != username]
        neighbours = [n for n in self.community_members(k + 1) if n != username]
        chosen = r.sample(own, r.randint(10, 18))
        for name in r.sample(neighbours, r.randint(1, 2)):
            chosen.insert(r.randrange(len(chosen) + 1), name)
        return chosen

    # ----------------------------------------------------------------- reels
    def _build_timeline(self, tag: int) -> _Timeline:
        r = rng(self.seed, "timeline", tag)
        start = EPOCH + timedelta(days=r.uniform(0, 180))
        cadence = r.uniform(1.0, 5.0)
        cap = int(5 + 195 * r.random() ** 1.5)
        return _Timeline(start, cadence, cap)

    def _posted_at(self, tag: int, timeline: _Timeline, index: int) -> datetime:
        offset = index + 0.8 * unit(self.seed, "jitter", tag, index)
        return timeline.start + timedelta(days=timeline.cadence_days * offset)

    def _latest_index(self, tag: int, now: datetime) -> int:
        """Index of the newest reel posted at or before ``now`` (-1 when none yet)."""
        tl = self._timeline(tag)
        elapsed = (now - tl.start).total_seconds() / 86_400
        if elapsed < 0:
            return -1
        index = min(int(elapsed // tl.cadence_days), INDEX_MODULUS - 1)
        while index >= 0 and self._posted_at(tag, tl, index) > now:
            index -= 1
        return index

    def _visible_range(self, tag: int, now: datetime) -> range:
        """Indices the reels endpoint lists: the newest ``cap`` posted so far, oldest first."""
        latest = self._latest_index(tag, now)
        return range(max(0, latest - self._timeline(tag).cap + 1), latest + 1)

    def _build_reel_seed(self, tag: int, index: int, topic_index: int, no_transcript: bool) -> _ReelSeed:
        r = rng(self.seed, "reel", tag, index)
        views = self._numbers(tag).base_views * r.lognormvariate(0.0, 0.9)
        outlier, boost = r.random(), r.uniform(5.0, 30.0)
        if outlier < 0.04:
            views *= boost  # the outliers the Viral Ideas pipeline hunts for
        has_transcript = r.random() >= 0.25 and not no_transcript
        topic = TOPICS[topic_index]
        return _ReelSeed(
            shortcode=make_shortcode(self.seed, tag, index, topic_index, has_transcript),
            pk=str(3_000_000_000_000_000_000 + h64(self.seed, "mpk", tag, index) % 10**18),
            taken_at=self._posted_at(tag, self._timeline(tag), index),
            caption=caption(self.seed, f"#{tag}", index, topic),
            final_views=views,
            like_ratio=r.uniform(0.01, 0.08),
            comment_ratio=r.uniform(0.0005, 0.005),
            hides_plays=r.random() < 0.02,
            duration=round(r.uniform(6.0, 90.0), 3),
            has_transcript=has_transcript,
        )

    def _seed_for(self, username: str, index: int) -> _ReelSeed:
        profile = self._static_profile(username)
        return self._reel_seed(
            self.tag(username), index, TOPIC_INDEX[profile.topic.name], username.startswith("notranscript_")
        )

    def _reel_at(self, s: _ReelSeed, tag: int, owner: str, index: int, now: datetime) -> Reel:
        age_h = max(0.0, (now - s.taken_at).total_seconds() / 3600)
        growth = (1 - 0.45 * math.exp(-age_h / 48)) * (1 + 0.03 * math.log1p(age_h / 24))
        views = s.final_views * growth
        return Reel(
            shortcode=s.shortcode,
            pk=s.pk,
            owner=owner,
            owner_pk=self._numbers(tag).pk,
            index=index,
            taken_at=s.taken_at,
            caption=s.caption,
            play_count=0 if s.hides_plays else int(views),
            like_count=int(views * s.like_ratio),
            comment_count=int(views * s.comment_ratio),
            video_duration=s.duration,
            has_transcript=s.has_transcript,
            display_url=f"https://scontent.cdninstagram.sim/v/t51.2885-15/{s.shortcode}.jpg",
        )

    def _owned_reel(self, username: str, index: int, now: datetime) -> Reel:
        return self._reel_at(self._seed_for(username, index), self.tag(username), username, index, now)

    def reels(self, username: str, now: datetime | None = None) -> list[Reel]:
        """Listed reels, newest first; empty for private and missing accounts."""
        username = username.lower()
        if self._static_profile(username).kind != "public":
            return []
        now = now or self.now()
        visible = self._visible_range(self.tag(username), now)
        return [self._owned_reel(username, i, now) for i in reversed(visible)]

    def reel_page(
        self, username: str, count: int, max_id: str | None, now: datetime | None = None
    ) -> tuple[list[Reel], str | None]:
        """One page (newest first) and the token for the next; raises ``ValueError`` on a bad token.

        The token names the next index to list, so reels posted between two page requests
        never shift later pages (no duplicates, nothing skipped).
        """
        username = username.lower()
        now = now or self.now()
        visible = self._visible_range(self.tag(username), now)
        if self._static_profile(username).kind != "public" or not visible:
            return [], None
        start = visible[-1] if max_id is None else self._decode_token(username, max_id)
        size = max(1, min(count, PAGE_SIZE))
        indices = [i for i in range(start, start - size, -1) if i >= visible.start]
        nxt = start - size
        token = self._encode_token(username, nxt) if indices and nxt >= visible.start else None
        return [self._owned_reel(username, i, now) for i in indices], token

    def _encode_token(self, username: str, index: int) -> str:
        check = h64(self.seed, "page", username, index) & 0xFFFFFFFF
        raw = f"{index}:{check:08x}".encode()
        return "QVFD" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_token(self, username: str, token: str) -> int:
        try:
            body = token.removeprefix("QVFD")
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
            index_text, check = raw.split(":")
            index = int(index_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ValueError("invalid max_id") from None
        if f"{h64(self.seed, 'page', username, index) & 0xFFFFFFFF:08x}" != check:
            raise ValueError("invalid max_id")
        return index

    def reel(self, shortcode: str, now: datetime | None = None) -> Reel | None:
        """The reel behind a shortcode if this world issued it and it is posted by ``now``.

        Everything is rebuilt from the code itself; ``owner`` is the username when this world
        has seen the account's name (any request about it), else "".
        """
        decoded = decode_shortcode(self.seed, shortcode)
        if decoded is None or decoded.topic >= len(TOPICS):
            return None
        tag, index = decoded.tag, decoded.index_mod
        owner = self._owners.get(tag, "")
        if owner:
            profile = self._static_profile(owner)
            if profile.kind != "public":
                return None
        now = now or self.now()
        if index > self._latest_index(tag, now):
            return None
        seed = self._reel_seed(tag, index, decoded.topic, not decoded.has_transcript)
        if seed.shortcode != shortcode:
            return None
        return self._reel_at(seed, tag, owner, index, now)

    # ----------------------------------------------------------- transcripts
    def has_transcript(self, shortcode: str) -> bool:
        """Whether the transcript service knows this reel (read from the code itself)."""
        decoded = decode_shortcode(self.seed, shortcode)
        return bool(decoded and decoded.has_transcript and decoded.topic < len(TOPICS))

    def transcript(self, shortcode: str) -> list[dict[str, object]] | None:
        """Transcript segments, or ``None`` when the reel has none."""
        decoded = decode_shortcode(self.seed, shortcode)
        if decoded is None or not decoded.has_transcript or decoded.topic >= len(TOPICS):
            return None
        return transcript_segments(self.seed, shortcode, TOPICS[decoded.topic])
