"""How the real hosts answer, where that differs from the tidy shapes we first assumed.

With ``SimConfig.quirks == "real"`` (the default) the simulator reproduces what captured
answers of the real scraper and transcript hosts show (see docs/real-apis.md): errors as
HTTP 200 ``{"error": ...}`` bodies with the real texts, reels at the top level or under
``data``, list entries without ``taken_at`` or caption for some accounts, a detail whose
``video_view_count`` is a smaller counter than the plays, ``hd_profile_pic_url_info``,
similar accounts as a bare array, a server that honours only one paging parameter pair, and
transcripts answering 206 ("none") and 202 ("being prepared"). ``"off"`` keeps the earlier,
idealised answers, so a benchmark can compare the two.

Every choice here is a pure function of (seed, name), like the rest of the world; the only
state is which transcripts were already asked for (a 202 turns into the transcript on the
next ask).
"""

from __future__ import annotations

import threading

from .hashing import h64

__all__ = [
    "BUSY_TEXT",
    "MEDIA_THROTTLED_TEXT",
    "NOT_EXIST_TEXT",
    "OFF",
    "PAGING_PAIRS",
    "QUIRK_MODES",
    "REAL",
    "SIMILAR_NONE_TEXT",
    "THROTTLED_TEXT",
    "UNKNOWN_TEXT",
    "PreparingJobs",
    "bare_list_entries",
    "no_similar",
    "reels_at_top_level",
    "transcript_prepares",
    "video_view_share",
]

REAL, OFF = "real", "off"
QUIRK_MODES: tuple[str, ...] = (REAL, OFF)
PAGING_PAIRS: tuple[str, ...] = ("amount_pagination_token", "count_max_id")

# The texts captured from the real scraper host (all sent with HTTP 200).
NOT_EXIST_TEXT = "Invalid or missing username or user does not exist on Instagram"
BUSY_TEXT = "Please try again later. You wont be charged for this request."
THROTTLED_TEXT = "data not found. Please try again later."
MEDIA_THROTTLED_TEXT = "Media data not found. Received 429 Too Many Requests."
SIMILAR_NONE_TEXT = "User similar accounts data not found or user profile is private or does not exist on Instagram"
# Not a captured text: what an upstream change could bring, to exercise the "unknown" path.
UNKNOWN_TEXT = "Upstream returned an unexpected status (code 7)"

BARE_PREFIX = "nodates_"  # usernames whose list entries always lack dates (tests address them)
NO_SIMILAR_PREFIX = "nosimilar_"  # usernames the host has no similar accounts for


def reels_at_top_level(seed: int, username: str) -> bool:
    """About half the accounts get ``reels`` and ``pagination_token`` at the top level."""
    return h64(seed, "quirk-top", username.lower()) % 2 == 0


def bare_list_entries(seed: int, username: str) -> bool:
    """About one account in four lists reels with only code, pk, type and counts."""
    name = username.lower()
    return name.startswith(BARE_PREFIX) or h64(seed, "quirk-bare", name) % 4 == 0


def no_similar(username: str) -> bool:
    return username.lower().startswith(NO_SIMILAR_PREFIX)


def transcript_prepares(seed: int, shortcode: str) -> bool:
    """About one transcript in five is "being prepared" (202) on its first ask."""
    return h64(seed, "quirk-prep", shortcode) % 5 == 0


def video_view_share(seed: int, shortcode: str) -> float:
    """``video_view_count`` as a share of plays: 0 for about one reel in ten, else 25–65%."""
    roll = h64(seed, "quirk-vvc", shortcode) % 100
    return 0.0 if roll < 10 else 0.25 + 0.4 * (roll - 10) / 90


class PreparingJobs:
    """Which transcripts were asked for once already (thread-safe: two front doors)."""

    def __init__(self) -> None:
        self._asked: set[str] = set()
        self._lock = threading.Lock()

    def first_ask(self, shortcode: str) -> bool:
        with self._lock:
            if shortcode in self._asked:
                return False
            self._asked.add(shortcode)
            return True
