"""The wiring every processor receives: settings, database, stores, providers, clock, events.

One :class:`Runtime` per process. It is built once by the front end (TUI, headless runner,
CLI command) and handed to the supervisor, so processors never construct their own clients
and all of them share one rate limiter per provider (docs/queue.md, "Concurrency").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .events import EventBus
from .store.database import Database
from .store.queue_store import QueueStore, new_instance_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

    from ..config import Settings
    from .providers.factory import Providers
    from .store.checkpoints import CheckpointStore
    from .store.content import ContentStore

__all__ = ["Runtime", "new_instance_id", "simulator_config"]


def simulator_config(settings: "Settings") -> Any:
    """The simulator's knobs, all from ``settings.sim``: ``[sim]`` in viralspot.toml with the
    ``VIRALSPOT_SIM_*`` variables already read on top by the settings themselves, so the
    runner, ``viralspot simulate`` and ``config show`` see the same, validated values."""
    from ..sim import SimConfig

    sim = settings.sim
    # Settings already read the VIRALSPOT_SIM_* knobs it owns; the simulator's own extra knobs
    # (quirks, error bodies) still come from the environment through from_env.
    return SimConfig.from_env(
        seed=sim.seed,
        latency_ms=sim.latency_ms,
        rate_limit=sim.rate_limit or None,
        fault_rate=sim.fault_rate,
        monthly_quota=sim.quota,
        time_speed=sim.time_speed,
        time_lag_days=sim.time_lag_days,
    )


@dataclass
class Runtime:
    settings: "Settings"
    db: Database
    queue: QueueStore
    clock: Clock
    events: EventBus
    instance_id: str
    providers: "Providers | None" = None
    simulator: Any = None
    rate_shares: Any = None  # providers.shared_budget.RateShares: this process's share of each key's rate
    extras: dict[str, Any] = field(default_factory=dict)
    processors: tuple[str, ...] | None = None  # the processors this engine runs (None: not an engine)
    _content: "ContentStore | None" = field(default=None, repr=False)
    _checkpoints: "CheckpointStore | None" = field(default=None, repr=False)

    # Built on first use: control commands (``queue add``, ``status``) never touch content or
    # checkpoints, and importing their models is a large share of a short command's start-up.
    @property
    def content(self) -> "ContentStore":
        if self._content is None:
            from .store.content import ContentStore

            self._content = ContentStore(self.db, clock=self.clock)
        return self._content

    @property
    def checkpoints(self) -> "CheckpointStore":
        if self._checkpoints is None:
            from .store.checkpoints import CheckpointStore

            self._checkpoints = CheckpointStore(self.db, clock=self.clock)
        return self._checkpoints

    @classmethod
    async def open(
        cls,
        settings: "Settings",
        *,
        clock: Clock | None = None,
        with_providers: bool = True,
        transport: "httpx.AsyncBaseTransport | None" = None,
        simulator: Any = None,
        processors: "Iterable[str] | None" = None,
    ) -> "Runtime":
        """Open the database and stores; build providers (real or simulated) when asked.

        With ``settings.simulate`` and no explicit transport, an in-process simulator is created
        from ``settings.sim`` and every provider talks to it.
        """
        clock = clock or SystemClock()
        instance_id = new_instance_id()
        db = await Database(settings.db_path).open()
        runtime = cls(
            settings=settings,
            db=db,
            clock=clock,
            events=EventBus(clock=clock),
            instance_id=instance_id,
            queue=QueueStore(db, clock=clock, instance_id=instance_id, max_attempts=settings.queue.max_attempts),
            processors=None if processors is None else tuple(processors),
        )
        if with_providers:
            await runtime._open_providers(transport, simulator, ai=processors is None or "viral" in processors)
        return runtime

    async def _open_providers(
        self, transport: "httpx.AsyncBaseTransport | None", simulator: Any, *, ai: bool = True
    ) -> None:
        from .providers.factory import Providers

        api_key = None
        if transport is None and self.settings.simulate:
            from ..sim import Simulator

            simulator = Simulator(simulator_config(self.settings))
            transport = simulator.transport()
        if transport is not None:
            api_key = "simulator-key"
        else:
            self.settings.require_real_keys(ai=ai)
        self.simulator = simulator
        self.providers = Providers.create(
            self.settings, transport=transport, clock=self.clock, api_key_override=api_key, require_ai=ai
        )
        from .providers.shared_budget import RateShares

        limiters = {self.providers.budgets[n]: p.limiter for n, p in self.providers.policies.items()}
        self.rate_shares = RateShares(self.db, self.instance_id, limiters).start()

    async def control_state(self, key: str) -> str | None:
        from .control import read_state_sync

        return await self.db.read(read_state_sync, key)

    async def set_control_state(self, key: str, value: str) -> None:
        from .control import ControlChannel

        await ControlChannel(self.db, self.clock).set_state(key, value)

    def require_providers(self) -> "Providers":
        """The providers, for code that only runs in an engine that built them."""
        if self.providers is None:
            raise RuntimeError("this runtime was opened without providers")
        return self.providers

    @property
    def simulated(self) -> bool:
        return self.simulator is not None or self.settings.simulate

    async def close(self) -> None:
        if self.rate_shares is not None:
            await self.rate_shares.close()
        if self.providers is not None:
            await self.providers.aclose()
        await self.db.close()
