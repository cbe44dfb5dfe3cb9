-- What the console adds to the original queue table (see docs/supabase.md, "Adopting a project").
--
-- Only additions: new nullable or defaulted columns, indexes, a log table. No existing column
-- changes meaning. Duplicate active rows for one username (the original allowed them) are
-- resolved without deleting a row, because the console's rule is one active row per name and a
-- unique partial index enforces it. Safe to run twice: the second run finds nothing to change.

-- A log of what migrations changed in existing data (one row per step that changed rows) -------
CREATE TABLE IF NOT EXISTS public.viralspot_migration_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration text NOT NULL,
  step text NOT NULL,
  rows_changed integer NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.viralspot_migration_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.viralspot_migration_log FROM anon, authenticated;

-- Lease, retry and bookkeeping columns --------------------------------------------------------
ALTER TABLE public.queue
  ADD COLUMN IF NOT EXISTS lease_owner text,
  ADD COLUMN IF NOT EXISTS lease_token uuid,
  ADD COLUMN IF NOT EXISTS lease_expires_at timestamptz,
  ADD COLUMN IF NOT EXISTS claim_request_id uuid,
  ADD COLUMN IF NOT EXISTS not_before timestamptz,
  ADD COLUMN IF NOT EXISTS max_attempts integer NOT NULL DEFAULT 3,
  ADD COLUMN IF NOT EXISTS completed_at timestamptz;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'queue_max_attempts_positive'
                   AND conrelid = 'public.queue'::regclass) THEN
    ALTER TABLE public.queue ADD CONSTRAINT queue_max_attempts_positive CHECK (max_attempts >= 1);
  END IF;
END $$;

-- Adopt existing rows ------------------------------------------------------------------------
DO $$
DECLARE
  v_merged integer := 0;
  v_raised integer := 0;
  v_budget integer := 0;
  v_completed integer := 0;
  v_groups jsonb;
BEGIN
  -- 1. Duplicate active rows: keep one per username (PROCESSING first, then HIGH, then the oldest,
  --    then the smallest id), give it the highest priority of its group, and mark the others
  --    FAILED with a message naming the row they were merged into. No row is deleted.
  WITH ranked AS (
    SELECT id, username, priority,
           first_value(id) OVER w AS keep_id,
           row_number() OVER w AS rn,
           bool_or(priority = 'HIGH') OVER (PARTITION BY username) AS any_high
      FROM public.queue
     WHERE status IN ('PENDING', 'PROCESSING', 'PAUSED')
    WINDOW w AS (PARTITION BY username
                 ORDER BY (status = 'PROCESSING') DESC, (priority = 'HIGH') DESC,
                          created_at ASC NULLS LAST, id ASC)
  ), groups AS (
    SELECT username, keep_id, array_agg(id ORDER BY id) FILTER (WHERE rn > 1) AS merged_ids, bool_or(any_high) AS any_high
      FROM ranked GROUP BY username, keep_id HAVING count(*) > 1
  ), merged AS (
    UPDATE public.queue q
       SET status = 'FAILED',
           error_message = format('duplicate active row for %s: merged into %s by the viralspot migration',
                                  q.username, g.keep_id)
      FROM groups g
     WHERE q.id = ANY (g.merged_ids)
    RETURNING q.id
  ), raised AS (
    UPDATE public.queue q SET priority = 'HIGH'
      FROM groups g
     WHERE q.id = g.keep_id AND g.any_high AND q.priority IS DISTINCT FROM 'HIGH'
    RETURNING q.id
  )
  SELECT (SELECT count(*) FROM merged), (SELECT count(*) FROM raised),
         (SELECT coalesce(jsonb_agg(jsonb_build_object('username', username, 'kept', keep_id, 'merged', merged_ids)), '[]')
            FROM groups)
    INTO v_merged, v_raised, v_groups;

  -- 2. Active rows whose attempts already reach the console's budget get one more try, so they
  --    neither sit PENDING forever nor fail without being tried.
  UPDATE public.queue SET max_attempts = coalesce(attempts, 0) + 1
   WHERE status IN ('PENDING', 'PROCESSING', 'PAUSED') AND coalesce(attempts, 0) >= max_attempts;
  GET DIAGNOSTICS v_budget = ROW_COUNT;

  -- 3. completed_at for rows completed before the console existed: their last known activity.
  UPDATE public.queue SET completed_at = coalesce(last_attempt, updated_at, created_at)
   WHERE status = 'COMPLETED' AND completed_at IS NULL AND coalesce(last_attempt, updated_at, created_at) IS NOT NULL;
  GET DIAGNOSTICS v_completed = ROW_COUNT;

  RAISE NOTICE 'viralspot migration 20261201000200: % duplicate active row(s) merged (% kept row(s) raised to HIGH), % active row(s) given one more attempt, % completed row(s) given completed_at',
    v_merged, v_raised, v_budget, v_completed;
  IF v_merged > 0 OR v_raised > 0 THEN
    INSERT INTO public.viralspot_migration_log (migration, step, rows_changed, details)
    VALUES ('20261201000200_console_queue', 'merge duplicate active rows', v_merged + v_raised,
            jsonb_build_object('merged', v_merged, 'raised_to_high', v_raised, 'groups', v_groups));
  END IF;
  IF v_budget > 0 THEN
    INSERT INTO public.viralspot_migration_log (migration, step, rows_changed, details)
    VALUES ('20261201000200_console_queue', 'raise max_attempts of exhausted active rows', v_budget, '{}'::jsonb);
  END IF;
  IF v_completed > 0 THEN
    INSERT INTO public.viralspot_migration_log (migration, step, rows_changed, details)
    VALUES ('20261201000200_console_queue', 'backfill completed_at', v_completed, '{}'::jsonb);
  END IF;
END $$;

-- Indexes ---------------------------------------------------------------------------------------
-- One active row per username (SPEC Q3 as docs/supabase.md states it); enforced under concurrency.
CREATE UNIQUE INDEX IF NOT EXISTS queue_one_active_per_username
  ON public.queue (username) WHERE status IN ('PENDING', 'PROCESSING', 'PAUSED');
-- Claim order: HIGH first, paused work before new work, then oldest first.
CREATE INDEX IF NOT EXISTS queue_claimable
  ON public.queue (priority, (status = 'PAUSED') DESC, created_at, id) WHERE status IN ('PENDING', 'PAUSED');
CREATE INDEX IF NOT EXISTS queue_leased
  ON public.queue (lease_expires_at) WHERE status = 'PROCESSING';
CREATE UNIQUE INDEX IF NOT EXISTS queue_lease_token ON public.queue (lease_token) WHERE lease_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_claim_request ON public.queue (claim_request_id) WHERE claim_request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_username ON public.queue (username);
CREATE INDEX IF NOT EXISTS queue_status_created ON public.queue (status, created_at);

-- The anonymous role never touches the queue. RLS already hides the rows from it; revoking the
-- privileges too makes a mistaken policy harmless, and queue_stats runs with the caller's rights
-- so the counts follow the same policies as the table.
REVOKE ALL ON public.queue FROM anon;
ALTER VIEW public.queue_stats SET (security_invoker = true);
REVOKE ALL ON public.queue_stats FROM anon;
