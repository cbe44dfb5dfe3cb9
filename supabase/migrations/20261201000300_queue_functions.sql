-- The queue's functions, called through PostgREST with rpc() (see docs/supabase.md, "Functions").
--
-- Every function is SECURITY DEFINER with an empty search_path (every name is qualified), and
-- only service_role may execute it. Times come from the database clock (now(): one value per
-- transaction, and PostgREST runs one transaction per request). Every write made on behalf of a
-- worker is fenced by the lease token the claim handed out: a token that is no longer current
-- changes nothing, and the answer says so. Safe to run twice (CREATE OR REPLACE).

-- Validation helpers ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.viralspot_normalize_username(p_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
DECLARE
  v text := lower(btrim(coalesce(p_name, '')));
BEGIN
  IF left(v, 1) = '@' THEN v := substr(v, 2); END IF;
  IF v !~ '^[a-z0-9._]{1,30}$' OR left(v, 1) = '.' OR right(v, 1) = '.' OR position('..' IN v) > 0 THEN
    RAISE EXCEPTION 'invalid username %: 1-30 letters, digits, "." or "_", no leading, trailing or double "."',
      quote_literal(left(coalesce(p_name, ''), 40)) USING ERRCODE = '22023';
  END IF;
  RETURN v;
END $$;

CREATE OR REPLACE FUNCTION public.viralspot_check_lease_args(p_limit integer, p_lease_seconds numeric) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
BEGIN
  IF p_limit IS NULL OR p_limit < 0 OR p_limit > 1000 THEN
    RAISE EXCEPTION 'claim limit must be between 0 and 1000, got %', p_limit USING ERRCODE = '22023';
  END IF;
  IF p_lease_seconds IS NULL OR p_lease_seconds < 0.05 OR p_lease_seconds > 86400 THEN
    RAISE EXCEPTION 'lease_seconds must be between 0.05 and 86400, got %', p_lease_seconds USING ERRCODE = '22023';
  END IF;
END $$;

-- Is a HIGH item claimable right now? (heartbeats report it so LOW work can pause) -------------
CREATE OR REPLACE FUNCTION public.viralspot_high_waiting() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (
    SELECT 1 FROM public.queue q
     WHERE q.priority = 'HIGH' AND q.status IN ('PENDING', 'PAUSED') AND q.attempts < q.max_attempts
       AND (q.not_before IS NULL OR q.not_before <= now()))
  OR EXISTS (
    SELECT 1 FROM public.queue q
     WHERE q.priority = 'HIGH' AND q.status = 'PROCESSING' AND q.attempts < q.max_attempts
       AND (q.lease_expires_at < now() OR (q.lease_expires_at IS NULL AND q.updated_at < now() - interval '1 hour')))
$$;

-- Enqueue a batch (SPEC Q3) --------------------------------------------------------------------
-- p_items: [{"username": ..., "priority": "HIGH"|"LOW", "source": ..., "request_id": ..., "max_attempts": n}]
-- One active row per username; a higher priority upgrades it (also while it is leased: the holder
-- keeps running, now as HIGH); same or lower priority is a no-op that says so; a COMPLETED or
-- FAILED name gets a new row. A request_id seen before answers with that row (a retried call).
CREATE OR REPLACE FUNCTION public.queue_enqueue(p_items jsonb)
RETURNS TABLE (username text, outcome text, priority public.queue_priority, status public.queue_status, item_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
DECLARE
  v_item jsonb;
  v_name text;
  v_pri public.queue_priority;
  v_source text;
  v_req text;
  v_max integer;
  v_row record;
  v_refresh boolean;
  v_ordinal integer := 0;
BEGIN
  IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
    RAISE EXCEPTION 'p_items must be a JSON array of {username, priority, source}' USING ERRCODE = '22023';
  END IF;
  IF jsonb_array_length(p_items) > 5000 THEN
    RAISE EXCEPTION 'at most 5000 items per call, got %', jsonb_array_length(p_items) USING ERRCODE = '22023';
  END IF;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    v_ordinal := v_ordinal + 1;
    IF jsonb_typeof(v_item) <> 'object' THEN
      RAISE EXCEPTION 'item % is not an object', v_ordinal USING ERRCODE = '22023';
    END IF;
    v_name := public.viralspot_normalize_username(v_item ->> 'username');
    BEGIN
      v_pri := upper(coalesce(v_item ->> 'priority', 'LOW'))::public.queue_priority;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'item % (%): priority must be HIGH or LOW', v_ordinal, v_name USING ERRCODE = '22023';
    END;
    v_source := left(coalesce(nullif(btrim(v_item ->> 'source'), ''), 'manual'), 100);
    v_req := nullif(btrim(v_item ->> 'request_id'), '');
    IF v_req IS NOT NULL AND length(v_req) > 50 THEN
      RAISE EXCEPTION 'item % (%): request_id is longer than 50 characters', v_ordinal, v_name USING ERRCODE = '22023';
    END IF;
    v_max := coalesce((v_item ->> 'max_attempts')::integer, 3);
    IF v_max < 1 OR v_max > 100 THEN
      RAISE EXCEPTION 'item % (%): max_attempts must be between 1 and 100', v_ordinal, v_name USING ERRCODE = '22023';
    END IF;

    IF v_req IS NOT NULL THEN
      SELECT q.id, q.priority, q.status, q.username INTO v_row FROM public.queue q WHERE q.request_id = v_req;
      IF FOUND AND v_row.username <> v_name THEN
        RAISE EXCEPTION 'item % (%): request_id % already belongs to %', v_ordinal, v_name, quote_literal(v_req),
          v_row.username USING ERRCODE = '22023';
      END IF;
      IF FOUND THEN
        username := v_name; outcome := 'already-queued'; priority := v_row.priority;
        status := v_row.status; item_id := v_row.id;
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;

    v_refresh := EXISTS (SELECT 1 FROM public.queue q WHERE q.username = v_name AND q.status = 'COMPLETED');
    -- The partial unique index decides between insert and upgrade atomically, also when two
    -- callers add the same name at once (the loser waits, then takes the conflict branch).
    -- clock_timestamp(): items of one call keep their order (claims are oldest-first).
    INSERT INTO public.queue AS q (username, source, priority, status, attempts, request_id, max_attempts,
                                   "timestamp", created_at, updated_at)
    VALUES (v_name, v_source, v_pri, 'PENDING', 0, v_req, v_max, clock_timestamp(), clock_timestamp(), clock_timestamp())
    ON CONFLICT (username) WHERE status IN ('PENDING', 'PROCESSING', 'PAUSED')
    DO UPDATE SET priority = 'HIGH'
          WHERE q.priority IS DISTINCT FROM 'HIGH' AND excluded.priority = 'HIGH'
    RETURNING q.id, q.priority, q.status, (q.xmax = 0) AS inserted INTO v_row;
    IF FOUND THEN
      username := v_name; priority := v_row.priority; status := v_row.status; item_id := v_row.id;
      outcome := CASE WHEN NOT v_row.inserted THEN 'upgraded' WHEN v_refresh THEN 'refreshed' ELSE 'added' END;
    ELSE
      SELECT q.id, q.priority, q.status INTO v_row FROM public.queue q
       WHERE q.username = v_name AND q.status IN ('PENDING', 'PROCESSING', 'PAUSED');
      username := v_name; outcome := 'already-queued'; priority := v_row.priority;
      status := v_row.status; item_id := v_row.id;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;

-- One priority's share of a claim. Two locked candidate sets, each read in index order and cut
-- at the limit (no sort of the whole queue): due PENDING/PAUSED rows, and PROCESSING rows whose
-- lease ran out. Resumed work (paused or stale) goes first, then the oldest. Both sets are
-- MATERIALIZED CTEs so the LIMIT bounds the rows locked and updated (see docs/supabase.md).
CREATE OR REPLACE FUNCTION public.viralspot_claim_priority(
  p_owner text, p_request_id uuid, p_priority public.queue_priority, p_limit integer, p_lease interval)
RETURNS SETOF public.queue
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  IF p_limit <= 0 THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH fresh AS MATERIALIZED (
    SELECT x.id, (x.status = 'PAUSED') AS resumed, x.created_at FROM public.queue x
     WHERE x.priority = p_priority AND x.status IN ('PENDING', 'PAUSED') AND x.attempts < x.max_attempts
       AND (x.not_before IS NULL OR x.not_before <= now())
     ORDER BY x.priority, (x.status = 'PAUSED') DESC, x.created_at, x.id
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED
  ), stale AS MATERIALIZED (
    SELECT x.id, true AS resumed, x.created_at FROM public.queue x
     WHERE x.priority = p_priority AND x.status = 'PROCESSING' AND x.attempts < x.max_attempts
       AND (x.lease_expires_at < now() OR (x.lease_expires_at IS NULL AND x.updated_at < now() - interval '1 hour'))
     ORDER BY x.created_at, x.id
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED
  ), candidates AS MATERIALIZED (
    SELECT u.id FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) u
     ORDER BY u.resumed DESC, u.created_at, u.id
     LIMIT p_limit
  )
  UPDATE public.queue q
     SET status = 'PROCESSING', attempts = q.attempts + 1, last_attempt = now(), not_before = NULL,
         lease_owner = p_owner, lease_token = gen_random_uuid(), lease_expires_at = now() + p_lease,
         claim_request_id = p_request_id
    FROM candidates c WHERE q.id = c.id
  RETURNING q.*;
END $$;

-- Claim up to p_limit items for one owner (SPEC Q4, Q7) ----------------------------------------
-- HIGH before LOW, and no LOW while a HIGH is claimable; PAUSED before PENDING; not_before
-- respected; expired leases are taken over in the same statement; attempts counted here and never
-- above max_attempts (an expired lease on its last attempt becomes FAILED instead); a fresh
-- lease token per item. p_request_id is chosen by the client: calling again with the same id
-- (the first answer was lost) returns the rows that claim took, and claims nothing more.
-- p_low_limit caps how many LOW items this call may take (the caller's free LOW slots).
CREATE OR REPLACE FUNCTION public.queue_claim(
  p_owner text, p_request_id uuid, p_limit integer,
  p_lease_seconds numeric DEFAULT 60, p_low_limit integer DEFAULT NULL)
RETURNS SETOF public.queue
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_lease interval;
  v_taken integer := 0;
  v_low integer;
BEGIN
  IF p_owner IS NULL OR length(btrim(p_owner)) = 0 OR length(p_owner) > 200 THEN
    RAISE EXCEPTION 'owner must be 1-200 characters' USING ERRCODE = '22023';
  END IF;
  IF p_request_id IS NULL THEN
    RAISE EXCEPTION 'p_request_id is required (a fresh uuid per claim, reused only to retry it)' USING ERRCODE = '22023';
  END IF;
  PERFORM public.viralspot_check_lease_args(p_limit, p_lease_seconds);
  v_lease := make_interval(secs => p_lease_seconds);

  RETURN QUERY SELECT q.* FROM public.queue q
    WHERE q.claim_request_id = p_request_id AND q.lease_owner = p_owner AND q.status = 'PROCESSING'
    ORDER BY q.priority, q.created_at, q.id;
  IF FOUND OR p_limit = 0 THEN
    RETURN;
  END IF;

  -- Expired leases on their last attempt: no attempt is left to give, so they fail here.
  UPDATE public.queue q
     SET status = 'FAILED', lease_expires_at = NULL, lease_owner = NULL, claim_request_id = NULL,
         error_message = format('lease expired during the last attempt (%s of %s)', q.attempts, q.max_attempts)
   WHERE q.id IN (SELECT x.id FROM public.queue x
                   WHERE x.status = 'PROCESSING' AND x.attempts >= x.max_attempts
                     AND (x.lease_expires_at < now() OR (x.lease_expires_at IS NULL AND x.updated_at < now() - interval '1 hour'))
                   FOR UPDATE SKIP LOCKED);

  RETURN QUERY SELECT * FROM public.viralspot_claim_priority(p_owner, p_request_id, 'HIGH', p_limit, v_lease);
  GET DIAGNOSTICS v_taken = ROW_COUNT;

  v_low := least(p_limit - v_taken, coalesce(p_low_limit, p_limit));
  IF v_low <= 0 OR public.viralspot_high_waiting() THEN
    RETURN;
  END IF;

  RETURN QUERY SELECT * FROM public.viralspot_claim_priority(p_owner, p_request_id, 'LOW', v_low, v_lease);
END $$;

-- Renew leases. Answer: which tokens were renewed, which are no longer current, whether HIGH work
-- waits (so LOW items can pause at their next step boundary), and the current priorities.
CREATE OR REPLACE FUNCTION public.queue_heartbeat(p_tokens uuid[], p_lease_seconds numeric DEFAULT 60)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_renewed jsonb;
BEGIN
  PERFORM public.viralspot_check_lease_args(0, p_lease_seconds);
  WITH renewed AS (
    UPDATE public.queue q SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     WHERE q.id IN (SELECT x.id FROM public.queue x  -- rows locked in id order: no deadlock between calls
                     WHERE x.lease_token = ANY (coalesce(p_tokens, '{}')) AND x.status = 'PROCESSING'
                     ORDER BY x.id FOR UPDATE)
       AND q.lease_token = ANY (coalesce(p_tokens, '{}')) AND q.status = 'PROCESSING'
    RETURNING q.id, q.lease_token, q.priority, q.lease_expires_at
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'token', r.lease_token, 'priority', r.priority,
                                               'lease_expires_at', r.lease_expires_at)), '[]'::jsonb)
    INTO v_renewed FROM renewed r;
  RETURN jsonb_build_object(
    'renewed', v_renewed,
    'lost', (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM unnest(coalesce(p_tokens, '{}')) AS t
              WHERE NOT (v_renewed @> jsonb_build_array(jsonb_build_object('token', t)))),
    'high_waiting', public.viralspot_high_waiting(),
    'now', now());
END $$;

-- Complete leased items, and optionally claim the next ones in the same call (one REST call per
-- item). A token whose item this token already completed answers "already" (a retried call).
CREATE OR REPLACE FUNCTION public.queue_complete(
  p_tokens uuid[], p_owner text DEFAULT NULL, p_claim_request_id uuid DEFAULT NULL,
  p_claim_limit integer DEFAULT 0, p_lease_seconds numeric DEFAULT 60, p_low_limit integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_done jsonb;
  v_already jsonb;
  v_claimed jsonb := '[]'::jsonb;
BEGIN
  WITH done AS (
    UPDATE public.queue q
       SET status = 'COMPLETED', completed_at = now(), lease_expires_at = NULL, not_before = NULL,
           claim_request_id = NULL, error_message = NULL
     WHERE q.id IN (SELECT x.id FROM public.queue x  -- rows locked in id order: no deadlock between calls
                     WHERE x.lease_token = ANY (coalesce(p_tokens, '{}')) AND x.status = 'PROCESSING'
                     ORDER BY x.id FOR UPDATE)
       AND q.lease_token = ANY (coalesce(p_tokens, '{}')) AND q.status = 'PROCESSING'
    RETURNING q.id, q.lease_token, q.username)
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'token', d.lease_token, 'username', d.username)), '[]'::jsonb)
    INTO v_done FROM done d;
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id, 'token', q.lease_token)), '[]'::jsonb) INTO v_already
    FROM public.queue q
   WHERE q.lease_token = ANY (coalesce(p_tokens, '{}')) AND q.status = 'COMPLETED'
     AND NOT (v_done @> jsonb_build_array(jsonb_build_object('token', q.lease_token)));
  IF coalesce(p_claim_limit, 0) > 0 THEN
    SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]'::jsonb) INTO v_claimed
      FROM public.queue_claim(p_owner, p_claim_request_id, p_claim_limit, p_lease_seconds, p_low_limit) c;
  END IF;
  RETURN jsonb_build_object(
    'completed', v_done,
    'already', v_already,
    'stale', (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM unnest(coalesce(p_tokens, '{}')) AS t
               WHERE NOT (v_done @> jsonb_build_array(jsonb_build_object('token', t)))
                 AND NOT (v_already @> jsonb_build_array(jsonb_build_object('token', t)))),
    'claimed', v_claimed,
    'high_waiting', public.viralspot_high_waiting(),
    'now', now());
END $$;

-- Fail one leased item (SPEC Q6). Permanent, or out of attempts: FAILED. Otherwise back to
-- PENDING with not_before from the server clock: base * 2^(attempts-1), capped, times a jitter
-- factor in [0.5, 1] derived from the token (deterministic per claim), and never sooner than
-- p_retry_after_seconds (a provider's Retry-After).
CREATE OR REPLACE FUNCTION public.queue_fail(
  p_token uuid, p_error text, p_permanent boolean DEFAULT false, p_retry_after_seconds numeric DEFAULT NULL,
  p_backoff_base_seconds numeric DEFAULT 30, p_backoff_max_seconds numeric DEFAULT 3600)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_row public.queue;
  v_delay numeric;
  v_final boolean;
BEGIN
  IF p_backoff_base_seconds IS NULL OR p_backoff_base_seconds < 0 OR p_backoff_max_seconds IS NULL
     OR p_backoff_max_seconds < p_backoff_base_seconds THEN
    RAISE EXCEPTION 'backoff must satisfy 0 <= base <= max' USING ERRCODE = '22023';
  END IF;
  SELECT * INTO v_row FROM public.queue q WHERE q.lease_token = p_token FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('ok', false, 'outcome', 'stale', 'reason', 'no item holds this lease token');
  END IF;
  IF v_row.status <> 'PROCESSING' THEN
    RETURN jsonb_build_object('ok', false,
      'outcome', CASE WHEN v_row.status IN ('PENDING', 'FAILED') AND v_row.lease_owner IS NULL THEN 'already' ELSE 'stale' END,
      'reason', format('the item is %s, not held by this token', v_row.status), 'status', v_row.status, 'id', v_row.id);
  END IF;
  v_final := coalesce(p_permanent, false) OR v_row.attempts >= v_row.max_attempts;
  v_delay := least(p_backoff_max_seconds, p_backoff_base_seconds * power(2::numeric, greatest(v_row.attempts - 1, 0)))
             * (0.5 + 0.5 * ((hashtext(p_token::text) & 65535)::numeric / 65535));
  v_delay := greatest(v_delay, coalesce(p_retry_after_seconds, 0));
  UPDATE public.queue q
     SET status = CASE WHEN v_final THEN 'FAILED'::public.queue_status ELSE 'PENDING'::public.queue_status END,
         error_message = left(coalesce(p_error, 'unknown error'), 2000),
         not_before = CASE WHEN v_final THEN NULL ELSE now() + make_interval(secs => v_delay) END,
         lease_owner = NULL, lease_expires_at = NULL, claim_request_id = NULL
   WHERE q.id = v_row.id
  RETURNING * INTO v_row;
  RETURN jsonb_build_object('ok', true, 'outcome', lower(v_row.status::text), 'id', v_row.id, 'status', v_row.status,
                            'attempts', v_row.attempts, 'max_attempts', v_row.max_attempts,
                            'not_before', v_row.not_before, 'now', now());
END $$;

-- Give leased items back: PENDING (shutdown) or PAUSED (HIGH work waits), with the attempt the
-- claim counted returned, so a release never uses up the item's retries.
CREATE OR REPLACE FUNCTION public.queue_release(p_tokens uuid[], p_pause boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_done jsonb;
BEGIN
  WITH released AS (
    UPDATE public.queue q
       SET status = CASE WHEN coalesce(p_pause, false) THEN 'PAUSED'::public.queue_status
                         ELSE 'PENDING'::public.queue_status END,
           attempts = greatest(q.attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL,
           claim_request_id = NULL, not_before = NULL
     WHERE q.id IN (SELECT x.id FROM public.queue x  -- rows locked in id order: no deadlock between calls
                     WHERE x.lease_token = ANY (coalesce(p_tokens, '{}')) AND x.status = 'PROCESSING'
                     ORDER BY x.id FOR UPDATE)
       AND q.lease_token = ANY (coalesce(p_tokens, '{}')) AND q.status = 'PROCESSING'
    RETURNING q.id, q.lease_token, q.status)
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'token', r.lease_token, 'status', r.status)), '[]'::jsonb)
    INTO v_done FROM released r;
  RETURN jsonb_build_object(
    'released', v_done,
    'stale', (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM unnest(coalesce(p_tokens, '{}')) AS t
               WHERE NOT (v_done @> jsonb_build_array(jsonb_build_object('token', t)))),
    'high_waiting', public.viralspot_high_waiting(),
    'now', now());
END $$;

-- Lock down: nobody but service_role executes these (Supabase's default privileges would grant
-- EXECUTE on new functions to anon and authenticated).
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND (p.proname LIKE 'queue\_%' OR p.proname LIKE 'viralspot\_%' OR p.proname LIKE 'console\_%')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
  END LOOP;
END $$;
