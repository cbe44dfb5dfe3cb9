"""Bad input never crashes (docs/performance.md Reliability: bad input): config files, usernames, data folders,
API responses. A clear message and the documented exit code each time, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import json_paths

from viralspot_tui.cli.main import cli

SECTIONS = ("rapidapi", "openai", "queue", "supabase", "viral", "crawler", "sim")


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    """Run the real CLI in-process."""
    return CliRunner().invoke(cli, args, env=env)


def _assert_clean_outcome(result: Any, allowed: tuple[int, ...]) -> None:
    assert result.exit_code in allowed, (result.exit_code, result.output, result.exception)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


# ----------------------------------------------------------------------------- config files
toml_scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(lambda f: repr(f).replace("inf", "inf")),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=12).map(json.dumps),
    st.just('[1, "a"]'),
    st.just("{ x = 1 }"),
    st.just("1979-05-27T07:32:00Z"),
    st.just("[]"),
)
keys = st.one_of(
    st.sampled_from(
        ["data_dir", "simulate", "log_format", "log_level", "status_interval_seconds", "keys", "bogus", *SECTIONS]
    ),
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
)
inner_keys = st.sampled_from(
    [
        "key",
        "api_key",
        "retries",
        "timeout_seconds",
        "backend",
        "queue_file",
        "max_concurrent",
        "seed",
        "fault_rate",
        "blocked",
        "url",
        "nope",
        "model",
    ]
)
toml_docs = st.one_of(
    st.text(max_size=80),  # garbage
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.lists(st.tuples(keys, toml_scalars), max_size=4).map(lambda kv: "\n".join(f"{k} = {v}" for k, v in kv)),
    st.lists(st.tuples(st.sampled_from(SECTIONS), inner_keys, toml_scalars), max_size=4).map(
        lambda kv: "\n".join(f"[{s}]\n{k} = {v}" for s, k, v in kv)
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=toml_docs)
def test_config_show_with_any_config_file_exits_cleanly(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "viralspot.toml"
    path.write_bytes(doc.encode("utf-8", "surrogatepass"))
    result = _invoke(["--config", str(path), "config", "show"])
    _assert_clean_outcome(result, (0, 2))
    if result.exit_code == 2:
        assert result.output.startswith("error: ") and "configuration" in result.output


@pytest.mark.parametrize(
    "doc, named",
    [
        ("rapidapi = 5", "rapidapi"),
        ('[queue]\nmax_concurrent = "many"', "queue.max_concurrent"),
        ('[queue]\nbackend = "postgres"', "queue.backend"),
        ('[crawler]\nblocked = "a"', "crawler.blocked"),
        ("unknown_top = 1", "unknown_top"),
        ("[sim]\nunknown_inner = 1", "sim.unknown_inner"),
        ("[rapidapi]\nkey = 12", "rapidapi.key"),
        ("[sim]\nfault_rate = 3", "sim.fault_rate"),
        ("[queue\nbackend = 1", "line 1"),
        ('a = "unterminated', "Unterminated string"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, doc: str, named: str) -> None:
    path = tmp_path / "viralspot.toml"
    path.write_text(doc, encoding="utf-8")
    for extra in ([], ["--json"]):
        result = _invoke(["--config", str(path), "config", "show", *extra])
        _assert_clean_outcome(result, (2,))
        assert named in result.output, result.output


def test_secret_in_a_bad_config_file_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "viralspot.toml"
    path.write_text('[rapidapi]\nkey = "rk-secret-in-file-123"\nretries = "rk-secret-in-file-123"\n', encoding="utf-8")
    result = _invoke(["--config", str(path), "config", "show"])
    assert result.exit_code == 2 and "rapidapi.retries" in result.output
    assert "rk-secret-in-file-123" not in result.output


def test_bad_config_as_a_whole_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "viralspot.toml"
    path.write_bytes(b"\xff\xfe[queue]\nmax_concurrent = -1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRALSPOT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "viralspot_tui.cli.main", "--config", str(path), "config", "show"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


@pytest.mark.parametrize("data_dir, code", [("file/sub", 2), ("nul", 2), ("corrupt", 1)])
def test_unusable_data_folder_or_database_is_a_clear_error(tmp_path: Path, data_dir: str, code: int) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "viralspot.db").write_bytes(b"this is not a database" * 100)
    if data_dir == "nul":  # argv cannot carry NUL, a config file can
        config = tmp_path / "nul.toml"
        config.write_text('data_dir = "bad\\u0000folder"\n', encoding="utf-8")
        base = ["--config", str(config)]
    else:
        base = ["--data-dir", str(tmp_path / data_dir)]
    for args in (["status"], ["queue", "add", "alice"], ["--simulate", "run", "--no-ui", "--exit-when-idle"]):
        result = _invoke([*base, *args])
        _assert_clean_outcome(result, (code,))
        assert "error: " in result.output and ("data folder" in result.output or "database" in result.output)


# ----------------------------------------------------------------------------- usernames
username_like = st.one_of(
    st.from_regex(r"[a-z0-9_][a-z0-9._]{0,20}[a-z0-9_]", fullmatch=True),  # mostly valid
    st.text(max_size=40),
    st.sampled_from(
        [
            "@nasa",
            "https://www.instagram.com/natgeo/",
            "a..b",
            ".dot",
            "x" * 31,
            "",
            "  ",
            "name!",
            "https://evil.example/natgeo",
            "instagram.com/p/abc",
            "\x00",
            "ünï",
            "=cmd()",
            "@",
            "http://[",
        ]
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(names=st.lists(username_like, min_size=1, max_size=6))
def test_queue_add_with_any_names(tmp_path: Path, names: list[str]) -> None:
    from viralspot_tui.core.models.usernames import try_normalize

    names = [n.replace("\x00", "") or "\x01" for n in names]  # argv cannot carry NUL
    data = tmp_path / "data"
    result = _invoke(["--data-dir", str(data), "queue", "add", "--", *names])
    good = [try_normalize(n) for n in names]
    valid = {g for g in good if g}
    refused = sum(g is None for g in good)
    _assert_clean_outcome(result, (0 if not refused else (2 if not valid else 1),))
    assert result.output.count("refused: invalid username") == refused
    if valid:
        listed = _invoke(["--data-dir", str(data), "queue", "list", "--json"])
        assert valid <= {i["username"] for i in json.loads(listed.stdout)}


def test_queue_add_refuses_a_formula_source(tmp_path: Path) -> None:
    result = _invoke(["--data-dir", str(tmp_path / "data"), "queue", "add", "alice", "--source", "=HYPERLINK(1)"])
    _assert_clean_outcome(result, (2,))
    assert "--source" in result.output
    ok = _invoke(["--data-dir", str(tmp_path / "data"), "queue", "add", "alice", "--source", "Import-2024"])
    assert ok.exit_code == 0, ok.output


# ----------------------------------------------------------------------------- API responses
def _json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**66), max_value=2**66)
        | st.floats(allow_nan=True)
        | st.text(max_size=12),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
        max_leaves=10,
    )


def _valid(endpoint: str) -> Any:
    media = {
        "code": "AbC_123",
        "pk": "1",
        "play_count": 10,
        "like_count": 2,
        "comment_count": 1,
        "taken_at": 1700000000,
        "caption": {"text": "hi"},
        "image_versions2": {"candidates": [{"url": "https://x"}]},
    }
    return {
        "profile": {
            "username": "alice",
            "full_name": "A",
            "follower_count": 10,
            "following_count": 1,
            "media_count": 3,
            "is_verified": False,
            "is_private": False,
            "profile_pic_url": "https://p",
        },
        "reels": {
            "data": {
                "reels": [{"node": {"media": media}}, {"node": {"media": dict(media, code="Xy-9")}}],
                "pagination_token": "t1",
            }
        },
        "reel_detail": {
            "shortcode": "AbC_123",
            "video_view_count": 5,
            "edge_media_preview_like": {"count": 1},
            "edge_media_to_caption": {"edges": [{"node": {"text": "c"}}]},
            "taken_at_timestamp": 1700000000,
        },
        "similar": {
            "data": [
                {"username": "bob", "pk": 2, "social_context": "1.2K followers"},
                {"username": "carol", "full_name": "C"},
            ]
        },
        "transcript": {"lang": "en", "availableLangs": ["en"], "content": [{"text": "hello", "offset": 0}]},
    }[endpoint]


def _set(value: Any, path: tuple, new: Any, delete: bool = False) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del copy[head]
        return copy
    copy[head] = _set(copy[head], rest, new, delete)
    return copy


def _check_clear(endpoint: str, payload_or_body: Any, *, raw: bool = False) -> None:
    from viralspot_tui.core.models import instagram as m
    from viralspot_tui.core.providers.errors import MalformedResponseError, NotFoundError

    parsers = {
        "profile": m.parse_profile,
        "reels": m.parse_reels_page,
        "reel_detail": m.parse_reel_detail,
        "similar": m.parse_similar,
        "transcript": m.parse_transcript,
    }
    provider = "transcripts" if endpoint == "transcript" else "instagram"
    try:
        payload = m.parse_json(endpoint, payload_or_body, provider) if raw else payload_or_body
        parsers[endpoint](payload)
    except MalformedResponseError as exc:
        assert exc.endpoint == endpoint and str(exc).startswith(f"{provider}/{endpoint}: ")
        assert exc.field or "JSON" in exc.detail, f"no field named: {exc}"
        if exc.field:
            assert exc.field in str(exc)
    except NotFoundError:
        assert endpoint == "profile"


ENDPOINTS = ["profile", "reels", "reel_detail", "similar", "transcript"]


@settings(max_examples=300, deadline=None)
@given(endpoint=st.sampled_from(ENDPOINTS), data=st.data(), new=_json_values(), delete=st.booleans())
def test_mutated_responses_give_a_clear_error_naming_the_field(
    endpoint: str, data: Any, new: Any, delete: bool
) -> None:
    payload = _valid(endpoint)
    path = data.draw(st.sampled_from(json_paths(payload)))
    _check_clear(endpoint, _set(payload, path, new, delete=delete and bool(path)))


@settings(max_examples=150, deadline=None)
@given(endpoint=st.sampled_from(ENDPOINTS), cut=st.integers(min_value=0, max_value=10_000))
def test_truncated_bodies_give_a_clear_error(endpoint: str, cut: int) -> None:
    body = json.dumps(_valid(endpoint)).encode()
    _check_clear(endpoint, body[: cut % max(1, len(body))], raw=True)


def test_deeply_nested_body_is_a_clear_error() -> None:
    _check_clear("profile", b"[" * 100_000 + b"]" * 100_000, raw=True)
    _check_clear("similar", {"data": [{"username": "a" * 10_000}]})
