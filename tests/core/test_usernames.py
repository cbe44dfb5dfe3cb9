"""Username validation and normalisation (docs/queue.md, "Usernames", §10 bad input)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from viralspot_tui.core.models.usernames import InvalidUsername, Username, normalize_username, try_normalize

_RESERVED_PATHS = {"p", "reel", "reels", "tv", "stories", "explore", "accounts"}
_RULE = re.compile(r"^[a-z0-9._]{1,30}$")


def satisfies_instagram_rules(name: str) -> bool:
    return bool(_RULE.match(name)) and not name.startswith(".") and not name.endswith(".") and ".." not in name


# --------------------------------------------------------------------------- accepted forms


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("natgeo", "natgeo"),
        ("NatGeo", "natgeo"),
        ("  nasa  ", "nasa"),
        ("@garyvee", "garyvee"),
        ("@GaryVee", "garyvee"),
        ("a", "a"),
        ("a" * 30, "a" * 30),
        ("a.b_c.9", "a.b_c.9"),
        ("_under_", "_under_"),
        ("https://www.instagram.com/hubermanlab/", "hubermanlab"),
        ("https://www.instagram.com/hubermanlab", "hubermanlab"),
        ("http://instagram.com/HubermanLab/", "hubermanlab"),
        ("https://www.instagram.com/hubermanlab/?hl=en", "hubermanlab"),
        ("https://www.instagram.com/hubermanlab/?igsh=MTc4MmM1YmI2Ng%3D%3D&utm_source=qr", "hubermanlab"),
        ("https://www.instagram.com/hubermanlab#top", "hubermanlab"),
        ("https://m.instagram.com/hubermanlab/", "hubermanlab"),
        ("https://m.instagram.com/HubermanLab?utm_source=ig_web", "hubermanlab"),
        ("https://instagr.am/hubermanlab/", "hubermanlab"),
        ("HTTPS://WWW.INSTAGRAM.COM/HubermanLab/", "hubermanlab"),
        ("www.instagram.com/hubermanlab/", "hubermanlab"),
        ("instagram.com/hubermanlab", "hubermanlab"),
        ("https://www.instagram.com/hubermanlab/reels/", "hubermanlab"),
    ],
)
def test_accepted_forms_are_reduced_to_the_name(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected
    assert try_normalize(raw) == expected


def test_scheme_less_mobile_url_is_accepted_like_the_www_form() -> None:
    # "www.instagram.com/x" and "instagram.com/x" are accepted without a scheme; the mobile host
    # (what a phone's share sheet gives) must be too, not refused for containing '/'.
    assert normalize_username("m.instagram.com/hubermanlab/") == "hubermanlab"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.instagram.com/_u/NatGeo", "natgeo"),  # the app's deep link to a profile
        ("instagram.com/_u/nasa/?igsh=abc", "nasa"),
        ("https://www.instagram.com/_u", "_u"),  # a profile really called _u
        ("@https://instagram.com/x", "x"),  # an @ pasted before a URL
        ("@ www.instagram.com/nike/", "nike"),
    ],
)
def test_deep_links_and_an_at_before_a_url_give_the_profile_name(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


def test_a_url_without_a_host_says_so_instead_of_naming_a_missing_host() -> None:
    with pytest.raises(InvalidUsername) as caught:
        normalize_username("https:///natgeo")
    assert "names no host" in caught.value.reason and "missing" not in caught.value.reason


# --------------------------------------------------------------------------- refused forms


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("@", "empty"),
        ("a" * 31, "longer than 30"),
        ("@" + "b" * 31, "longer than 30"),
        ("https://www.instagram.com/" + "c" * 31 + "/", "longer than 30"),
        (".leading", "start or end with '.'"),
        ("trailing.", "start or end with '.'"),
        ("dou..ble", "'..'"),
        ("has space", "not allowed"),
        ("dash-name", "not allowed"),
        ("@@twice", "not allowed"),
        ("tab\tname", "not allowed"),
        ("nul\x00name", "not allowed"),
        ("x'; DROP TABLE queue;--", "not allowed"),
        ("bob'); DELETE FROM queue;--", "not allowed"),
        ('=HYPERLINK("http://evil.example","click")', ""),
        ("=1+1", "not allowed"),
        ("+1", "not allowed"),
        ("-2", "not allowed"),
        ("@SUM(A1)", "not allowed"),
        ("\u0430dmin", "ASCII"),  # Cyrillic 'а' look-alike
        ("n\u0430me", "ASCII"),
        ("\uff4e\uff41\uff4d\uff45", "ASCII"),  # fullwidth "name"
        ("na\u200dme", "ASCII"),  # zero-width joiner
        ("na\u200bme", "ASCII"),  # zero-width space
        ("caf\u00e9", "ASCII"),
        ("https://www.instagram.com/p/C0ffee123/", "/p/"),
        ("https://www.instagram.com/reel/C0ffee123/", "/reel/"),
        ("https://www.instagram.com/reels/C0ffee123/", "/reels/"),
        ("https://www.instagram.com/stories/nasa/123/", "/stories/"),
        ("https://www.instagram.com/explore/tags/cats/", "/explore/"),
        ("https://www.instagram.com/", "no profile name"),
        ("https://www.tiktok.com/@nasa", "not an Instagram profile URL"),
        ("https://instagram.com.evil.example/nasa", "not an Instagram profile URL"),
        ("https://evil.example/instagram.com/nasa", "not an Instagram profile URL"),
        ("ftp://files.example/nasa", "not an Instagram profile URL"),
    ],
)
def test_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidUsername) as info:
        normalize_username(raw)
    message = str(info.value)
    assert info.value.reason, "the error must say why"
    assert reason in message
    assert message.startswith("invalid username")
    assert try_normalize(raw) is None


@pytest.mark.parametrize("raw", [None, 42, 3.5, b"nasa", ["nasa"]])
def test_non_text_is_refused(raw: object) -> None:
    with pytest.raises(InvalidUsername, match="expected text"):
        normalize_username(raw)


def test_long_input_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidUsername) as info:
        normalize_username("x" * 5000)
    assert len(str(info.value)) < 200


def test_pydantic_field_refuses_invalid_names() -> None:
    class Model(BaseModel):
        name: Username

    assert Model(name="@NASA").name == "nasa"
    with pytest.raises(ValidationError, match="not allowed"):
        Model(name="x'; DROP TABLE queue;--")


# --------------------------------------------------------------------------- properties

_ALPHABET = string.ascii_letters + string.digits + "._@/:?=&%#-+ \t'\";()\u0430\uff41\u200d\u00e9["
_raw_text = st.one_of(
    st.text(),
    st.text(alphabet=_ALPHABET, max_size=40),
    st.builds(
        lambda pre, name, post: f"{pre}{name}{post}",
        st.sampled_from(
            [
                "",
                "@",
                "https://www.instagram.com/",
                "https://m.instagram.com/",
                "instagram.com/",
                "http://",
                "https://",
                "https://evil.example/",
            ]
        ),
        st.text(alphabet=string.ascii_letters + string.digits + "._", max_size=35),
        st.sampled_from(["", "/", "/?hl=en", "?igsh=abc", "#x", "/reels/", " "]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(_raw_text)
@example("http://[")
@example("https://[::1/nasa")
def test_any_input_gives_a_valid_name_or_invalid_username(raw: str) -> None:
    """Whatever the input, the result obeys Instagram's rules and is idempotent — or the input is
    refused with InvalidUsername (never another exception, which callers do not catch)."""
    try:
        name = normalize_username(raw)
    except InvalidUsername as exc:
        assert exc.reason
        assert try_normalize(raw) is None
        return
    assert satisfies_instagram_rules(name), name
    assert name == name.lower()
    assert normalize_username(name) == name
    assert normalize_username("@" + name) == name
    assert normalize_username(name.upper()) == name


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9_]([A-Za-z0-9_]|\.(?=[A-Za-z0-9_])){0,29}", fullmatch=True))
def test_every_valid_name_is_accepted_in_every_form(name: str) -> None:
    expected = name.lower()
    assert normalize_username(name) == expected
    assert normalize_username(f"@{name}") == expected
    if expected in _RESERVED_PATHS:  # /p/, /reel/ … are Instagram's own pages, not profiles
        return
    assert normalize_username(f"https://www.instagram.com/{name}/?hl=en") == expected
    assert normalize_username(f"https://m.instagram.com/{name}") == expected


def test_url_parsing_errors_are_invalid_username() -> None:
    # urllib raises a bare ValueError("Invalid IPv6 URL") for these; callers (CLI, try_normalize)
    # only catch InvalidUsername, so it must be translated.
    for raw in ("http://[", "https://[::1/nasa", "https://www.instagram.com]/nasa"):
        with pytest.raises(InvalidUsername):
            normalize_username(raw)
        assert try_normalize(raw) is None
