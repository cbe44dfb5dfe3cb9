"""Security tests: an isolated environment per test (no developer keys, no local viralspot.toml)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_PROVIDER_VARIABLES = ("RAPIDAPI_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("VIRALSPOT_") or name.upper() in _PROVIDER_VARIABLES:
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
