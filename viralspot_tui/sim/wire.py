"""Transport-neutral request and response values.

The simulator answers through two front doors — an in-process httpx transport and an ASGI app
behind a loopback uvicorn server — and both must produce the same bytes for the same request.
Both therefore translate to and from these two small values and leave every decision to the
one request handler; JSON is encoded in exactly one way (compact, key order as built) so the
bytes are reproducible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = ["SimRequest", "SimResponse", "dumps", "json_response"]


def dumps(obj: Any) -> bytes:
    """The single JSON encoding used for every body."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SimRequest:
    """An HTTP request reduced to what the simulator routes on. Header names are lower-case."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def query_param(self, name: str) -> str | None:
        values = parse_qs(self.query, keep_blank_values=True).get(name)
        return values[0] if values else None

    def form_param(self, name: str) -> str | None:
        """A field of an urlencoded form body; query parameters are accepted as a fallback."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        values = parse_qs(text, keep_blank_values=True).get(name)
        return values[0] if values else self.query_param(name)

    def json_body(self) -> Any:
        """Parsed JSON body; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(slots=True)
class SimResponse:
    """An answer. ``timeout`` means "never answer in time": each front door enacts it its own way."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False

    def header_list(self) -> list[tuple[str, str]]:
        headers = {"content-type": "application/json", **self.headers}
        return list(headers.items())


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(status=status, body=dumps(obj), headers=dict(headers or {}))
