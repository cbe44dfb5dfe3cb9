-- Migration 7: status changes are counted by the statement that makes them, not by a trigger per
-- row (see docs/performance.md, "Where the store's time goes"). The per-row trigger of migration 2
-- ran two UPDATEs of queue_counts for every claimed and every completed row, a fifth of the
-- store's time per item. Now:
--   * a new or deleted row is still counted by its trigger (queue_counts_insert / _delete);
--   * a priority change is counted by the trigger below, at the row's old status;
--   * a status change is counted by the writing statement itself, at the row's new priority, in
--     the same transaction: the store's claim, complete, fail, release and retry, and lease
--     recovery (core/store/queue_store.py, core/store/leases.py) adjust queue_counts once per
--     (priority, status) group. Any other writer that changes a queue row's status must do the
--     same (tests/core/test_queue_counts.py compares the counts with a GROUP BY after every kind
--     of write).
DROP TRIGGER IF EXISTS queue_counts_update;

CREATE TRIGGER IF NOT EXISTS queue_counts_priority AFTER UPDATE OF priority ON queue
WHEN OLD.priority IS NOT NEW.priority BEGIN
    UPDATE queue_counts SET n = n - 1 WHERE priority = OLD.priority AND status = OLD.status;
    UPDATE queue_counts SET n = n + 1 WHERE priority = NEW.priority AND status = OLD.status;
END;
