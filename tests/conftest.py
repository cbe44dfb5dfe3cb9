"""Root test configuration; helpers live in ``testkit`` (a unique module name, unlike conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import make_settings  # noqa: F401 - also clears provider variables from the environment


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Any]:
    return lambda **kw: make_settings(tmp_path, **kw)
