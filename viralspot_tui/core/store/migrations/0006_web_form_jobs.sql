-- Migration 6: viral jobs this console took from the ViralSpot web form (docs/supabase-results.md,
-- "Web-form jobs"). One row per local job that runs a remote viral_ideas_queue job: the web form's
-- session_id (the pusher maps the job's rows onto it instead of a console session id), the remote
-- id, and the lease token every remote write about the job is fenced by. ``remote_state`` is what
-- the server was last told: processing (claimed or re-run), completed or failed (finished), lost
-- (taken over by another console, or changed by the web form: nothing more is reported).
-- ``reported_runs`` is the local run count the last finish covered, so a re-run is reported once.
-- ``finish_after_seq``: a finish waits until the outbox has delivered every change up to this seq,
-- so the job's results are in Supabase before the web form sees it completed.
CREATE TABLE IF NOT EXISTS web_form_jobs (
    job_id INTEGER PRIMARY KEY REFERENCES viral_ideas_queue(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL UNIQUE,
    remote_id TEXT NOT NULL,
    lease_token TEXT NOT NULL,
    lease_expires_at TEXT,
    remote_state TEXT NOT NULL DEFAULT 'processing'
        CHECK (remote_state IN ('processing','completed','failed','lost')),
    reported_runs INTEGER NOT NULL DEFAULT 0,
    finish_after_seq INTEGER,
    claimed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    note TEXT
);
