"""Deterministic synthetic Instagram + OpenAI-compatible service (docs/providers.md, "Simulator").

Standalone on purpose: it depends only on httpx, uvicorn and the standard library (never on
``viralspot_tui.core``), so it can play the outside world for the core without sharing code
that could hide a disagreement between the two.

    sim = Simulator(SimConfig(seed=7), clock=lambda: fixed_now)
    client = httpx.AsyncClient(transport=sim.transport(), base_url="https://sim")
    async with running_server(sim) as base_url: ...
"""

from .config import SimConfig
from .faults import (
    CHAT,
    ENDPOINTS,
    FAULT_KINDS,
    HTTP_500,
    HTTP_503,
    INVALID_OUTPUT,
    MALFORMED_JSON,
    NOT_SUBSCRIBED,
    PROFILE,
    QUOTA_EXHAUSTED,
    RANDOM_FAULT_KINDS,
    RATE_LIMIT_BURST,
    REEL_DETAIL,
    REELS,
    SIMILAR,
    TIMEOUT,
    TRANSCRIPT,
    TRUNCATED_JSON,
)
from .frontends import SimulatorTransport
from .payloads import format_followers
from .server import running_server, serve_simulator
from .simulator import Simulator
from .stats import OUTCOMES, CallRecord, SimStats
from .world import Profile, Reel, World

__all__ = [
    "CHAT",
    "ENDPOINTS",
    "FAULT_KINDS",
    "HTTP_500",
    "HTTP_503",
    "INVALID_OUTPUT",
    "MALFORMED_JSON",
    "NOT_SUBSCRIBED",
    "OUTCOMES",
    "PROFILE",
    "QUOTA_EXHAUSTED",
    "RANDOM_FAULT_KINDS",
    "RATE_LIMIT_BURST",
    "REELS",
    "REEL_DETAIL",
    "SIMILAR",
    "TIMEOUT",
    "TRANSCRIPT",
    "TRUNCATED_JSON",
    "CallRecord",
    "Profile",
    "Reel",
    "SimConfig",
    "SimStats",
    "Simulator",
    "SimulatorTransport",
    "World",
    "format_followers",
    "running_server",
    "serve_simulator",
]
