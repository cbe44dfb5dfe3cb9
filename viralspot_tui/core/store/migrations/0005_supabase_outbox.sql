-- Migration 5: the Supabase outbox (see docs/supabase-outbox.md).
-- Every change to a table whose rows go to Supabase is written here in the SAME transaction as
-- the change itself, by the capture triggers below, while capture is on (the Supabase backend
-- turns it on; with the CSV backend the triggers' WHEN clause finds it off and writes nothing).
-- ``seq`` is AUTOINCREMENT: a number is never handed out twice, even after the rows are deleted,
-- and a rolled-back change takes its number back with it, so the sequence has no holes. The
-- highest number ever handed out (sqlite_sequence) is what the restored-copy rule compares.

-- The unused ``outbox`` table of migration 1 is folded in: its rows (none were ever written)
-- become rejected entries that say where they came from, then the old table goes.
ALTER TABLE outbox RENAME TO outbox_v1;

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('upsert','enqueue','note')),
    local_table TEXT,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','rejected','superseded')),
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_state ON outbox(state, seq) WHERE state <> 'pending';

INSERT INTO outbox (kind, local_table, payload, created_at, state, reason, attempts)
    SELECT 'note', NULL, json_object('op', op, 'payload', payload), created_at, 'rejected',
           'left over from the unused outbox table of an earlier release: never sent', attempts
    FROM outbox_v1 ORDER BY id;
DROP TABLE outbox_v1;

-- One row: this database's client id (created once, kept for the file's life), whether capture is
-- on, the highest seq the server acknowledged, and the reason pushing stopped (a restored copy).
CREATE TABLE outbox_client (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    client_id TEXT NOT NULL,
    capture INTEGER NOT NULL DEFAULT 0,
    acked_through INTEGER NOT NULL DEFAULT 0,
    server_seq INTEGER,
    halted TEXT,
    updated_at TEXT
);
INSERT INTO outbox_client (id, client_id) VALUES (1,
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)
    || '-' || lower(hex(randomblob(6))));

-- Capture triggers: the changed row as json_object of its columns (local names; the mapping in
-- core/backends/supabase_mapping.py turns it into the remote row when it is sent). Reels and
-- scripts also carry their run's number, part of the server's key for the analysis they belong to.

CREATE TRIGGER outbox_capture_primary_profiles_insert AFTER INSERT ON primary_profiles
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'primary_profiles', json_object(
        'username', NEW.username, 'profile_id', NEW.profile_id, 'full_name', NEW.full_name,
        'biography', NEW.biography, 'followers', NEW.followers, 'following', NEW.following,
        'media_count', NEW.media_count, 'is_verified', NEW.is_verified, 'is_business', NEW.is_business,
        'is_private', NEW.is_private, 'profile_pic_url', NEW.profile_pic_url,
        'hd_profile_pic_url', NEW.hd_profile_pic_url, 'total_views', NEW.total_views,
        'median_views', NEW.median_views, 'mean_views', NEW.mean_views, 'std_views', NEW.std_views,
        'total_likes', NEW.total_likes, 'total_comments', NEW.total_comments, 'reels_count', NEW.reels_count,
        'first_scraped_at', NEW.first_scraped_at, 'last_scraped_at', NEW.last_scraped_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_primary_profiles_update AFTER UPDATE ON primary_profiles
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'primary_profiles', json_object(
        'username', NEW.username, 'profile_id', NEW.profile_id, 'full_name', NEW.full_name,
        'biography', NEW.biography, 'followers', NEW.followers, 'following', NEW.following,
        'media_count', NEW.media_count, 'is_verified', NEW.is_verified, 'is_business', NEW.is_business,
        'is_private', NEW.is_private, 'profile_pic_url', NEW.profile_pic_url,
        'hd_profile_pic_url', NEW.hd_profile_pic_url, 'total_views', NEW.total_views,
        'median_views', NEW.median_views, 'mean_views', NEW.mean_views, 'std_views', NEW.std_views,
        'total_likes', NEW.total_likes, 'total_comments', NEW.total_comments, 'reels_count', NEW.reels_count,
        'first_scraped_at', NEW.first_scraped_at, 'last_scraped_at', NEW.last_scraped_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_content_insert AFTER INSERT ON content
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'content', json_object(
        'content_id', NEW.content_id, 'shortcode', NEW.shortcode, 'username', NEW.username, 'url', NEW.url,
        'caption', NEW.caption, 'taken_at', NEW.taken_at, 'views', NEW.views, 'likes', NEW.likes,
        'comments', NEW.comments, 'engagement_rate', NEW.engagement_rate, 'outlier_score', NEW.outlier_score,
        'thumbnail_url', NEW.thumbnail_url, 'video_duration', NEW.video_duration,
        'transcript', NEW.transcript, 'transcript_lang', NEW.transcript_lang,
        'transcript_checked_at', NEW.transcript_checked_at, 'first_seen_at', NEW.first_seen_at,
        'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_content_update AFTER UPDATE ON content
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'content', json_object(
        'content_id', NEW.content_id, 'shortcode', NEW.shortcode, 'username', NEW.username, 'url', NEW.url,
        'caption', NEW.caption, 'taken_at', NEW.taken_at, 'views', NEW.views, 'likes', NEW.likes,
        'comments', NEW.comments, 'engagement_rate', NEW.engagement_rate, 'outlier_score', NEW.outlier_score,
        'thumbnail_url', NEW.thumbnail_url, 'video_duration', NEW.video_duration,
        'transcript', NEW.transcript, 'transcript_lang', NEW.transcript_lang,
        'transcript_checked_at', NEW.transcript_checked_at, 'first_seen_at', NEW.first_seen_at,
        'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_secondary_profiles_insert AFTER INSERT ON secondary_profiles
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'secondary_profiles', json_object(
        'username', NEW.username, 'full_name', NEW.full_name, 'profile_pic_url', NEW.profile_pic_url,
        'is_verified', NEW.is_verified, 'is_private', NEW.is_private, 'pk', NEW.pk,
        'social_context', NEW.social_context, 'followers', NEW.followers, 'discovered_by', NEW.discovered_by,
        'first_seen_at', NEW.first_seen_at, 'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_secondary_profiles_update AFTER UPDATE ON secondary_profiles
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'secondary_profiles', json_object(
        'username', NEW.username, 'full_name', NEW.full_name, 'profile_pic_url', NEW.profile_pic_url,
        'is_verified', NEW.is_verified, 'is_private', NEW.is_private, 'pk', NEW.pk,
        'social_context', NEW.social_context, 'followers', NEW.followers, 'discovered_by', NEW.discovered_by,
        'first_seen_at', NEW.first_seen_at, 'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_ideas_queue_insert AFTER INSERT ON viral_ideas_queue
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_ideas_queue', json_object(
        'id', NEW.id, 'primary_username', NEW.primary_username, 'content_strategy', NEW.content_strategy,
        'status', NEW.status, 'stage', NEW.stage, 'progress', NEW.progress, 'error', NEW.error,
        'runs', NEW.runs, 'auto_rerun', NEW.auto_rerun, 'rerun_every_hours', NEW.rerun_every_hours,
        'next_run_at', NEW.next_run_at, 'lease_owner', NEW.lease_owner,
        'lease_expires_at', NEW.lease_expires_at, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
        'started_at', NEW.started_at, 'completed_at', NEW.completed_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_ideas_queue_update AFTER UPDATE ON viral_ideas_queue
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_ideas_queue', json_object(
        'id', NEW.id, 'primary_username', NEW.primary_username, 'content_strategy', NEW.content_strategy,
        'status', NEW.status, 'stage', NEW.stage, 'progress', NEW.progress, 'error', NEW.error,
        'runs', NEW.runs, 'auto_rerun', NEW.auto_rerun, 'rerun_every_hours', NEW.rerun_every_hours,
        'next_run_at', NEW.next_run_at, 'lease_owner', NEW.lease_owner,
        'lease_expires_at', NEW.lease_expires_at, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
        'started_at', NEW.started_at, 'completed_at', NEW.completed_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_ideas_competitors_insert AFTER INSERT ON viral_ideas_competitors
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_ideas_competitors', json_object(
        'job_id', NEW.job_id, 'username', NEW.username, 'position', NEW.position, 'status', NEW.status,
        'error', NEW.error, 'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_ideas_competitors_update AFTER UPDATE ON viral_ideas_competitors
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_ideas_competitors', json_object(
        'job_id', NEW.job_id, 'username', NEW.username, 'position', NEW.position, 'status', NEW.status,
        'error', NEW.error, 'updated_at', NEW.updated_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_analysis_results_insert AFTER INSERT ON viral_analysis_results
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_analysis_results', json_object(
        'id', NEW.id, 'job_id', NEW.job_id, 'run_number', NEW.run_number, 'run_type', NEW.run_type,
        'status', NEW.status, 'error', NEW.error, 'since', NEW.since, 'baseline', NEW.baseline,
        'selection_done', NEW.selection_done, 'profile_analysis', NEW.profile_analysis,
        'hook_analysis', NEW.hook_analysis, 'generated_hooks', NEW.generated_hooks, 'usage', NEW.usage,
        'total_tokens', NEW.total_tokens, 'total_cost_usd', NEW.total_cost_usd, 'notes', NEW.notes,
        'started_at', NEW.started_at, 'completed_at', NEW.completed_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_analysis_results_update AFTER UPDATE ON viral_analysis_results
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_analysis_results', json_object(
        'id', NEW.id, 'job_id', NEW.job_id, 'run_number', NEW.run_number, 'run_type', NEW.run_type,
        'status', NEW.status, 'error', NEW.error, 'since', NEW.since, 'baseline', NEW.baseline,
        'selection_done', NEW.selection_done, 'profile_analysis', NEW.profile_analysis,
        'hook_analysis', NEW.hook_analysis, 'generated_hooks', NEW.generated_hooks, 'usage', NEW.usage,
        'total_tokens', NEW.total_tokens, 'total_cost_usd', NEW.total_cost_usd, 'notes', NEW.notes,
        'started_at', NEW.started_at, 'completed_at', NEW.completed_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_analysis_reels_insert AFTER INSERT ON viral_analysis_reels
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_analysis_reels', json_object(
        'result_id', NEW.result_id, 'job_id', NEW.job_id, 'shortcode', NEW.shortcode,
        'username', NEW.username, 'role', NEW.role, 'rank', NEW.rank, 'reason', NEW.reason,
        'views', NEW.views, 'likes', NEW.likes, 'comments', NEW.comments, 'outlier_score', NEW.outlier_score,
        'engagement_rate', NEW.engagement_rate, 'taken_at', NEW.taken_at, 'caption', NEW.caption,
        'transcript_reused', NEW.transcript_reused, 'hook_text', NEW.hook_text, 'hook_type', NEW.hook_type,
        'hook_score', NEW.hook_score,
        'run_number', (SELECT run_number FROM viral_analysis_results WHERE id = NEW.result_id)
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_analysis_reels_update AFTER UPDATE ON viral_analysis_reels
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_analysis_reels', json_object(
        'result_id', NEW.result_id, 'job_id', NEW.job_id, 'shortcode', NEW.shortcode,
        'username', NEW.username, 'role', NEW.role, 'rank', NEW.rank, 'reason', NEW.reason,
        'views', NEW.views, 'likes', NEW.likes, 'comments', NEW.comments, 'outlier_score', NEW.outlier_score,
        'engagement_rate', NEW.engagement_rate, 'taken_at', NEW.taken_at, 'caption', NEW.caption,
        'transcript_reused', NEW.transcript_reused, 'hook_text', NEW.hook_text, 'hook_type', NEW.hook_type,
        'hook_score', NEW.hook_score,
        'run_number', (SELECT run_number FROM viral_analysis_results WHERE id = NEW.result_id)
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_scripts_insert AFTER INSERT ON viral_scripts
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_scripts', json_object(
        'id', NEW.id, 'result_id', NEW.result_id, 'job_id', NEW.job_id, 'position', NEW.position,
        'hook_text', NEW.hook_text, 'hook_type', NEW.hook_type, 'source_shortcode', NEW.source_shortcode,
        'source_username', NEW.source_username, 'adaptation', NEW.adaptation, 'title', NEW.title,
        'script', NEW.script, 'estimated_duration_seconds', NEW.estimated_duration_seconds,
        'created_at', NEW.created_at,
        'run_number', (SELECT run_number FROM viral_analysis_results WHERE id = NEW.result_id)
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_viral_scripts_update AFTER UPDATE ON viral_scripts
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'viral_scripts', json_object(
        'id', NEW.id, 'result_id', NEW.result_id, 'job_id', NEW.job_id, 'position', NEW.position,
        'hook_text', NEW.hook_text, 'hook_type', NEW.hook_type, 'source_shortcode', NEW.source_shortcode,
        'source_username', NEW.source_username, 'adaptation', NEW.adaptation, 'title', NEW.title,
        'script', NEW.script, 'estimated_duration_seconds', NEW.estimated_duration_seconds,
        'created_at', NEW.created_at,
        'run_number', (SELECT run_number FROM viral_analysis_results WHERE id = NEW.result_id)
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_crawler_rounds_insert AFTER INSERT ON crawler_rounds
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'crawler_rounds', json_object(
        'id', NEW.id, 'request_id', NEW.request_id, 'round', NEW.round, 'seed', NEW.seed, 'found', NEW.found,
        'dropped_total', NEW.dropped_total, 'dropped', NEW.dropped, 'drops', NEW.drops,
        'duplicates', NEW.duplicates, 'duplicate_names', NEW.duplicate_names, 'queued', NEW.queued,
        'queued_names', NEW.queued_names, 'calls', NEW.calls, 'error', NEW.error,
        'started_at', NEW.started_at, 'finished_at', NEW.finished_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;

CREATE TRIGGER outbox_capture_crawler_rounds_update AFTER UPDATE ON crawler_rounds
WHEN (SELECT capture FROM outbox_client WHERE id = 1) = 1 BEGIN
    INSERT INTO outbox (kind, local_table, payload, created_at) VALUES ('upsert', 'crawler_rounds', json_object(
        'id', NEW.id, 'request_id', NEW.request_id, 'round', NEW.round, 'seed', NEW.seed, 'found', NEW.found,
        'dropped_total', NEW.dropped_total, 'dropped', NEW.dropped, 'drops', NEW.drops,
        'duplicates', NEW.duplicates, 'duplicate_names', NEW.duplicate_names, 'queued', NEW.queued,
        'queued_names', NEW.queued_names, 'calls', NEW.calls, 'error', NEW.error,
        'started_at', NEW.started_at, 'finished_at', NEW.finished_at
    ), strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'));
END;
