"""The supervisor's helpers, each one small job: answer control rows, keep the queue's home in
step, publish the engine's state. The supervisor hosts and steers processors and nothing else
(docs/architecture.md, "The engine")."""

from .backend_sync import BackendSync
from .control_poller import ControlPoller
from .state_publisher import StatePublisher

__all__ = ["BackendSync", "ControlPoller", "StatePublisher"]
