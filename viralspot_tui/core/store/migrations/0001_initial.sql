-- Migration 1: the schema of the first release, every table in one place.
-- IF NOT EXISTS throughout, so a database created before numbered migrations (user_version 0,
-- tables already there) is adopted as version 1 unchanged, and any table it lacks is added.

-- queue, checkpoints, control channel, runtime state, CSV mirror, outbox, content
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

-- viral ideas jobs
CREATE TABLE IF NOT EXISTS viral_ideas_queue (
    id INTEGER PRIMARY KEY,
    primary_username TEXT NOT NULL,
    content_strategy TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('pending','processing','paused','completed','failed')),
    stage TEXT NOT NULL DEFAULT 'queued',
    progress INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    auto_rerun INTEGER NOT NULL DEFAULT 0,
    rerun_every_hours REAL NOT NULL DEFAULT 24,
    next_run_at TEXT,
    lease_owner TEXT,
    lease_expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    completed_at TEXT
);
CREATE INDEX IF NOT EXISTS viral_ideas_queue_status ON viral_ideas_queue(status, next_run_at);

CREATE TABLE IF NOT EXISTS viral_ideas_competitors (
    job_id INTEGER NOT NULL REFERENCES viral_ideas_queue(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','fetched','reused','failed')),
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, username)
);

-- viral ideas results
CREATE TABLE IF NOT EXISTS viral_analysis_results (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES viral_ideas_queue(id) ON DELETE CASCADE,
    run_number INTEGER NOT NULL,
    run_type TEXT NOT NULL CHECK (run_type IN ('initial','recurring')),
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running','completed','failed')),
    error TEXT,
    since TEXT,
    baseline TEXT,
    selection_done INTEGER NOT NULL DEFAULT 0,
    profile_analysis TEXT,
    hook_analysis TEXT NOT NULL DEFAULT '{}',
    generated_hooks TEXT,
    usage TEXT NOT NULL DEFAULT '{}',
    total_tokens INTEGER NOT NULL DEFAULT 0,
    total_cost_usd REAL NOT NULL DEFAULT 0,
    notes TEXT,
    started_at TEXT NOT NULL,
    completed_at TEXT,
    UNIQUE (job_id, run_number)
);

CREATE TABLE IF NOT EXISTS viral_analysis_reels (
    result_id INTEGER NOT NULL REFERENCES viral_analysis_results(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL,
    shortcode TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('primary','competitor')),
    rank INTEGER NOT NULL,
    reason TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    likes INTEGER NOT NULL DEFAULT 0,
    comments INTEGER NOT NULL DEFAULT 0,
    outlier_score REAL,
    engagement_rate REAL,
    taken_at TEXT,
    caption TEXT,
    transcript_reused INTEGER NOT NULL DEFAULT 0,
    hook_text TEXT,
    hook_type TEXT,
    hook_score INTEGER,
    PRIMARY KEY (result_id, shortcode)
);
CREATE INDEX IF NOT EXISTS viral_analysis_reels_job ON viral_analysis_reels(job_id, shortcode);

CREATE TABLE IF NOT EXISTS viral_scripts (
    id INTEGER PRIMARY KEY,
    result_id INTEGER NOT NULL REFERENCES viral_analysis_results(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    hook_text TEXT NOT NULL,
    hook_type TEXT NOT NULL,
    source_shortcode TEXT NOT NULL,
    source_username TEXT NOT NULL,
    adaptation TEXT,
    title TEXT NOT NULL,
    script TEXT NOT NULL,
    estimated_duration_seconds INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (result_id, position)
);

-- crawler
CREATE TABLE IF NOT EXISTS crawler_requests (
    id INTEGER PRIMARY KEY,
    seeds TEXT NOT NULL DEFAULT '[]',
    target INTEGER NOT NULL CHECK (target >= 1),
    max_rounds INTEGER NOT NULL CHECK (max_rounds >= 1),
    source TEXT NOT NULL DEFAULT 'cli',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','completed','failed')),
    outcome TEXT,
    rounds_done INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    owner TEXT,
    lease_expires_at TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crawler_requests_open ON crawler_requests(status, id)
    WHERE status IN ('pending','running');

CREATE TABLE IF NOT EXISTS crawler_rounds (
    id INTEGER PRIMARY KEY,
    request_id INTEGER,
    round INTEGER NOT NULL,
    seed TEXT NOT NULL,
    found INTEGER NOT NULL,
    dropped_total INTEGER NOT NULL,
    dropped TEXT NOT NULL DEFAULT '{}',
    drops TEXT NOT NULL DEFAULT '[]',
    duplicates INTEGER NOT NULL,
    duplicate_names TEXT NOT NULL DEFAULT '[]',
    queued INTEGER NOT NULL,
    queued_names TEXT NOT NULL DEFAULT '[]',
    calls INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    started_at TEXT,
    finished_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS crawler_rounds_request_round ON crawler_rounds(request_id, round)
    WHERE request_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS crawler_blocklist (
    username TEXT PRIMARY KEY,
    note TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS crawler_budget (
    day TEXT PRIMARY KEY,
    calls INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
