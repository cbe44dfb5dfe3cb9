"""Helpers shared by the provider tests (importable by name, unlike a conftest)."""

from __future__ import annotations

from viralspot_tui.config import Settings

SECRET = "test-secret-key-0123456789"


def make_settings(**rapid: object) -> Settings:
    """Settings independent of the developer's environment: fast limiter, 3 retries."""
    settings = Settings(simulate=True)
    settings.rapidapi.requests_per_second = 1000.0
    settings.rapidapi.requests_per_minute = None
    settings.rapidapi.retries = 3
    settings.rapidapi.timeout_seconds = 5.0
    settings.openai.requests_per_second = 1000.0
    for name, value in rapid.items():
        setattr(settings.rapidapi, name, value)
    return settings
