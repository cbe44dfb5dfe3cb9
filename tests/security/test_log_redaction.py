"""Secrets never reach a log line, in text or JSON, whatever shape they arrive in (docs/real-apis.md, §10)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog
from testkit import make_settings

from viralspot_tui.logs import MASK, configure_logging, redact, redact_value

RAPID = 'rk-"quoted\\slash-0123456789'
OPENAI = "sk-proj-AbCdEf0123456789xyz"
SUPA = "sb-service-role-9876543210"


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]):
    yield capsys
    logging.getLogger().handlers[:] = []
    structlog.reset_defaults()


def _emit() -> None:
    log = logging.getLogger("viralspot.test")
    log.info("plain %s and %s", RAPID, OPENAI)
    log.warning("upstream said: Invalid API key %r", SUPA)
    try:
        raise RuntimeError(f"request failed with key={RAPID} auth=Bearer {OPENAI}")
    except RuntimeError:
        log.exception("crash")
    slog = structlog.get_logger("viralspot.struct")
    slog.info(
        "headers",
        headers={"x-rapidapi-key": RAPID, "authorization": f"Bearer {OPENAI}"},
        keys=[SUPA, (RAPID,)],
        nested={"a": {"b": [SUPA]}},
    )
    slog.info(f"repr form {RAPID!r} {SUPA!r}")
    slog.info("an exception object", error=ValueError(f"bad {SUPA}"))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_in_any_log_line(fmt: str, captured: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt, "debug", [RAPID, OPENAI, SUPA])
    _emit()
    err = captured.readouterr().err
    assert err.count("\n") >= 6, err
    for secret in (RAPID, OPENAI, SUPA, json.dumps(RAPID)[1:-1], repr(RAPID)[1:-1], "0123456789", "9876543210"):
        assert secret not in err, f"{secret!r} leaked in {fmt} logs:\n{err}"
    assert MASK in err
    if fmt == "json":
        for line in err.strip().splitlines():
            json.loads(line)  # redaction after rendering keeps every line valid JSON


def test_settings_register_their_secrets_before_logging_is_configured(tmp_path: Path) -> None:
    make_settings(tmp_path, rapidapi={"key": "rk-from-settings-555"}, openai={"api_key": "sk-settingskey-0000"})
    assert redact("x rk-from-settings-555 y") == f"x {MASK} y"
    assert redact_value({"k": ["sk-settingskey-0000"]}) == {"k": [MASK]}


def test_openai_style_keys_are_masked_even_when_unknown() -> None:
    text = "Incorrect API key provided: sk-proj-********************WXyZ. You can find your key at ..."
    assert "WXyZ" not in redact(text) and "sk-proj" not in redact(text)
    assert redact("task-manager risk-assessment") == "task-manager risk-assessment"


def test_whitespace_around_a_key_is_stripped_and_control_characters_refused(tmp_path: Path) -> None:
    from viralspot_tui.config import ConfigError

    settings = make_settings(tmp_path, rapidapi={"key": "  rk-pasted-key-42\n"})
    assert settings.rapidapi.key.get_secret_value() == "rk-pasted-key-42"
    with pytest.raises(ConfigError) as info:
        make_settings(tmp_path, openai={"api_key": "sk-bad\x1bkey-value-77"})
    assert "openai.api_key" in str(info.value) and "sk-bad" not in str(info.value)
    assert "value-77" not in str(info.value)
