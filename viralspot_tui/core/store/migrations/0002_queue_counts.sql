-- Migration 2: queue counts kept in the same transaction as every change (see docs/schema.md).
-- The console shows counts by priority and status on every refresh; counting a million rows
-- each time made its cost grow with the queue. Triggers keep one row per (priority, status)
-- up to date inside the writing transaction, so the counts are always exact and reading them
-- costs the same at any queue size.
CREATE TABLE IF NOT EXISTS queue_counts (
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (priority, status)
) WITHOUT ROWID;

INSERT OR IGNORE INTO queue_counts (priority, status, n)
    SELECT p.value, s.value, 0
    FROM json_each('["HIGH","LOW"]') AS p, json_each('["PENDING","PROCESSING","PAUSED","COMPLETED","FAILED"]') AS s;

UPDATE queue_counts SET n = (
    SELECT COUNT(*) FROM queue WHERE queue.priority = queue_counts.priority AND queue.status = queue_counts.status
);

CREATE TRIGGER IF NOT EXISTS queue_counts_insert AFTER INSERT ON queue BEGIN
    UPDATE queue_counts SET n = n + 1 WHERE priority = NEW.priority AND status = NEW.status;
END;

CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON queue BEGIN
    UPDATE queue_counts SET n = n - 1 WHERE priority = OLD.priority AND status = OLD.status;
END;

CREATE TRIGGER IF NOT EXISTS queue_counts_update AFTER UPDATE OF priority, status ON queue
WHEN OLD.priority IS NOT NEW.priority OR OLD.status IS NOT NEW.status BEGIN
    UPDATE queue_counts SET n = n - 1 WHERE priority = OLD.priority AND status = OLD.status;
    UPDATE queue_counts SET n = n + 1 WHERE priority = NEW.priority AND status = NEW.status;
END;

-- The console's "recent failures" list: newest first through an index, not a scan of history.
CREATE INDEX IF NOT EXISTS queue_failed_recent ON queue(id) WHERE status = 'FAILED';

-- (status, priority) served the per-refresh GROUP BY that queue_counts replaces; every other
-- status lookup has its own partial index, so it only cost a write on every status change.
DROP INDEX IF EXISTS queue_status_priority;
