-- Migration 8: a claim stops rewriting an index it does not change (see docs/performance.md,
-- "Where the store's time goes").
--
-- One active row per name was a unique index WHERE status IN (the active statuses). SQLite
-- deletes and re-inserts a partial index's entry whenever a column its WHERE reads changes, so
-- every claim (PENDING -> PROCESSING, both active) rewrote the same key: about 36 of the claim's
-- 200 SQLite VM instructions per row. The index now reads ``active``: 1 while the row is
-- PENDING, PROCESSING or PAUSED, NULL once it is COMPLETED or FAILED, a column the claim never
-- writes. An inserted row is flagged by the trigger below (so a second active row for a name is
-- refused even when inserted by hand). Status changes are not: an AFTER UPDATE trigger costs
-- about 25 instructions per updated row even when its WHEN is false, which is what this
-- migration saves. So, as with the counts of migration 7, every writer that moves a row into or
-- out of the active statuses sets ``active`` in the same UPDATE (the store's completion, failure
-- and retry); tests/core/test_queue_counts_writers.py drives every writer and checks the flag
-- against the status after each.
ALTER TABLE queue ADD COLUMN active INTEGER CHECK (active = 1);
UPDATE queue SET active = 1 WHERE status IN ('PENDING','PROCESSING','PAUSED');
DROP INDEX IF EXISTS queue_active_username;
CREATE UNIQUE INDEX queue_active_username ON queue(username) WHERE active = 1;

CREATE TRIGGER queue_active_insert AFTER INSERT ON queue
WHEN (CASE WHEN NEW.status IN ('PENDING','PROCESSING','PAUSED') THEN 1 END) IS NOT NEW.active BEGIN
    UPDATE queue SET active = CASE WHEN NEW.status IN ('PENDING','PROCESSING','PAUSED') THEN 1 END
    WHERE id = NEW.id;
END;
