-- Migration 3: the per-API-key rate budget shared by the processes on one data dir (docs/priority.md).
-- One row per process currently sending with a key: the budget id (provider + a short digest of
-- the key, never the key), the process's instance id, and until when its share is live.
CREATE TABLE IF NOT EXISTS rate_shares (
    budget TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    active_until REAL NOT NULL,
    PRIMARY KEY (budget, instance_id)
);
