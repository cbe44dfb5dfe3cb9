"""The viral ideas domain: jobs (docs/viral.md) and the shapes every AI stage must answer in (V6).

Stage output models are built *per call* by small factories, because the valid answer depends on
the call: the hook analysis of reel X must name reel X, the generated hooks must cite one of the
competitor reels actually shown, and there must be exactly N hooks and N scripts. Expressing that
as ``Literal`` enums and list bounds puts it into the JSON schema the model is given *and* into
pydantic validation, so an answer citing an invented reel is invalid output (retried, then a
clear failure) instead of a silently wrong export.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, create_model, field_validator

from ..models.usernames import Username

__all__ = [
    "CANCELLED",
    "SCRIPT_SECONDS",
    "JobStatus",
    "RunType",
    "Stage",
    "ContentStrategy",
    "Job",
    "CompetitorState",
    "MIN_COMPETITORS",
    "MAX_COMPETITORS",
    "MAX_RERUN_HOURS",
    "ProfileAnalysis",
    "HookAnalysis",
    "GeneratedHook",
    "ScriptSection",
    "Script",
    "hook_analysis_model",
    "generated_hooks_model",
    "script_model",
    "HOOK_TYPES",
]

MIN_COMPETITORS = 1
MAX_COMPETITORS = 20
MAX_RERUN_HOURS = 24.0 * 366 * 10
"""Ten years: any longer interval cannot be added to a date, and is surely a typo."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]

HOOK_TYPES = (
    "question",
    "bold_claim",
    "statistic",
    "story",
    "contrarian",
    "how_to",
    "curiosity_gap",
    "pain_point",
    "list",
    "challenge",
)
HookType = Literal[
    "question",
    "bold_claim",
    "statistic",
    "story",
    "contrarian",
    "how_to",
    "curiosity_gap",
    "pain_point",
    "list",
    "challenge",
]


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


class RunType(StrEnum):
    INITIAL = "initial"
    RECURRING = "recurring"


# How a cancelled job's error starts (`jobs cancel`): the processor stops the job's task when it
# sees it, and the console shows the job as cancelled rather than failed.
CANCELLED = "cancelled by the operator"


class Stage(StrEnum):
    """Where a job is; the order is the order of the workflow (progress bands follow it)."""

    QUEUED = "queued"
    FETCHING = "fetching profiles"
    SELECTING = "selecting reels"
    TRANSCRIPTS = "transcripts"
    PROFILE_ANALYSIS = "profile analysis"
    HOOK_ANALYSIS = "hook analysis"
    HOOK_GENERATION = "hook generation"
    SCRIPT_WRITING = "script writing"
    STORING = "storing"
    DONE = "done"
    FAILED = "failed"


class ContentStrategy(BaseModel):
    """What the primary creator wants; every AI prompt is written around it."""

    model_config = ConfigDict(frozen=True)

    content_type: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = "short-form video"
    target_audience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    goals: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class CompetitorState(BaseModel):
    """Per-competitor outcome of the latest run: a failing competitor never fails the job (V2)."""

    username: Username
    status: Literal["pending", "fetched", "reused", "failed"] = "pending"
    error: str | None = None


class Job(BaseModel):
    """One viral ideas analysis job (docs/viral.md). Times are timezone-aware UTC."""

    id: int
    primary_username: Username
    competitors: list[Username] = Field(min_length=MIN_COMPETITORS, max_length=MAX_COMPETITORS)
    content_strategy: ContentStrategy = Field(default_factory=ContentStrategy)
    status: JobStatus = JobStatus.PENDING
    stage: str = Stage.QUEUED.value
    progress: int = Field(0, ge=0, le=100)
    error: str | None = None
    runs: int = 0
    auto_rerun: bool = False
    rerun_every_hours: float = Field(24.0, gt=0, le=MAX_RERUN_HOURS)
    next_run_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    competitor_states: list[CompetitorState] = Field(default_factory=list)

    @field_validator("competitors")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a competitor is listed twice")
        return value

    def summary(self) -> dict[str, Any]:
        """The row the console and ``jobs list`` show."""
        return {
            "id": self.id,
            "primary": self.primary_username,
            "competitors": list(self.competitors),
            "status": self.status.value,
            "stage": self.stage,
            "progress": self.progress,
            "runs": self.runs,
            "auto_rerun": self.auto_rerun,
            "next_run_at": self.next_run_at.isoformat() if self.next_run_at else None,
            "error": self.error,
        }


# ------------------------------------------------------------------------------ AI stage outputs


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProfileAnalysis(_Out):
    """Stage 1: who the primary creator is, as the later stages need to know."""

    themes: list[Short] = Field(min_length=1, max_length=8)
    audience: Text
    voice: Text
    content_opportunities: list[Short] = Field(min_length=1, max_length=8)


class HookAnalysis(_Out):
    """Stage 2, one reel: what its opening does and why it works."""

    shortcode: str
    hook_text: Text
    hook_type: HookType
    power_words: list[Short] = Field(min_length=1, max_length=10)
    why_it_works: Text
    score: int = Field(ge=1, le=10)


class GeneratedHook(_Out):
    """Stage 3, one hook for the primary, adapted from a named competitor reel."""

    hook_text: Text
    hook_type: HookType
    source_shortcode: str
    adaptation: Text


class ScriptSection(_Out):
    label: Short
    text: Text


class Script(_Out):
    """Stage 4, the short-form script for one generated hook."""

    source_shortcode: str
    title: Short
    hook: Text
    sections: list[ScriptSection] = Field(min_length=2, max_length=6)
    call_to_action: Text
    estimated_duration_seconds: int = Field(ge=5, le=180)


def _pinned(base: type[_Out], name: str, field: str, codes: list[str]) -> type[_Out]:
    """A subclass of ``base`` whose ``field`` must be one of ``codes`` (an enum in the schema)."""
    if not codes:
        raise ValueError(f"{name}: no source reels to cite")
    pinned = Annotated[Literal[tuple(codes)], WithJsonSchema({"type": "string", "enum": list(codes)})]  # type: ignore[valid-type]
    return create_model(name, __base__=base, **{field: (pinned, ...)})  # type: ignore[call-overload]


def hook_analysis_model(shortcode: str) -> type[_Out]:
    """The answer for one reel: an analysis that must name that very reel."""
    return _pinned(HookAnalysis, "HookAnalysis", "shortcode", [shortcode])


def generated_hooks_model(source_codes: list[str], count: int) -> type[_Out]:
    """Exactly ``count`` hooks, each citing one of the competitor reels that were shown."""
    item = _pinned(GeneratedHook, "GeneratedHook", "source_shortcode", source_codes)
    return create_model("GeneratedHooks", __base__=_Out, hooks=(list[item], Field(min_length=count, max_length=count)))  # type: ignore[valid-type]


# The length a script is asked for (prompts.script_messages) and held to.
SCRIPT_SECONDS = (15, 90)


def _same_words(text: str) -> str:
    """A hook compared word for word: case, quotes, spacing and end punctuation do not count."""
    return " ".join(text.casefold().replace("’", "'").strip().strip("\"'“”").rstrip(".!?…").split())


def script_model(source_code: str, hook_text: str, seconds: tuple[int, int] = SCRIPT_SECONDS) -> type[_Out]:
    """The script for one generated hook: it cites the hook's source reel, opens with *that* hook
    (word for word), and lasts as long as was asked. Anything else is invalid output, retried
    like any other, so a script can never be filed under a hook it was not written for."""
    low, high = seconds
    pinned = _pinned(Script, "Script", "source_shortcode", [source_code])
    wanted = _same_words(hook_text)

    def same_hook(cls: type[Any], value: str) -> str:
        if _same_words(value) != wanted:
            raise ValueError(f"the script must open with the hook it was written for, word for word: {hook_text!r}")
        return value

    validators: dict[str, Any] = {"same_hook": field_validator("hook")(classmethod(same_hook))}
    return create_model(  # type: ignore[call-overload, no-any-return]
        "Script",
        __base__=pinned,
        __validators__=validators,
        hook=(Annotated[Text, WithJsonSchema({"type": "string", "const": hook_text})], ...),
        estimated_duration_seconds=(int, Field(ge=low, le=high)),
    )
