"""Secret redaction for everything the engine shows, stores or logs (docs/performance.md, Security).

One process-wide registry of secret values (API keys), filled when settings load. Events,
stored error text, log lines and the console all pass text through :func:`redact`, so a key
that an upstream echoes in an error body, or that slips into an exception, is masked before it
reaches a database row, a CSV cell, a terminal or a log file. Standard library only: the
core imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "redact", "redact_value", "register_secrets", "mask_secrets"]

_SECRETS: set[str] = set()
_VARIANTS: list[str] = []  # every registered secret in each form it can take in text, longest first
MASK = "**********"
_MIN_SECRET = 4
# Provider keys that upstream error bodies echo (OpenAI shows "sk-proj-****...abcd"): masked
# even when the exact key is unknown here (another key, or a partially starred one).
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9*_\-]{8,}")


def _variants(secret: str) -> set[str]:
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {f for f in forms if len(f) >= _MIN_SECRET}


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Remember secret values (keys) so :func:`redact` masks them wherever they appear."""
    added = False
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= _MIN_SECRET and secret not in _SECRETS:
            _SECRETS.add(secret)
            added = True
    if added:
        variants = set().union(*(_variants(s) for s in _SECRETS))
        _VARIANTS[:] = sorted(variants, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every registered secret (and anything shaped like an OpenAI key) masked."""
    if not isinstance(text, str):
        return text
    for secret in _VARIANTS:
        if secret in text:
            text = text.replace(secret, MASK)
    if "sk-" in text:
        text = _KEY_PATTERN.sub(MASK, text)
    return text


def redact_value(value: Any, _depth: int = 0) -> Any:
    """Redact strings inside nested dicts, lists and tuples (other objects by their text)."""
    if isinstance(value, str):
        return redact(value)
    if _depth > 20:
        return value
    if isinstance(value, dict):
        return {redact_value(k, _depth + 1): redact_value(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(v, _depth + 1) for v in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return value


def mask_secrets(settings: Any, text: str) -> str:
    """:func:`redact`, after making sure ``settings``' keys are registered (safe to call often)."""
    register_secrets(
        secret.get_secret_value()
        for secret in (
            getattr(getattr(settings, section, None), field, None)
            for section, field in (("rapidapi", "key"), ("openai", "api_key"), ("supabase", "service_role_key"))
        )
        if secret is not None
    )
    return redact(text)
