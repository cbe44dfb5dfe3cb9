"""How the settings sources read variables and merge (viralspot_tui/config_sources.py, docs/cli.md).

The rules are those pydantic-settings applied before the loader was our own; each test pins one
of them, through ``load_settings`` (the real files in the test's working folder, the real
environment) or, for the merge itself, the module's functions.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from viralspot_tui.config import ConfigError, Settings, load_settings
from viralspot_tui.config_sources import merge, read_variables


def test_a_section_is_read_whole_as_json_and_its_keys_win_over_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_QUEUE", '{"max_concurrent": 5, "max_attempts": 2}')
    monkeypatch.setenv("VIRALSPOT_QUEUE__MAX_CONCURRENT", "6")
    s = load_settings()
    assert (s.queue.max_concurrent, s.queue.max_attempts) == (6, 2)


def test_list_and_table_keys_take_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_CRAWLER__BLOCKED", '["spam.one", "spam.two"]')
    monkeypatch.setenv("VIRALSPOT_KEYS__QUIT", "x")  # a table's value is a string: taken as it is
    s = load_settings()
    assert s.crawler.blocked == ["spam.one", "spam.two"]
    assert s.keys == {"quit": "x"}


@pytest.mark.parametrize(
    ("variable", "value"), [("VIRALSPOT_CRAWLER__BLOCKED", "spam.one,spam.two"), ("VIRALSPOT_QUEUE", "fast")]
)
def test_bad_json_names_the_variable_and_where_it_was(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=rf"^could not read {variable} \(environment\): this setting takes JSON"):
        load_settings()
    monkeypatch.delenv(variable)
    Path(".env").write_text(f"{variable}={value}\n")
    with pytest.raises(ConfigError, match=rf"^could not read {variable} \(\.env\)"):
        load_settings()


def test_names_match_in_any_case_and_aliases_in_their_declared_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("viralspot_queue__max_concurrent", "4")
    monkeypatch.setenv("VIRALSPOT_RAPIDAPI_KEY", "prefixed-key")
    monkeypatch.setenv("RAPIDAPI_KEY", "plain-key")
    s = load_settings()
    assert s.queue.max_concurrent == 4
    assert s.rapidapi.key is not None and s.rapidapi.key.get_secret_value() == "plain-key"


def test_the_nested_key_variable_beats_the_well_known_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPIDAPI_KEY", "plain-key")
    monkeypatch.setenv("VIRALSPOT_RAPIDAPI__KEY", "nested-key")
    s = load_settings()
    assert s.rapidapi.key is not None and s.rapidapi.key.get_secret_value() == "nested-key"


def test_unknown_prefixed_variables_are_ignored_but_unknown_section_keys_are_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIRALSPOT_NOT_A_SETTING", "1")
    monkeypatch.setenv("VIRALSPOT_NOPE__X", "1")
    assert load_settings().queue.max_concurrent == 8
    monkeypatch.setenv("VIRALSPOT_QUEUE__MAX_CONCURENT", "4")  # the typo an operator makes
    with pytest.raises(ConfigError, match=r"queue\.max_concurent: Extra inputs are not permitted"):
        load_settings()


def test_dotenv_export_lines_and_bare_names(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("# ours\nexport VIRALSPOT_LOG_LEVEL=debug\nVIRALSPOT_SIMULATE\nOTHER_TOOL_TOKEN=abc\n")
    s = load_settings()
    assert s.log_level == "debug" and s.simulate is False  # a name with no value sets nothing


def test_simulator_variables_come_from_the_environment_only() -> None:
    Path(".env").write_text("VIRALSPOT_SIM_SEED=3\nVIRALSPOT_SIM__LATENCY_MS=4\n")
    s = load_settings()
    assert s.sim.seed == 7 and s.sim.latency_ms == 4  # the documented VIRALSPOT_SIM_* are for the shell


def test_an_unreadable_file_is_a_config_error_naming_it() -> None:
    Path("viralspot.toml").write_bytes(b"\xff\xfe[queue]\n")
    with pytest.raises(ConfigError, match=r"^could not read the configuration file viralspot.toml: 'utf-8' codec"):
        load_settings()


def test_settings_made_directly_read_no_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRALSPOT_SIMULATE", "true")
    Path("viralspot.toml").write_text("[queue]\nmax_concurrent = 4\n")
    s = Settings()
    assert s.simulate is False and s.queue.max_concurrent == 8


def test_load_settings_leaves_the_environment_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("[queue]\nmax_attempts = 7\n")
    before = dict(os.environ)
    assert load_settings(config_file=path).queue.max_attempts == 7
    assert dict(os.environ) == before


def test_merge_replaces_values_and_merges_tables_key_by_key() -> None:
    below = {"queue": {"max_concurrent": 3, "max_attempts": 5}, "keys": {"quit": "q"}, "simulate": False}
    merge(below, {"queue": {"max_concurrent": 4}, "keys": "not a table", "log_level": "debug"})
    assert below == {
        "queue": {"max_concurrent": 4, "max_attempts": 5},
        "keys": "not a table",
        "simulate": False,
        "log_level": "debug",
    }


def test_read_variables_keys_aliases_by_the_name_found() -> None:
    found = read_variables(
        Settings, {"openai_api_key": "k", "VIRALSPOT_DATA_DIR": "/srv/v", "VIRALSPOT_OPENAI__MODEL": "m"}, where="test"
    )
    assert found == {"OPENAI_API_KEY": "k", "data_dir": "/srv/v", "openai": {"model": "m"}}
