"""Replay of the recorded-shape corpus over real loopback HTTP.

Each fixture in ``fixtures/`` is one answer of a real host written from a captured fact
(its ``fact`` field says which). :class:`Replay` is a tiny ASGI app served by uvicorn on a
free loopback port: the real providers, with their real httpx clients, policies and parsers,
are pointed at it exactly as they would be at the real host. Each route answers a queue of
fixtures in order (the last one repeats), and every request is recorded so a test can say
how many calls an answer cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn

FIXTURES = Path(__file__).parent / "fixtures"
RETRIES = 2  # in-call retries of the providers under test


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def all_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class Replay:
    """Answers per path (optionally per ``match`` substring of the parameters), in order."""

    routes: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def add(self, fixture: str | dict[str, Any], *, match: str = "", times: int = 1) -> Replay:
        answer = load(fixture) if isinstance(fixture, str) else fixture
        self.routes.setdefault((answer["path"], match), []).extend([answer] * times)
        return self

    def calls(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    def _answer(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        text = " ".join(params.values())
        for (route, match), queue in self.routes.items():
            if route == path and match and match in text:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        queue = self.routes.get((path, ""))
        if not queue:
            return None
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        params = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        params.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        self.seen.append(Seen(scope["method"], scope["path"], params))
        answer = self._answer(scope["path"], params)
        if answer is None:
            status, headers, payload = 404, {}, {"message": f"Endpoint '{scope['path']}' does not exist"}
        else:
            status, headers, payload = answer["status"], answer["headers"], answer["body"]
        content = json.dumps(payload).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        raw += [(k.encode(), str(v).encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})


@contextlib.asynccontextmanager
async def serving(app: Replay) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # the test loop owns signals
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("replay server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
