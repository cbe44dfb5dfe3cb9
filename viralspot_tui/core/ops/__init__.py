"""The operations layer: every operator action, once, for the console and the command line.

``Operations(runtime, link)`` carries each action with its validation, its message and its
wake-up. The console builds it with an in-process link to its own engine
(``Supervisor.operations()``); a command-line invocation with a :class:`ControlLink`, which
reaches a running engine through the shared database or records the request for the next
start. See docs/architecture.md ("One way in").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .crawl_ops import CrawlActions
from .job_ops import JobActions, JobDetail
from .link import ControlLink, EngineLink, InProcessLink
from .outbox_ops import OutboxActions
from .processor_ops import ProcessorActions
from .queue_ops import DEFAULT_PRIORITY, QueueActions
from .results import ErrorKind, OpError, OpResult

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = [
    "Operations",
    "OpResult",
    "OpError",
    "ErrorKind",
    "EngineLink",
    "InProcessLink",
    "ControlLink",
    "JobDetail",
    "DEFAULT_PRIORITY",
]


class Operations(QueueActions, ProcessorActions, CrawlActions, JobActions, OutboxActions):
    def __init__(self, runtime: "Runtime", link: EngineLink) -> None:
        self.runtime = runtime
        self.link = link
