"""Configuration: defaults < viralspot.toml < .env < environment < command-line flags (docs/cli.md).

One pydantic model validates everything, so a bad value names its field; the layers are
gathered into its input by :mod:`viralspot_tui.config_sources`. Secrets are ``SecretStr``: they
print as ``**********`` in ``config show``, logs and exception text. The usual provider variables (``RAPIDAPI_KEY``, ``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``SUPABASE_URL``, ``SUPABASE_SERVICE_ROLE_KEY``) are read beside the
``VIRALSPOT_`` ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["Settings", "load_settings", "ConfigError", "default_data_dir", "MissingSecret", "SIM_VARIABLES"]

INSTAGRAM_HOST = "instagram-scraper-stable-api.p.rapidapi.com"
TRANSCRIPT_HOST = "instagram-transcripts.p.rapidapi.com"


class ConfigError(ValueError):
    """Bad configuration; the CLI turns it into exit code 2."""


class MissingSecret(ConfigError):
    def __init__(self, variable: str, purpose: str) -> None:
        super().__init__(
            f"{variable} is not set: it is needed for {purpose}. Set it in the environment, "
            f".env or viralspot.toml, or run with --simulate to use the built-in simulator."
        )


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("viralspot", appauthor=False))


def _unset_section() -> Any:
    """A section (or table) left out of every source: ``{}``, which :class:`Settings` validates
    into the section's defaults (``validate_default``) within its own schema.

    A function of ours rather than ``dict`` or the section class: pydantic inspects a default
    factory's signature, and for a builtin that means tokenizing its text signature (the first
    time compiles tokenize's large pattern, ~10 ms); the class would build its own validator."""
    return {}


def _no_names() -> list[str]:
    return []  # see _unset_section: not ``list``, whose signature pydantic would parse


class _Section(BaseModel):
    """A settings section: unknown keys are errors, so a typo in viralspot.toml is not ignored.

    Sections build their own validator only when one is made on its own (``defer_build``):
    :class:`Settings` validates them inside its single schema, and each section's defaults come
    from ``{}`` validated there (:func:`_unset_section`), not from calling the class. That saves
    a third of importing and loading the settings, which every command pays (docs/startup.md).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)


def _clean_secret(value: SecretStr | None) -> SecretStr | None:
    """Strip stray whitespace (a pasted key's newline); refuse what no HTTP header can carry.

    The message never repeats the value: a key with a typo is still mostly a key.
    """
    if value is None:
        return None
    text = value.get_secret_value().strip()
    if not text:
        return None
    if not text.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("contains non-ASCII or control characters (value not shown)")
    return SecretStr(text)


class RapidAPISettings(_Section):
    key: SecretStr | None = None
    instagram_host: str = INSTAGRAM_HOST
    instagram_base_url: str | None = None
    transcript_host: str = TRANSCRIPT_HOST
    transcript_base_url: str | None = None
    requests_per_second: float = Field(10.0, gt=0)
    requests_per_minute: float | None = Field(None, gt=0)
    timeout_seconds: float = Field(20.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    backoff_initial: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    max_retry_after: float = Field(120.0, ge=0)
    # Which reels paging pair to send: both by default (see docs/real-apis.md).
    reels_paging: Literal["both", "count_max_id", "amount_pagination_token"] = "both"

    @field_validator("key")
    @classmethod
    def _clean_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _clean_secret(value)

    def instagram_url(self) -> str:
        return (self.instagram_base_url or f"https://{self.instagram_host}").rstrip("/")

    def transcript_url(self) -> str:
        return (self.transcript_base_url or f"https://{self.transcript_host}").rstrip("/")


class OpenAISettings(_Section):
    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    temperature: float = Field(0.7, ge=0, le=2)
    requests_per_second: float = Field(5.0, gt=0)
    timeout_seconds: float = Field(60.0, gt=0)
    output_retries: int = Field(2, ge=0, le=5)
    input_cost_per_mtok: float = 0.15
    output_cost_per_mtok: float = 0.60

    @field_validator("api_key")
    @classmethod
    def _clean_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _clean_secret(value)


class QueueSettings(_Section):
    backend: Literal["csv", "supabase"] = "csv"
    # None: ``queue.csv`` in the data folder (Settings fills it in); see docs/queue-file.md
    queue_file: Path | None = None
    adopt_queue_file: bool = False  # the data folder may switch to a queue file other than its own
    max_concurrent: int = Field(8, ge=1, le=512)
    max_high: int | None = Field(None, ge=1)
    max_low: int | None = Field(None, ge=1)
    max_attempts: int = Field(3, ge=1, le=20)
    lease_seconds: float = Field(60.0, gt=0)
    grace_seconds: float = Field(10.0, ge=0)
    retry_base_seconds: float = Field(5.0, ge=0)
    retry_max_seconds: float = Field(600.0, ge=0)
    reels_count: int = Field(50, ge=1, le=500)
    similar_count: int = Field(20, ge=0, le=100)
    fetch_reel_details: bool = False
    csv_sync_seconds: float = Field(1.0, gt=0)
    owner_stale_seconds: float = Field(30.0, gt=0)  # a queue file owner silent this long is gone

    @field_validator("backend", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return _fold_case(value)

    @field_validator("queue_file", mode="before")
    @classmethod
    def _usable_file_name(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            raise ValueError("is empty; give a file name, or leave it out for queue.csv in the data folder")
        path = Path(text).expanduser()
        if path.is_dir():
            raise ValueError(f"{path} is a folder; give the path of a CSV file")
        return path


class SupabaseSettings(_Section):
    url: str | None = None
    service_role_key: SecretStr | None = None
    lease_seconds: float = Field(60.0, gt=0)
    # Viral jobs submitted by the ViralSpot web form: take them (when this engine runs the viral
    # processor) under a lease of their own, longer than an item's (docs/supabase-results.md).
    web_form_jobs: bool = True
    job_lease_seconds: float = Field(300.0, ge=5, le=86400)

    @field_validator("service_role_key")
    @classmethod
    def _clean_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _clean_secret(value)


class ViralSettings(_Section):
    max_concurrent_jobs: int = Field(2, ge=1, le=32)
    fresh_data_hours: float = Field(24.0, ge=0)
    lookback_days: int = Field(30, ge=1)
    primary_transcripts: int = Field(3, ge=0)
    primary_candidates: int = Field(10, ge=1)
    competitor_transcripts: int = Field(5, ge=0)
    competitor_candidates: int = Field(20, ge=1)
    hooks: int = Field(5, ge=1, le=20)
    rerun_every_hours: float = Field(24.0, gt=0)


class CrawlerSettings(_Section):
    max_rounds: int = Field(5, ge=1)
    target_new_profiles: int = Field(20, ge=1)
    min_followers: int = Field(1000, ge=0)
    round_delay_seconds: float = Field(2.0, ge=0)
    enrich_budget_per_round: int = Field(10, ge=0)
    daily_call_budget: int = Field(500, ge=0)
    schedule_every_minutes: float | None = Field(None, gt=0)
    blocked: list[str] = Field(default_factory=_no_names)


class SimulatorSettings(_Section):
    """``[sim]`` in viralspot.toml; the ``VIRALSPOT_SIM_*`` variables (see :data:`SIM_VARIABLES`)
    are read into the same fields, so the runner, ``simulate`` and ``config show`` see one value."""

    seed: int = 7
    latency_ms: float = Field(30.0, ge=0)
    rate_limit: float | None = Field(None, ge=0)  # requests per second per key; 0 or none: unlimited
    fault_rate: float = Field(0.0, ge=0, le=1)
    quota: int = Field(100_000, ge=0)  # monthly requests per key
    time_speed: float = Field(1.0, ge=1)  # the live demo's faster world (see docs/demo.md)
    time_lag_days: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _never_ahead(self) -> "SimulatorSettings":
        if self.time_speed > 1 and self.time_lag_days == 0:
            raise ValueError("sim.time_speed > 1 needs sim.time_lag_days > 0 (the world never runs ahead of the clock)")
        return self


SIM_VARIABLES = {
    "seed": "VIRALSPOT_SIM_SEED",
    "latency_ms": "VIRALSPOT_SIM_LATENCY_MS",
    "rate_limit": "VIRALSPOT_SIM_RATE_LIMIT",
    "fault_rate": "VIRALSPOT_SIM_FAULT_RATE",
    "quota": "VIRALSPOT_SIM_QUOTA",
}


def _fold_case(value: object) -> object:
    """Choice settings accept any case (``DEBUG``, ``Json``, ``CSV``)."""
    return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseModel):
    """The effective settings. :func:`load_settings` reads them from every source; ``Settings(...)``
    itself reads none (defaults and the arguments only), as tests and benchmarks want."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    simulate: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    status_interval_seconds: float = Field(10.0, gt=0)
    rapidapi_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("RAPIDAPI_KEY", "VIRALSPOT_RAPIDAPI_KEY")
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "VIRALSPOT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "VIRALSPOT_OPENAI_BASE_URL")
    )
    supabase_url: str | None = Field(None, validation_alias=AliasChoices("SUPABASE_URL", "VIRALSPOT_SUPABASE_URL"))
    supabase_service_role_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SUPABASE_SERVICE_ROLE_KEY", "VIRALSPOT_SUPABASE_SERVICE_ROLE_KEY")
    )
    rapidapi: RapidAPISettings = Field(default_factory=_unset_section)
    openai: OpenAISettings = Field(default_factory=_unset_section)
    queue: QueueSettings = Field(default_factory=_unset_section)
    supabase: SupabaseSettings = Field(default_factory=_unset_section)
    viral: ViralSettings = Field(default_factory=_unset_section)
    crawler: CrawlerSettings = Field(default_factory=_unset_section)
    sim: SimulatorSettings = Field(default_factory=_unset_section)
    keys: dict[str, str] = Field(
        default_factory=_unset_section, description="binding id -> key(s), remaps console keys"
    )

    @field_validator("rapidapi_key", "openai_api_key", "supabase_service_role_key")
    @classmethod
    def _clean_keys(cls, value: SecretStr | None) -> SecretStr | None:
        return _clean_secret(value)

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return _fold_case(value)

    @model_validator(mode="after")
    def _default_queue_file(self) -> "Settings":
        """The queue file lives in the data folder unless one was given (see docs/queue-file.md)."""
        if self.queue.queue_file is None:
            self.queue.queue_file = self.data_dir / "queue.csv"
        return self

    @model_validator(mode="after")
    def _fold_provider_variables(self) -> "Settings":
        """The well-known variables fill the nested sections unless those were set explicitly."""
        if self.rapidapi_key and not self.rapidapi.key:
            self.rapidapi.key = self.rapidapi_key
        if self.openai_api_key and not self.openai.api_key:
            self.openai.api_key = self.openai_api_key
        if self.openai_base_url and not self.openai.base_url:
            self.openai.base_url = self.openai_base_url
        if self.supabase_url and not self.supabase.url:
            self.supabase.url = self.supabase_url
        if self.supabase_service_role_key and not self.supabase.service_role_key:
            self.supabase.service_role_key = self.supabase_service_role_key
        from .core.redaction import register_secrets  # every place that prints text can now mask them

        register_secrets(
            s.get_secret_value()
            for s in (
                self.rapidapi.key,
                self.openai.api_key,
                self.supabase.service_role_key,
                self.rapidapi_key,
                self.openai_api_key,
                self.supabase_service_role_key,
            )
            if s is not None
        )
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "viralspot.db"

    def require_real_keys(self, *, ai: bool = True) -> None:
        """Refuse a real (non-simulated) run without the keys it needs, naming the variable.

        ``ai=False`` when no hosted processor uses the AI (``run --processors queue,crawler``)."""
        if self.simulate:
            return
        if self.rapidapi.key is None:
            raise MissingSecret("RAPIDAPI_KEY", "the Instagram scraper and transcript APIs")
        if ai and self.openai.api_key is None:
            raise MissingSecret("OPENAI_API_KEY", "the viral ideas AI pipeline")
        if self.queue.backend == "supabase":
            if not self.supabase.url:
                raise MissingSecret("SUPABASE_URL", "the Supabase queue backend")
            if self.supabase.service_role_key is None:
                raise MissingSecret("SUPABASE_SERVICE_ROLE_KEY", "the Supabase queue backend")


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the effective settings; ``overrides`` are command-line flags (highest precedence)."""
    from pydantic import ValidationError

    from .config_sources import SourceError, gather

    toml_file = None if config_file is None else Path(config_file)
    if toml_file is not None and not toml_file.is_file():
        raise ConfigError(f"config file {toml_file} does not exist")
    try:
        values = gather(
            Settings,
            toml_file=toml_file,
            dotenv_file=Path(".env"),
            environ=os.environ,
            sim_variables=SIM_VARIABLES,
            overrides={k: v for k, v in overrides.items() if v is not None},
        )
    except SourceError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(settings)"
            loc = tuple(str(p) for p in err["loc"])
            variable = SIM_VARIABLES.get(loc[1]) if len(loc) == 2 and loc[0] == "sim" else None
            if variable and os.environ.get(variable, "").strip():
                where += f" ({variable}={os.environ[variable].strip()[:40]!r})"
            lines.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")
        source = f" (config file {config_file})" if config_file else ""
        body = " " + lines[0].strip() if len(lines) == 1 else "\n" + "\n".join(lines)
        raise ConfigError("invalid configuration" + source + ":" + body) from None
