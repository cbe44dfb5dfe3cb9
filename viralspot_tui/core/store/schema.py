"""The local SQLite schema. Table names follow the SPEC so operators can query with sqlite3.

Every statement is idempotent (``IF NOT EXISTS``), so opening an existing database applies
only what is missing. Domain modules that own extra tables contribute their DDL through
:data:`EXTRA_DDL` hooks registered at import time of this module's siblings.
"""

from __future__ import annotations

import sqlite3

__all__ = ["apply_schema", "CORE_DDL"]

CORE_DDL = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('HIGH','LOW')),
    status TEXT NOT NULL CHECK (status IN ('PENDING','PROCESSING','PAUSED','COMPLETED','FAILED')),
    source TEXT NOT NULL DEFAULT 'manual',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    last_error TEXT,
    not_before TEXT,
    lease_owner TEXT,
    lease_expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT,
    request_id TEXT,
    claim_rank INTEGER GENERATED ALWAYS AS (CASE status WHEN 'PAUSED' THEN 0 ELSE 1 END) VIRTUAL
);
CREATE UNIQUE INDEX IF NOT EXISTS queue_active_username
    ON queue(username) WHERE status IN ('PENDING','PROCESSING','PAUSED');
CREATE INDEX IF NOT EXISTS queue_claimable
    ON queue(priority, claim_rank, id) WHERE status IN ('PENDING','PAUSED');
CREATE INDEX IF NOT EXISTS queue_leases
    ON queue(lease_expires_at) WHERE status = 'PROCESSING';
CREATE INDEX IF NOT EXISTS queue_username ON queue(username);
DROP INDEX IF EXISTS queue_status;
CREATE INDEX IF NOT EXISTS queue_status_priority ON queue(status, priority);

CREATE TABLE IF NOT EXISTS pipeline_checkpoints (
    item_key TEXT NOT NULL,
    step TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (item_key, step)
);

CREATE TABLE IF NOT EXISTS control_commands (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    applied_at TEXT,
    applied_by TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS control_pending ON control_commands(id) WHERE applied_at IS NULL;

CREATE TABLE IF NOT EXISTS runtime_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS csv_snapshot (
    username TEXT PRIMARY KEY,
    priority TEXT NOT NULL,
    status TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    op TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);

CREATE TABLE IF NOT EXISTS primary_profiles (
    username TEXT PRIMARY KEY,
    profile_id TEXT,
    full_name TEXT,
    biography TEXT,
    followers INTEGER,
    following INTEGER,
    media_count INTEGER,
    is_verified INTEGER NOT NULL DEFAULT 0,
    is_business INTEGER NOT NULL DEFAULT 0,
    is_private INTEGER NOT NULL DEFAULT 0,
    profile_pic_url TEXT,
    hd_profile_pic_url TEXT,
    total_views INTEGER NOT NULL DEFAULT 0,
    median_views REAL NOT NULL DEFAULT 0,
    mean_views REAL NOT NULL DEFAULT 0,
    std_views REAL NOT NULL DEFAULT 0,
    total_likes INTEGER NOT NULL DEFAULT 0,
    total_comments INTEGER NOT NULL DEFAULT 0,
    reels_count INTEGER NOT NULL DEFAULT 0,
    first_scraped_at TEXT NOT NULL,
    last_scraped_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS content (
    content_id TEXT PRIMARY KEY,
    shortcode TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    url TEXT NOT NULL,
    caption TEXT,
    taken_at TEXT,
    views INTEGER NOT NULL DEFAULT 0,
    likes INTEGER NOT NULL DEFAULT 0,
    comments INTEGER NOT NULL DEFAULT 0,
    engagement_rate REAL,
    outlier_score REAL,
    thumbnail_url TEXT,
    video_duration REAL,
    transcript TEXT,
    transcript_lang TEXT,
    transcript_checked_at TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS content_username ON content(username, taken_at);

CREATE TABLE IF NOT EXISTS secondary_profiles (
    username TEXT PRIMARY KEY,
    full_name TEXT,
    profile_pic_url TEXT,
    is_verified INTEGER NOT NULL DEFAULT 0,
    is_private INTEGER NOT NULL DEFAULT 0,
    pk TEXT,
    social_context TEXT,
    followers INTEGER,
    discovered_by TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS secondary_discovered_by ON secondary_profiles(discovered_by);
"""

_EXTRA: list[str] = []


def register_ddl(ddl: str) -> None:
    """Let a domain store (viral ideas, crawler) add its tables to every database it opens."""
    if ddl not in _EXTRA:
        _EXTRA.append(ddl)


def apply_schema(conn: sqlite3.Connection) -> None:
    conn.executescript("BEGIN;" + CORE_DDL + "".join(_EXTRA) + "COMMIT;")
