"""Serve the simulator over real loopback HTTP with uvicorn.

Two uses: ``viralspot simulate`` (an operator points the real providers at it) and tests that
need real sockets. Both embed the server in an event loop they own, so the server must not
take over process signals — the host application's graceful shutdown (docs/queue.md, "Shutdown") depends on
receiving SIGINT/SIGTERM itself; cancelling the serving task is the way to stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn

from .simulator import Simulator

__all__ = ["running_server", "serve_simulator"]


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(sim: Simulator, host: str, port: int, install_signal_handlers: bool) -> uvicorn.Server:
    config = uvicorn.Config(
        sim.asgi_app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        server_header=False,  # the app sets RapidAPI's own "server" header
    )
    return uvicorn.Server(config) if install_signal_handlers else _EmbeddedServer(config)


async def _run_until_cancelled(server: uvicorn.Server, sockets: list[socket.socket] | None) -> None:
    task = asyncio.ensure_future(server.serve(sockets=sockets))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # Shut down properly (close the listener, finish in-flight answers) before yielding.
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise


async def serve_simulator(
    sim: Simulator, host: str = "127.0.0.1", port: int = 8765, *, install_signal_handlers: bool = False
) -> None:
    """Serve ``sim`` on ``host:port`` until the calling task is cancelled (or SIGINT when asked)."""
    await _run_until_cancelled(_server(sim, host, port, install_signal_handlers), None)


@contextlib.asynccontextmanager
async def running_server(sim: Simulator, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Start a server on a free loopback port; yields its base URL, stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = _server(sim, host, port, install_signal_handlers=False)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces the start-up error
                raise RuntimeError("simulator server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
