"""Pydantic models of the rows the console writes to Supabase (see docs/supabase-results.md).

One model per remote table, with the original ViralSpot column names and the limits of the
remote columns (``varchar(255)``, ``integer``, ``numeric(10, 2)``, the CHECK enums), so a row
the server would refuse is refused here first with a message naming the column. The mapping from
local rows lives in :mod:`.supabase_mapping`; these models only say what a valid remote row is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "INT4",
    "Name",
    "PrimaryProfileRow",
    "ContentRow",
    "SecondaryProfileRow",
    "ViralQueueRow",
    "CompetitorRow",
    "AnalysisResultRow",
    "AnalysisReelRow",
    "ScriptRow",
    "CrawlerRoundRow",
    "ROW_MODELS",
]

INT4 = 2**31 - 1
INT8 = 2**63 - 1
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=255)]
Count = Annotated[int, Field(ge=0, le=INT4)]
BigCount = Annotated[int, Field(ge=0, le=INT8)]
Score = Annotated[float, Field(gt=-1e8, lt=1e8, allow_inf_nan=False)]  # numeric(10, 2)
Stat = Annotated[float, Field(ge=0, lt=1e13, allow_inf_nan=False)]  # numeric(15, 2)


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrimaryProfileRow(_Row):
    username: Name
    profile_name: Short | None = None
    bio: str | None = None
    followers: Count = 0
    posts_count: Count = 0
    is_verified: bool = False
    is_business_account: bool = False
    profile_image_url: str | None = None
    total_reels: Count = 0
    median_views: BigCount = 0
    mean_views: Stat = 0
    std_views: Stat = 0
    total_views: BigCount = 0
    total_likes: BigCount = 0
    total_comments: BigCount = 0
    last_full_scrape: datetime | None = None


class ContentRow(_Row):
    content_id: Name
    shortcode: Name
    url: str | None = None
    description: str | None = None
    thumbnail_url: str | None = None
    view_count: BigCount = 0
    like_count: BigCount = 0
    comment_count: BigCount = 0
    outlier_score: Score | None = None
    date_posted: datetime | None = None
    username: Short | None = None


class SecondaryProfileRow(_Row):
    username: Name
    full_name: Short | None = None
    followers_count: Count | None = None
    profile_pic_url: str | None = None
    is_verified: bool = False
    is_private: bool = False
    pk: Annotated[int, Field(ge=0, le=INT8)] | None = None
    social_context: str | None = None
    discovered_by: Short | None = None


class ViralQueueRow(_Row):
    session_id: Name
    primary_username: Name | None = None  # None: not sent (a web-form job's own input, as its status)
    content_strategy: dict[str, str] | None = None
    # A web-form job's status is not upserted: viral_job_claim/finish/rerun own it (docs/supabase-results.md).
    status: Literal["pending", "processing", "completed", "failed", "paused"] | None = None
    current_step: Short | None = None
    progress_percentage: Annotated[int, Field(ge=0, le=100)] = 0
    error_message: str | None = None
    auto_rerun_enabled: bool = False
    rerun_frequency_hours: Annotated[int, Field(ge=1, le=INT4)] = 24
    last_analysis_at: datetime | None = None
    next_scheduled_run: datetime | None = None
    total_runs: Count = 0


class CompetitorRow(_Row):
    competitor_username: Name
    is_active: bool = True
    processing_status: Annotated[str, StringConstraints(max_length=50)] = "pending"


class AnalysisResultRow(_Row):
    analysis_run: Annotated[int, Field(ge=1, le=INT4)]
    analysis_type: Literal["initial", "recurring"]
    status: Annotated[str, StringConstraints(max_length=50)]
    viral_ideas: list[Any] = Field(default_factory=list)
    hook_analysis: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None
    analysis_completed_at: datetime | None = None


class AnalysisReelRow(_Row):
    """``content_id`` is resolved on the server from the shortcode in ``refs`` (see the mapping)."""

    reel_type: Literal["primary", "competitor"]
    username: Short | None = None
    selection_reason: str | None = None
    rank_in_selection: Count | None = None
    view_count_at_analysis: BigCount | None = None
    like_count_at_analysis: BigCount | None = None
    comment_count_at_analysis: BigCount | None = None
    outlier_score_at_analysis: Score | None = None
    hook_text: str | None = None


class ScriptRow(_Row):
    script_title: Annotated[str, StringConstraints(max_length=500)] | None = None
    script_content: str | None = None
    estimated_duration: Count | None = None
    primary_hook: str | None = None
    source_reels: list[str] = Field(default_factory=list)
    script_structure: dict[str, Any] = Field(default_factory=dict)


class CrawlerRoundRow(_Row):
    client_id: str
    local_id: Annotated[int, Field(ge=1, le=INT8)]
    request_id: Annotated[int, Field(ge=0, le=INT8)] | None = None
    round: Count
    seed: Name
    found: Count = 0
    dropped_total: Count = 0
    dropped: dict[str, Any] = Field(default_factory=dict)
    drops: list[Any] = Field(default_factory=list)
    duplicates: Count = 0
    duplicate_names: list[str] = Field(default_factory=list)
    queued: Count = 0
    queued_names: list[str] = Field(default_factory=list)
    calls: Count = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


ROW_MODELS: dict[str, type[_Row]] = {
    "primary_profiles": PrimaryProfileRow,
    "content": ContentRow,
    "secondary_profiles": SecondaryProfileRow,
    "viral_ideas_queue": ViralQueueRow,
    "viral_ideas_competitors": CompetitorRow,
    "viral_analysis_results": AnalysisResultRow,
    "viral_analysis_reels": AnalysisReelRow,
    "viral_scripts": ScriptRow,
    "viralspot_crawler_rounds": CrawlerRoundRow,
}
