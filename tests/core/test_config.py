"""Configuration: defaults < viralspot.toml < .env < environment < flags; secrets masked (docs/cli.md, §10)."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viralspot_tui.config import ConfigError, Settings, load_settings

SECRET = "rk-live-7f3a9c1e5b2d"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults() -> None:
    s = load_settings()
    assert s.simulate is False
    assert s.log_format == "text" and s.log_level == "info"
    assert s.queue.backend == "csv" and s.queue.queue_file == s.data_dir / "queue.csv"  # in the data folder
    assert s.queue.max_concurrent == 8 and s.queue.max_attempts == 3
    assert s.rapidapi.instagram_host == "instagram-scraper-stable-api.p.rapidapi.com"
    assert s.rapidapi.transcript_host == "instagram-transcripts.p.rapidapi.com"
    assert s.openai.model == "gpt-4o-mini"
    assert s.crawler.max_rounds == 5 and s.crawler.target_new_profiles == 20 and s.crawler.min_followers == 1000
    assert s.viral.primary_transcripts == 3 and s.viral.competitor_transcripts == 5 and s.viral.hooks == 5
    assert s.viral.rerun_every_hours == 24 and s.viral.lookback_days == 30
    assert s.rapidapi.key is None and s.openai.api_key is None
    assert s.db_path.name == "viralspot.db"


def test_viralspot_toml_in_the_working_directory_is_read() -> None:
    write(Path("viralspot.toml"), "simulate = true\n[queue]\nmax_concurrent = 4\n")
    s = load_settings()
    assert s.simulate is True and s.queue.max_concurrent == 4


def test_config_file_argument(tmp_path: Path) -> None:
    path = write(
        tmp_path / "custom.toml",
        'log_level = "debug"\n[queue]\nmax_concurrent = 4\nmax_attempts = 5\n'
        '[crawler]\nblocked = ["spam.account"]\n[rapidapi]\nrequests_per_second = 2.5\n',
    )
    s = load_settings(config_file=path)
    assert s.log_level == "debug"
    assert (s.queue.max_concurrent, s.queue.max_attempts) == (4, 5)
    assert s.crawler.blocked == ["spam.account"]
    assert s.rapidapi.requests_per_second == 2.5


def test_environment_beats_toml_and_flags_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "viralspot.toml", "[queue]\nmax_concurrent = 4\nmax_attempts = 5\n")
    monkeypatch.setenv("VIRALSPOT_QUEUE__MAX_CONCURRENT", "6")
    s = load_settings(config_file=path)
    assert s.queue.max_concurrent == 6
    assert s.queue.max_attempts == 5  # untouched keys still come from the file
    s = load_settings(config_file=path, queue={"max_concurrent": 9})
    assert s.queue.max_concurrent == 9
    assert s.queue.max_attempts == 5
    s = load_settings(config_file=path, simulate=True, log_level=None)  # None = flag not given
    assert s.simulate is True and s.log_level == "info"


def test_dotenv_sits_between_toml_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("viralspot.toml"), "[queue]\nmax_concurrent = 4\nmax_attempts = 5\n")
    write(Path(".env"), f"VIRALSPOT_QUEUE__MAX_CONCURRENT=6\nRAPIDAPI_KEY={SECRET}\n")
    s = load_settings()
    assert s.queue.max_concurrent == 6 and s.queue.max_attempts == 5
    assert s.rapidapi.key is not None and s.rapidapi.key.get_secret_value() == SECRET
    monkeypatch.setenv("VIRALSPOT_QUEUE__MAX_CONCURRENT", "7")
    assert load_settings().queue.max_concurrent == 7


def test_dotenv_with_unrelated_variables_still_loads() -> None:
    # A project's .env is often shared with other tools (docker compose, other apps).
    write(Path(".env"), f"POSTGRES_PASSWORD=hunter2\nRAPIDAPI_KEY={SECRET}\nVIRALSPOT_SIMULATE=1\n")
    s = load_settings()
    assert s.simulate is True
    assert s.rapidapi.key is not None


def test_provider_key_is_read_and_masked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPIDAPI_KEY", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET + "-oa")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SECRET + "-sb")
    s = load_settings()
    assert s.rapidapi.key.get_secret_value() == SECRET  # type: ignore[union-attr]
    assert s.openai.api_key.get_secret_value() == SECRET + "-oa"  # type: ignore[union-attr]
    assert s.supabase.service_role_key.get_secret_value() == SECRET + "-sb"  # type: ignore[union-attr]
    for text in (
        s.model_dump_json(),
        str(s),
        repr(s),
        str(s.model_dump()),
        repr(s.rapidapi),
        str(s.rapidapi),
        s.rapidapi.model_dump_json(),
    ):
        assert SECRET not in text
    assert "**********" in s.model_dump_json()


def test_key_from_toml_is_masked_and_not_in_error_text(tmp_path: Path) -> None:
    path = write(tmp_path / "viralspot.toml", f'[rapidapi]\nkey = "{SECRET}"\n')
    s = load_settings(config_file=path)
    assert s.rapidapi.key.get_secret_value() == SECRET  # type: ignore[union-attr]
    assert SECRET not in s.model_dump_json() and SECRET not in repr(s)
    bad = write(tmp_path / "bad.toml", f'[rapidapi]\nkey = "{SECRET}"\nretries = 99\ntimeout_seconds = "{SECRET}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=bad)
    assert SECRET not in str(info.value)
    assert "rapidapi.retries" in str(info.value)


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("[queue]\nmax_concurrent = 0\n", "queue.max_concurrent"),
        ('[queue]\nmax_concurrent = "many"\n', "queue.max_concurrent"),
        ('[queue]\nbackend = "redis"\n', "queue.backend"),
        ('log_format = "xml"\n', "log_format"),
        ("[openai]\ntemperature = 5\n", "openai.temperature"),
        ("[sim]\nfault_rate = 1.5\n", "sim.fault_rate"),
        ("[queue]\nmax_attempts = -1\n", "queue.max_attempts"),
        ("[queue]\nno_such_option = 1\n", "queue.no_such_option"),
        ("queue = 5\n", "queue"),
    ],
)
def test_invalid_value_names_the_field(tmp_path: Path, toml: str, field: str) -> None:
    path = write(tmp_path / "viralspot.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=path)
    assert field in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_environment_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_QUEUE__MAX_CONCURRENT", "abc")
    with pytest.raises(ConfigError, match=r"queue\.max_concurrent"):
        load_settings()


def test_invalid_flag_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"queue\.max_concurrent"):
        load_settings(queue={"max_concurrent": 100_000})
    with pytest.raises(ConfigError, match="log_level"):
        load_settings(log_level="loud")


def test_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "viralspot.toml", "[queue\nmax_concurrent = = 3\n")
    with pytest.raises(ConfigError):
        load_settings(config_file=path)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml")
    with pytest.raises(ConfigError):
        load_settings(config_file=tmp_path)  # a folder is not a config file


def test_require_real_keys_names_the_variable_and_mentions_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    with pytest.raises(ConfigError) as info:
        s.require_real_keys()
    assert "RAPIDAPI_KEY" in str(info.value) and "--simulate" in str(info.value)
    monkeypatch.setenv("RAPIDAPI_KEY", SECRET)
    with pytest.raises(ConfigError) as info:
        load_settings().require_real_keys()
    assert "OPENAI_API_KEY" in str(info.value) and "--simulate" in str(info.value)
    assert SECRET not in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    load_settings().require_real_keys()
    with pytest.raises(ConfigError, match="SUPABASE_URL"):
        load_settings(queue={"backend": "supabase"}).require_real_keys()
    load_settings(simulate=True).require_real_keys()
    monkeypatch.delenv("RAPIDAPI_KEY")
    load_settings(simulate=True).require_real_keys()


def test_simulate_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_SIMULATE", "1")
    assert load_settings().simulate is True


def test_data_dir_from_flag_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_DATA_DIR", str(tmp_path / "env"))
    assert load_settings().db_path == tmp_path / "env" / "viralspot.db"
    assert load_settings(data_dir=str(tmp_path / "flag")).db_path == tmp_path / "flag" / "viralspot.db"


# --------------------------------------------------------------------------- garbage config files

_KEYS = [
    "simulate",
    "log_level",
    "log_format",
    "data_dir",
    "status_interval_seconds",
    "rapidapi_key",
    "keys",
    "queue",
    "max_concurrent",
    "max_attempts",
    "backend",
    "queue_file",
    "lease_seconds",
    "blocked",
    "seed",
    "fault_rate",
    "temperature",
    "nonsense",
]
_SECTIONS = [
    "",
    "[queue]",
    "[rapidapi]",
    "[openai]",
    "[crawler]",
    "[sim]",
    "[viral]",
    "[supabase]",
    "[keys]",
    "[queue.max_concurrent]",
    "[[queue]]",
    "[nope]",
]
_VALUES = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True).map(lambda f: repr(f).replace("inf", "inf")),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=15).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(["[]", "[1, 2]", '["a", 1]', "{}", "{ a = 1 }", "1979-05-27T07:32:00Z", "nan", "-inf", '"""x"""']),
    st.text(alphabet=string.printable, max_size=10),
)
_TOML_LINE = st.one_of(
    st.sampled_from(_SECTIONS),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(_KEYS), _VALUES),
    st.text(max_size=30),
)
_TOML = st.one_of(
    st.lists(_TOML_LINE, max_size=10).map("\n".join),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_TOML)
def test_garbage_toml_gives_config_error_or_valid_settings(tmp_path: Path, text: str) -> None:
    path = tmp_path / "garbage.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        s = load_settings(config_file=path)
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(s, Settings)
    assert 1 <= s.queue.max_concurrent <= 512
    assert 0 <= s.sim.fault_rate <= 1


def test_load_settings_does_not_read_the_developers_environment() -> None:
    # Guard for this test module itself: the autouse fixture cleared the variables.
    assert not [k for k in os.environ if k.startswith("VIRALSPOT_") and k != "VIRALSPOT_CONFIG_FILE"]


# --------------------------------------------------------------------------- issue 13


def test_the_default_queue_file_follows_the_data_folder(tmp_path: Path) -> None:
    assert load_settings(data_dir=str(tmp_path / "b")).queue.queue_file == tmp_path / "b" / "queue.csv"
    given = load_settings(data_dir=str(tmp_path / "b"), queue={"queue_file": str(tmp_path / "mine.csv")})
    assert given.queue.queue_file == tmp_path / "mine.csv"


def test_simulator_variables_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from viralspot_tui.core.runtime import simulator_config

    monkeypatch.setenv("VIRALSPOT_SIM_LATENCY_MS", "4")
    monkeypatch.setenv("VIRALSPOT_SIM_FAULT_RATE", "0.25")
    monkeypatch.setenv("VIRALSPOT_SIM_SEED", "11")
    monkeypatch.setenv("VIRALSPOT_SIM_RATE_LIMIT", "0")
    monkeypatch.setenv("VIRALSPOT_SIM_QUOTA", "500")
    s = load_settings()
    assert (s.sim.latency_ms, s.sim.fault_rate, s.sim.seed, s.sim.quota) == (4.0, 0.25, 11, 500)
    config = simulator_config(s)
    assert (config.latency_ms, config.fault_rate, config.seed, config.rate_limit, config.monthly_quota) == (
        4.0,
        0.25,
        11,
        None,
        500,
    )
    assert load_settings(sim={"latency_ms": 9}).sim.latency_ms == 9  # a flag still wins


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("VIRALSPOT_SIM_LATENCY_MS", "abc", "sim.latency_ms"),
        ("VIRALSPOT_SIM_FAULT_RATE", "2", "sim.fault_rate"),
        ("VIRALSPOT_SIM_SEED", "x", "sim.seed"),
    ],
)
def test_a_bad_simulator_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert "\n" not in text and field in text and f"{variable}={value!r}" in text


def test_choice_settings_accept_any_case(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIRALSPOT_LOG_LEVEL", "DEBUG")
    s = load_settings(log_format="JSON", queue={"backend": "CSV"})
    assert (s.log_level, s.log_format, s.queue.backend) == ("debug", "json", "csv")


@pytest.mark.parametrize(
    "toml", ['[queue]\nqueue_file = ""\n', '[queue]\nqueue_file = "  "\n', '[queue]\nqueue_file = "."\n']
)
def test_an_empty_or_folder_queue_file_is_a_config_error(tmp_path: Path, toml: str) -> None:
    path = write(tmp_path / "viralspot.toml", toml)
    with pytest.raises(ConfigError, match=r"queue\.queue_file"):
        load_settings(config_file=path)
