-- Migration 4: the Supabase backend's mirror map (see docs/supabase.md, "The backend").
-- One row per local queue row that mirrors a remote item this process leased: the remote id and
-- the lease token every remote write is fenced by. ``ended`` is set by the trigger below when
-- the local lease of the row ends (the processor completed, failed or released it), so the
-- backend pushes each local outcome exactly once; ``pushed`` marks an outcome already sent.
CREATE TABLE IF NOT EXISTS supabase_mirror (
    local_id INTEGER PRIMARY KEY,
    remote_id TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    claimed_attempts INTEGER NOT NULL,
    ended TEXT,
    pushed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS supabase_mirror_ended ON supabase_mirror(local_id) WHERE ended IS NOT NULL AND pushed = 0;

CREATE TRIGGER IF NOT EXISTS supabase_mirror_lease_ended
AFTER UPDATE OF status ON queue
WHEN OLD.status = 'PROCESSING' AND NEW.status <> 'PROCESSING'
BEGIN
    UPDATE supabase_mirror SET ended = NEW.status WHERE local_id = NEW.id AND pushed = 0;
END;
