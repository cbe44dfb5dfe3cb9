"""Knobs of the simulator, in one immutable value.

The simulator is shared by the demo, the test-suite and the benchmarks; each of them wants a
different world (slow or fast, faulty or clean, rate limited or not) but always a *repeatable*
one. Keeping every knob in a frozen dataclass makes a world fully described by its config plus
its clock, and lets ``from_env`` give operators the same control through environment variables
(docs/providers.md, "Simulator") without the simulator depending on the application's settings machinery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["SimConfig"]

_ENV_SEED = "VIRALSPOT_SIM_SEED"
_ENV_LATENCY = "VIRALSPOT_SIM_LATENCY_MS"
_ENV_RATE = "VIRALSPOT_SIM_RATE_LIMIT"
_ENV_FAULT = "VIRALSPOT_SIM_FAULT_RATE"
_ENV_QUOTA = "VIRALSPOT_SIM_QUOTA"
_ENV_QUIRKS = "VIRALSPOT_SIM_QUIRKS"
_ENV_ERROR_BODY = "VIRALSPOT_SIM_ERROR_BODY_RATE"
_QUIRK_MODES = ("real", "off")
_PAGING_PAIRS = ("amount_pagination_token", "count_max_id")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes a simulated world and how it answers.

    ``rate_limit`` is requests per second per API key (``None`` = unlimited),
    ``fault_rate`` the share of requests (0..1) that get a random fault,
    ``timeout_after_s`` how long the loopback server stalls on a "timeout" fault.
    ``quirks`` is "real" (answer like the real hosts, see ``sim.quirks``) or "off" (the
    idealised shapes); ``paging`` the one reels paging pair a "real" server honours;
    ``error_body_rate`` the share of scraper requests (0..1) answered with an HTTP-200
    "try again later" or throttling body — a fault mix of its own, so the status-code faults
    of ``fault_rate`` keep their meaning.
    ``time_speed`` / ``time_lag_days``: the world's present starts ``time_lag_days`` behind the
    clock and runs ``time_speed`` times faster until it has caught up, then at the clock's pace.
    The live demo uses this so new reels appear within minutes; the world never runs *ahead*
    of the clock, because "posted since the last run" is judged against the engine's own time.
    """

    seed: int = 7
    latency_ms: float = 30.0
    jitter: float = 0.5
    rate_limit: float | None = None
    fault_rate: float = 0.0
    monthly_quota: int = 100_000
    unsubscribed_keys: frozenset[str] = field(default_factory=frozenset)
    timeout_after_s: float = 30.0
    quirks: str = "real"
    paging: str = "amount_pagination_token"
    error_body_rate: float = 0.0

    time_speed: float = 1.0
    time_lag_days: float = 0.0

    @property
    def real(self) -> bool:
        return self.quirks == "real"

    def __post_init__(self) -> None:
        # Refuse nonsense early: a negative latency or a fault rate of 3 would otherwise surface
        # as a confusing failure deep inside a test run.
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be within 0..1, got {self.jitter}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be > 0 or None, got {self.rate_limit}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, got {self.fault_rate}")
        if self.monthly_quota < 0:
            raise ValueError(f"monthly_quota must be >= 0, got {self.monthly_quota}")
        if self.timeout_after_s < 0:
            raise ValueError(f"timeout_after_s must be >= 0, got {self.timeout_after_s}")
        if self.quirks not in _QUIRK_MODES:
            raise ValueError(f"quirks must be one of {', '.join(_QUIRK_MODES)}, got {self.quirks!r}")
        if self.paging not in _PAGING_PAIRS:
            raise ValueError(f"paging must be one of {', '.join(_PAGING_PAIRS)}, got {self.paging!r}")
        if not 0.0 <= self.error_body_rate <= 1.0:
            raise ValueError(f"error_body_rate must be within 0..1, got {self.error_body_rate}")
        if self.time_speed < 1:
            raise ValueError(f"time_speed must be >= 1, got {self.time_speed}")
        if self.time_lag_days < 0:
            raise ValueError(f"time_lag_days must be >= 0, got {self.time_lag_days}")
        if self.time_speed > 1 and self.time_lag_days == 0:
            raise ValueError("time_speed > 1 needs time_lag_days > 0: the world never runs ahead of the clock")
        if not isinstance(self.unsubscribed_keys, frozenset):
            object.__setattr__(self, "unsubscribed_keys", frozenset(self.unsubscribed_keys))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> SimConfig:
        """Build a config from ``VIRALSPOT_SIM_*`` variables; explicit overrides win.

        A malformed value raises ``ValueError`` naming the variable, because a silently
        ignored knob makes a benchmark measure something other than what the operator asked.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if (raw := _clean(env.get(_ENV_SEED))) is not None:
            values["seed"] = _parse(_ENV_SEED, raw, int)
        if (raw := _clean(env.get(_ENV_LATENCY))) is not None:
            values["latency_ms"] = _parse(_ENV_LATENCY, raw, float)
        if (raw := _clean(env.get(_ENV_RATE))) is not None:
            rate = float(_parse(_ENV_RATE, raw, float))  # type: ignore[arg-type]
            values["rate_limit"] = rate if rate > 0 else None
        if (raw := _clean(env.get(_ENV_FAULT))) is not None:
            values["fault_rate"] = _parse(_ENV_FAULT, raw, float)
        if (raw := _clean(env.get(_ENV_QUOTA))) is not None:
            values["monthly_quota"] = _parse(_ENV_QUOTA, raw, int)
        if (raw := _clean(env.get(_ENV_QUIRKS))) is not None:
            values["quirks"] = raw.lower()
        if (raw := _clean(env.get(_ENV_ERROR_BODY))) is not None:
            values["error_body_rate"] = _parse(_ENV_ERROR_BODY, raw, float)
        values.update(overrides)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"invalid simulator setting from environment: {exc}") from exc


def _clean(raw: str | None) -> str | None:
    if raw is None:
        return None
    raw = raw.strip()
    return raw or None


def _parse(name: str, raw: str, kind: type) -> object:
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
