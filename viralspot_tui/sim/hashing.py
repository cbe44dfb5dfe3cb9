"""Stable hashing: the only source of randomness in the synthetic world.

Every number the world shows is a pure function of the seed and the names involved (a
username, a shortcode, an index) rather than of request order or process state, so a world
can be rebuilt at any time, in any process, and agree with itself. Python's ``hash`` is salted
per process, so we use BLAKE2b; ``random.Random`` seeded with an int is stable across
platforms and CPython versions, which lets us use its distributions (lognormal, gauss) too.

Shortcodes also carry a keyed payload — the account's topic and whether the reel has a
transcript — plus a check character. That lets the transcript endpoint answer correctly for a
shortcode issued by an earlier process (the caller resumed after a crash) without any shared
state, and reject codes this world never issued.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "INDEX_MODULUS",
    "SHORTCODE_ALPHABET",
    "SHORTCODE_LEN",
    "DecodedShortcode",
    "account_tag",
    "decode_shortcode",
    "h64",
    "make_shortcode",
    "pick",
    "rng",
    "stable_digest",
    "unit",
]

T = TypeVar("T")
_blake2b = hashlib.blake2b

SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SHORTCODE_LEN = 11
_BODY_LEN = SHORTCODE_LEN - 2
_INDEX = {ch: i for i, ch in enumerate(SHORTCODE_ALPHABET)}
MAX_TOPICS = 32  # topic index travels in 5 bits of the payload character


def stable_digest(seed: int, *parts: object) -> bytes:
    """16-byte digest of the seed and the parts; parts are separated so ("ab","c") != ("a","bc")."""
    text = "\x1f".join((str(seed), *map(str, parts)))  # map, not a generator: the world's hottest line
    return _blake2b(text.encode("utf-8"), digest_size=16).digest()


def h64(seed: int, *parts: object) -> int:
    """Unsigned 64-bit integer hash."""
    return int.from_bytes(stable_digest(seed, *parts)[:8], "big")


def unit(seed: int, *parts: object) -> float:
    """Uniform float in [0, 1)."""
    return (h64(seed, *parts) >> 11) / float(1 << 53)


def rng(seed: int, *parts: object) -> random.Random:
    """A private generator for one decision family, so adding a draw elsewhere never shifts it."""
    return random.Random(int.from_bytes(stable_digest(seed, *parts), "big"))


def pick(seed: int, options: Sequence[T], *parts: object) -> T:
    """Deterministic choice from a non-empty sequence."""
    return options[h64(seed, *parts) % len(options)]


_HALF_BITS = 27
_HALF_MASK = (1 << _HALF_BITS) - 1
_INDEX_BITS = 14
INDEX_MODULUS = 1 << _INDEX_BITS  # ~45 years of daily reels before indices wrap
_TAG_BITS = 2 * _HALF_BITS - _INDEX_BITS
_FEISTEL_ROUNDS = 4


def account_tag(seed: int, username: str) -> int:
    """40-bit tag of an account, stored in its shortcodes so a code leads back to its owner."""
    return h64(seed, "acct", username) & ((1 << _TAG_BITS) - 1)


def _feistel(seed: int, value: int, inverse: bool) -> int:
    # A keyed bijection on 54 bits: codes of one account look unrelated, yet stay decodable.
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    rounds = range(_FEISTEL_ROUNDS - 1, -1, -1) if inverse else range(_FEISTEL_ROUNDS)
    for r in rounds:
        if inverse:
            left, right = right ^ (h64(seed, "feistel", r, left) & _HALF_MASK), left
        else:
            left, right = right, left ^ (h64(seed, "feistel", r, right) & _HALF_MASK)
    return (left << _HALF_BITS) | right


def make_shortcode(seed: int, tag: int, index: int, topic: int, has_transcript: bool) -> str:
    """An 11-character Instagram-like shortcode encoding (account tag, index, topic, transcript).

    Nine body characters hold the scrambled (tag, index); the tenth is the payload XOR a mask
    derived from the body; the eleventh is a check character over the first ten, so codes
    this world never issued are recognised.
    """
    if not 0 <= topic < MAX_TOPICS:
        raise ValueError(f"topic index {topic} out of range")
    value = _feistel(seed, (tag << _INDEX_BITS) | (index % INDEX_MODULUS), inverse=False)
    body = "".join(SHORTCODE_ALPHABET[(value >> (6 * i)) & 63] for i in range(_BODY_LEN))
    payload = (topic << 1) | int(has_transcript)
    mask = h64(seed, "mask", body) & 63
    head = body + SHORTCODE_ALPHABET[payload ^ mask]
    return head + SHORTCODE_ALPHABET[h64(seed, "check", head) & 63]


@dataclass(frozen=True, slots=True)
class DecodedShortcode:
    """What a valid shortcode says about its reel without any lookup."""

    tag: int
    index_mod: int
    topic: int
    has_transcript: bool


def decode_shortcode(seed: int, code: str) -> DecodedShortcode | None:
    """Decode a code this seed issued; ``None`` for anything else."""
    if len(code) != SHORTCODE_LEN or any(ch not in _INDEX for ch in code):
        return None
    head, check = code[:-1], code[-1]
    if SHORTCODE_ALPHABET[h64(seed, "check", head) & 63] != check:
        return None
    body = head[:_BODY_LEN]
    payload = _INDEX[head[-1]] ^ (h64(seed, "mask", body) & 63)
    value = sum(_INDEX[ch] << (6 * i) for i, ch in enumerate(body))
    plain = _feistel(seed, value, inverse=True)
    return DecodedShortcode(
        tag=plain >> _INDEX_BITS,
        index_mod=plain & (INDEX_MODULUS - 1),
        topic=payload >> 1,
        has_transcript=bool(payload & 1),
    )
