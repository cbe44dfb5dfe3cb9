-- Fenced claims of viral ideas jobs submitted by the ViralSpot web form (see docs/supabase-results.md,
-- "Web-form jobs"). The leases live in a console-own table beside viral_ideas_queue, so no column
-- of the original is added and its rows stay as they are; the job's status column keeps its
-- meaning (pending -> processing -> completed/failed). Jobs the consoles pushed themselves
-- (session_id 'console-...') are never claimed: they already run on their console. Safe to run twice.

CREATE TABLE IF NOT EXISTS public.viralspot_viral_leases (
  queue_id uuid PRIMARY KEY REFERENCES public.viral_ideas_queue (id) ON DELETE CASCADE,
  lease_owner text,
  lease_token uuid NOT NULL UNIQUE,
  lease_expires_at timestamptz,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  outcome text
);
CREATE INDEX IF NOT EXISTS viralspot_viral_leases_expiry ON public.viralspot_viral_leases (lease_expires_at)
  WHERE lease_expires_at IS NOT NULL;
ALTER TABLE public.viralspot_viral_leases ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.viralspot_viral_leases FROM anon, authenticated;
CREATE INDEX IF NOT EXISTS viralspot_viral_ideas_pending ON public.viral_ideas_queue (priority, created_at, id)
  WHERE status = 'pending';

-- Claim up to p_limit web-form jobs: pending ones (priority 1 first, then the oldest), and
-- processing ones whose console lease ran out (taken over). Answer: one object per job with the
-- row, its active competitors, the fresh lease token and deadline.
CREATE OR REPLACE FUNCTION public.viral_job_claim(p_owner text, p_limit integer, p_lease_seconds numeric DEFAULT 300)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_out jsonb;
BEGIN
  IF p_owner IS NULL OR length(btrim(p_owner)) = 0 OR length(p_owner) > 200 THEN
    RAISE EXCEPTION 'owner must be 1-200 characters' USING ERRCODE = '22023';
  END IF;
  PERFORM public.viralspot_check_lease_args(p_limit, p_lease_seconds);
  WITH fresh AS MATERIALIZED (
    SELECT q.id, q.priority, q.created_at FROM public.viral_ideas_queue q
     WHERE q.status = 'pending' AND q.session_id NOT LIKE 'console-%'
     ORDER BY q.priority, q.created_at, q.id
     LIMIT p_limit
     FOR UPDATE OF q SKIP LOCKED
  ), stale AS MATERIALIZED (
    SELECT q.id, q.priority, q.created_at FROM public.viral_ideas_queue q
      JOIN public.viralspot_viral_leases l ON l.queue_id = q.id
     WHERE q.status = 'processing' AND l.lease_expires_at < now()
     ORDER BY q.priority, q.created_at, q.id
     LIMIT p_limit
     FOR UPDATE OF q SKIP LOCKED
  ), picked AS MATERIALIZED (
    SELECT u.id FROM (SELECT * FROM fresh UNION SELECT * FROM stale) u
     ORDER BY u.priority, u.created_at, u.id
     LIMIT p_limit
  ), leased AS (
    INSERT INTO public.viralspot_viral_leases AS l (queue_id, lease_owner, lease_token, lease_expires_at, claimed_at, outcome)
    SELECT p.id, p_owner, gen_random_uuid(), now() + make_interval(secs => p_lease_seconds), now(), NULL FROM picked p
    ON CONFLICT (queue_id) DO UPDATE
      SET lease_owner = excluded.lease_owner, lease_token = excluded.lease_token,
          lease_expires_at = excluded.lease_expires_at, claimed_at = excluded.claimed_at, outcome = NULL
    RETURNING l.queue_id, l.lease_token, l.lease_expires_at
  ), jobs AS (
    UPDATE public.viral_ideas_queue q
       SET status = 'processing', current_step = 'claimed by a console', error_message = NULL
      FROM leased l WHERE q.id = l.queue_id
    RETURNING q.*, l.lease_token AS v_token, l.lease_expires_at AS v_expires
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'job', to_jsonb(j) - 'v_token' - 'v_expires',
           'competitors', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.created_at, c.competitor_username), '[]'::jsonb)
                             FROM public.viral_ideas_competitors c WHERE c.queue_id = j.id AND c.is_active IS NOT FALSE),
           'token', j.v_token, 'lease_expires_at', j.v_expires) ORDER BY j.priority, j.created_at, j.id), '[]'::jsonb)
    INTO v_out FROM jobs j;
  RETURN v_out;
END $$;

-- Renew job leases; tokens no longer current (finished, or taken over) are reported lost.
CREATE OR REPLACE FUNCTION public.viral_job_heartbeat(p_tokens uuid[], p_lease_seconds numeric DEFAULT 300)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_renewed uuid[];
BEGIN
  PERFORM public.viralspot_check_lease_args(0, p_lease_seconds);
  WITH renewed AS (
    UPDATE public.viralspot_viral_leases l SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
      FROM public.viral_ideas_queue q
     WHERE q.id = l.queue_id AND q.status = 'processing' AND l.outcome IS NULL
       AND l.lease_token = ANY (coalesce(p_tokens, '{}'))
    RETURNING l.lease_token)
  SELECT coalesce(array_agg(lease_token), '{}') INTO v_renewed FROM renewed;
  RETURN jsonb_build_object(
    'renewed', to_jsonb(v_renewed),
    'lost', (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM unnest(coalesce(p_tokens, '{}')) t WHERE t <> ALL (v_renewed)),
    'now', now());
END $$;

-- End a claimed job: completed, failed (with p_error), or pending (given back). Fenced by the
-- token: a token taken over answers "stale"; the same call repeated answers "already".
CREATE OR REPLACE FUNCTION public.viral_job_finish(p_token uuid, p_status text, p_error text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_lease public.viralspot_viral_leases;
  v_job public.viral_ideas_queue;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'pending') THEN
    RAISE EXCEPTION 'status must be completed, failed or pending, got %', coalesce(quote_literal(p_status), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO v_lease FROM public.viralspot_viral_leases l WHERE l.lease_token = p_token FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('ok', false, 'outcome', 'stale', 'reason', 'no job holds this lease token', 'now', now());
  END IF;
  IF v_lease.outcome IS NOT NULL THEN
    RETURN jsonb_build_object('ok', v_lease.outcome = p_status, 'outcome', 'already', 'status', v_lease.outcome,
                              'now', now());
  END IF;
  SELECT * INTO v_job FROM public.viral_ideas_queue q WHERE q.id = v_lease.queue_id FOR UPDATE;
  IF v_job.status IS DISTINCT FROM 'processing' THEN
    RETURN jsonb_build_object('ok', false, 'outcome', 'stale', 'status', v_job.status,
                              'reason', format('the job is %s, not held by this token', v_job.status), 'now', now());
  END IF;
  UPDATE public.viral_ideas_queue q
     SET status = p_status,
         error_message = CASE WHEN p_status = 'failed' THEN left(coalesce(p_error, 'unknown error'), 2000) END,
         progress_percentage = CASE WHEN p_status = 'completed' THEN 100 ELSE q.progress_percentage END,
         current_step = CASE p_status WHEN 'completed' THEN 'completed' WHEN 'failed' THEN 'failed' ELSE NULL END,
         last_analysis_at = CASE WHEN p_status = 'completed' THEN now() ELSE q.last_analysis_at END,
         total_runs = coalesce(q.total_runs, 0) + CASE WHEN p_status = 'completed' THEN 1 ELSE 0 END
   WHERE q.id = v_job.id;
  UPDATE public.viralspot_viral_leases l SET outcome = p_status, lease_expires_at = NULL WHERE l.queue_id = v_job.id;
  RETURN jsonb_build_object('ok', true, 'outcome', 'finished', 'status', p_status, 'id', v_job.id,
                            'session_id', v_job.session_id, 'now', now());
END $$;

DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'viral\_job\_%'
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
  END LOOP;
END $$;

NOTIFY pgrst, 'reload schema';
