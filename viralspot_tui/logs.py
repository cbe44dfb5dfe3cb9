"""Structured logging to stderr in text or JSON (structlog), with secrets redacted.

Every log line passes through redaction twice: each value of the event (nested dicts, lists
and exception text included) before rendering, and the rendered line itself afterwards, so a
key that slipped into an exception message, a structured field or a ``repr`` still never
reaches a terminal or a log file. Secrets are known from the moment settings are loaded
(:func:`register_secrets`), not only once logging is configured, so error text built by the
providers can be redacted with the same registry (:func:`redact`).

structlog is imported only inside :func:`configure_logging`: control commands import this
module (through the settings) and must start fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

from .core.redaction import MASK, redact, redact_value, register_secrets

__all__ = ["configure_logging", "redact", "redact_value", "register_secrets", "MASK"]


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key.startswith("_"):  # structlog's own bookkeeping (record, from_structlog)
            continue
        event_dict[key] = redact_value(value)
    return event_dict


class _RedactedRenderer:
    """Run the real renderer, then redact the finished line (escaped or ``repr`` forms included)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, logger: Any, name: str, event_dict: MutableMapping[str, Any]) -> Any:
        rendered = self.inner(logger, name, event_dict)
        return redact(rendered) if isinstance(rendered, str) else rendered


def configure_logging(fmt: str = "text", level: str = "info", secrets: Iterable[str] = ()) -> None:
    import structlog

    register_secrets(secrets)
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,
            _RedactedRenderer(renderer),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "openai", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
