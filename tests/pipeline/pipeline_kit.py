"""Helpers shared by the pipeline tests (importable by name, unlike a conftest)."""

from __future__ import annotations

from viralspot_tui.config import Settings


def pipeline_settings(**rapid: object) -> Settings:
    settings = Settings(simulate=True)
    settings.rapidapi.requests_per_second = 1000.0
    settings.rapidapi.requests_per_minute = None
    settings.rapidapi.retries = 3
    for name, value in rapid.items():
        setattr(settings.rapidapi, name, value)
    return settings
