"""Assembly: settings → runtime → backend → processors → supervisor.

Both front ends (the Textual console and the headless runner) and the tests build the engine
through :func:`open_engine`, so there is exactly one way the pieces are put together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .backends.base import LocalOnlyBackend, QueueBackend
from .clock import Clock
from .runtime import Runtime
from .supervisor import PROCESSOR_NAMES, Supervisor

if TYPE_CHECKING:
    import httpx

    from ..config import Settings
    from .processors.base import Processor

__all__ = ["open_engine", "build_backend", "build_processors"]


def build_backend(runtime: Runtime, *, local_only: bool = False) -> QueueBackend:
    settings = runtime.settings
    if local_only:
        return LocalOnlyBackend()
    if settings.queue.backend == "csv":
        from .backends.csv_backend import CsvBackend

        return CsvBackend(runtime, settings.queue.queue_file)
    from .backends.supabase_backend import SupabaseBackend

    return SupabaseBackend(runtime)


def build_processors(runtime: Runtime, names: Iterable[str] = PROCESSOR_NAMES) -> list["Processor"]:
    processors: list[Processor] = []
    for name in names:
        if name == "queue":
            from .processors.queue_processor import QueueProcessor

            processors.append(QueueProcessor(runtime))
        elif name == "viral":
            from .viral.processor import ViralIdeasProcessor

            processors.append(ViralIdeasProcessor(runtime))
        elif name == "crawler":
            from .crawler.processor import CrawlerProcessor

            processors.append(CrawlerProcessor(runtime))
        else:
            raise ValueError(f"unknown processor {name!r}")
    return processors


@asynccontextmanager
async def open_engine(
    settings: "Settings",
    *,
    clock: Clock | None = None,
    transport: "httpx.AsyncBaseTransport | None" = None,
    simulator: Any = None,
    processors: Iterable[str] = PROCESSOR_NAMES,
    local_only: bool = False,
    refresh_seconds: float = 0.4,
) -> AsyncIterator[Supervisor]:
    """Yield a built (not yet started) supervisor; on exit stop it if running and close everything."""
    processors = tuple(processors)
    runtime = await Runtime.open(settings, clock=clock, transport=transport, simulator=simulator, processors=processors)
    try:
        supervisor = Supervisor(
            runtime,
            build_processors(runtime, processors),
            build_backend(runtime, local_only=local_only),
            refresh_seconds=refresh_seconds,
        )
        try:
            yield supervisor
        finally:
            if supervisor._started and not supervisor.stopped.is_set():
                await supervisor.stop(grace_seconds=0)
    finally:
        await runtime.close()
