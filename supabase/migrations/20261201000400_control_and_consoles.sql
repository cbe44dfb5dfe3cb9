-- Operator commands (bump, retry, remove, list, stats), shared switches, and the registry of
-- live consoles (see docs/supabase.md, "Functions" and "Consoles"). Safe to run twice.

-- Operator commands ----------------------------------------------------------------------------
-- Raise or lower the priority of the active item of each name; answers the rows changed.
CREATE OR REPLACE FUNCTION public.queue_bump(p_usernames text[], p_priority text)
RETURNS SETOF public.queue
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_pri public.queue_priority;
BEGIN
  BEGIN
    v_pri := upper(p_priority)::public.queue_priority;
  EXCEPTION WHEN invalid_text_representation THEN
    RAISE EXCEPTION 'priority must be HIGH or LOW, got %', quote_literal(p_priority) USING ERRCODE = '22023';
  END;
  RETURN QUERY
  UPDATE public.queue q SET priority = v_pri
   WHERE q.username IN (SELECT public.viralspot_normalize_username(n) FROM unnest(coalesce(p_usernames, '{}')) n)
     AND q.status IN ('PENDING', 'PROCESSING', 'PAUSED')
  RETURNING q.*;
END $$;

-- FAILED -> PENDING with a fresh attempt budget: the latest failed row of each given name, or of
-- every name when p_usernames is NULL. A name that already has an active row is left alone.
CREATE OR REPLACE FUNCTION public.queue_retry(p_usernames text[] DEFAULT NULL)
RETURNS SETOF public.queue
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_names text[];
BEGIN
  IF p_usernames IS NOT NULL THEN
    SELECT array_agg(public.viralspot_normalize_username(n)) INTO v_names FROM unnest(p_usernames) n;
  END IF;
  RETURN QUERY
  UPDATE public.queue q
     SET status = 'PENDING', attempts = 0, not_before = NULL, error_message = NULL,
         lease_owner = NULL, lease_expires_at = NULL, claim_request_id = NULL, completed_at = NULL
   WHERE q.id IN (
     SELECT DISTINCT ON (f.username) f.id FROM public.queue f
      WHERE f.status = 'FAILED' AND (v_names IS NULL OR f.username = ANY (v_names))
        AND NOT EXISTS (SELECT 1 FROM public.queue a
                         WHERE a.username = f.username AND a.status IN ('PENDING', 'PROCESSING', 'PAUSED'))
      ORDER BY f.username, f.updated_at DESC NULLS LAST, f.created_at DESC NULLS LAST, f.id DESC)
  RETURNING q.*;
END $$;

-- Remove every row of each name (a running item is thereby fenced off: its token matches nothing).
CREATE OR REPLACE FUNCTION public.queue_remove(p_usernames text[])
RETURNS TABLE (username text, removed integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH names AS (SELECT DISTINCT public.viralspot_normalize_username(n) AS name FROM unnest(coalesce(p_usernames, '{}')) n),
       gone AS (DELETE FROM public.queue q USING names WHERE q.username = names.name RETURNING q.username)
  SELECT names.name::text, (SELECT count(*)::integer FROM gone WHERE gone.username = names.name) FROM names;
END $$;

-- One page of the queue, in dispatch order within each status.
CREATE OR REPLACE FUNCTION public.queue_list(
  p_statuses text[] DEFAULT NULL, p_priority text DEFAULT NULL, p_limit integer DEFAULT 100, p_offset integer DEFAULT 0)
RETURNS SETOF public.queue
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_statuses public.queue_status[];
  v_pri public.queue_priority;
BEGIN
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 OR p_offset IS NULL OR p_offset < 0 THEN
    RAISE EXCEPTION 'limit must be 1-10000 and offset >= 0' USING ERRCODE = '22023';
  END IF;
  BEGIN
    v_statuses := (SELECT array_agg(upper(s)::public.queue_status) FROM unnest(p_statuses) s);
    v_pri := upper(p_priority)::public.queue_priority;
  EXCEPTION WHEN invalid_text_representation THEN
    RAISE EXCEPTION 'unknown status or priority in % / %', p_statuses, p_priority USING ERRCODE = '22023';
  END;
  RETURN QUERY
  SELECT q.* FROM public.queue q
   WHERE (v_statuses IS NULL OR q.status = ANY (v_statuses)) AND (v_pri IS NULL OR q.priority = v_pri)
   ORDER BY array_position(ARRAY['PROCESSING', 'PAUSED', 'PENDING', 'FAILED', 'COMPLETED']::public.queue_status[], q.status),
            q.priority, q.created_at, q.id
   LIMIT p_limit OFFSET p_offset;
END $$;

-- Counts by status and priority, plus what the status line needs.
CREATE OR REPLACE FUNCTION public.queue_summary()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT jsonb_build_object(
    'counts', (SELECT coalesce(jsonb_agg(jsonb_build_object('status', s.status, 'priority', s.priority, 'count', s.n)
                                         ORDER BY s.status, s.priority), '[]'::jsonb)
                 FROM (SELECT q.status, q.priority, count(*) AS n FROM public.queue q GROUP BY 1, 2) s),
    'high_waiting', public.viralspot_high_waiting(),
    'expired_leases', (SELECT count(*) FROM public.queue q WHERE q.status = 'PROCESSING'
                          AND (q.lease_expires_at < now() OR (q.lease_expires_at IS NULL AND q.updated_at < now() - interval '1 hour'))),
    'next_retry_at', (SELECT min(q.not_before) FROM public.queue q WHERE q.status = 'PENDING' AND q.not_before > now()),
    'now', now())
$$;

-- Shared operator switches --------------------------------------------------------------------
-- (pause/resume a processor, a concurrency cap, ...) that every console sharing the queue obeys,
-- so `viralspot pause queue` on one machine pauses the others too. Consoles read them in the
-- answer to their console_beat.
CREATE TABLE IF NOT EXISTS public.viralspot_controls (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  value jsonb NOT NULL,
  updated_by text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.viralspot_controls ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.viralspot_controls FROM anon, authenticated;

-- Set (or, with a NULL value, clear) one switch; answers every switch.
CREATE OR REPLACE FUNCTION public.control_set(p_name text, p_value jsonb, p_by text DEFAULT '')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_.-]{0,63}$' THEN
    RAISE EXCEPTION 'control name must be 1-64 of a-z, 0-9, "_", "." or "-", starting with a letter, got %',
      quote_literal(left(coalesce(p_name, ''), 70)) USING ERRCODE = '22023';
  END IF;
  IF p_value IS NULL OR p_value = 'null'::jsonb THEN
    DELETE FROM public.viralspot_controls c WHERE c.name = p_name;
  ELSE
    INSERT INTO public.viralspot_controls AS c (name, value, updated_by) VALUES (p_name, p_value, left(coalesce(p_by, ''), 200))
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now();
  END IF;
  RETURN public.control_get();
END $$;

-- Every switch: {"name": {"value": ..., "updated_by": ..., "updated_at": ...}, ...}
CREATE OR REPLACE FUNCTION public.control_get()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT coalesce(jsonb_object_agg(c.name, jsonb_build_object('value', c.value, 'updated_by', c.updated_by,
                                                              'updated_at', c.updated_at)), '{}'::jsonb)
    FROM public.viralspot_controls c
$$;

-- Consoles ---------------------------------------------------------------------------------------
-- Consoles that share one queue and one RapidAPI key divide the key's rate limit among the live
-- ones. key_hash is a hash the console computes from its key (never the key itself).
CREATE TABLE IF NOT EXISTS public.viralspot_consoles (
  console_id text PRIMARY KEY CHECK (length(console_id) BETWEEN 1 AND 200),
  host text NOT NULL DEFAULT '',
  key_hash text NOT NULL DEFAULT '' CHECK (length(key_hash) <= 128),
  info jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_beat_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS viralspot_consoles_live ON public.viralspot_consoles (key_hash, expires_at);
ALTER TABLE public.viralspot_consoles ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.viralspot_consoles FROM anon, authenticated;

-- Register or renew one console; answers the live consoles sharing its key and its place among
-- them (0-based, by console_id), so each can take 1/n of the key's rate, the shared switches, and
-- whether HIGH work waits (beats come every few seconds: LOW work pauses that soon). Dead entries are purged.
CREATE OR REPLACE FUNCTION public.console_beat(
  p_console_id text, p_host text DEFAULT '', p_key_hash text DEFAULT '', p_ttl_seconds numeric DEFAULT 15,
  p_info jsonb DEFAULT '{}'::jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_live jsonb;
BEGIN
  IF p_ttl_seconds IS NULL OR p_ttl_seconds < 1 OR p_ttl_seconds > 3600 THEN
    RAISE EXCEPTION 'ttl_seconds must be between 1 and 3600' USING ERRCODE = '22023';
  END IF;
  DELETE FROM public.viralspot_consoles c WHERE c.expires_at < now() - interval '1 hour';
  INSERT INTO public.viralspot_consoles AS c (console_id, host, key_hash, info, expires_at)
  VALUES (p_console_id, coalesce(p_host, ''), coalesce(p_key_hash, ''), coalesce(p_info, '{}'::jsonb),
          now() + make_interval(secs => p_ttl_seconds))
  ON CONFLICT (console_id) DO UPDATE
    SET host = excluded.host, key_hash = excluded.key_hash, info = excluded.info,
        last_beat_at = now(), expires_at = excluded.expires_at;
  SELECT coalesce(jsonb_agg(jsonb_build_object('console_id', c.console_id, 'host', c.host,
                                               'last_beat_at', c.last_beat_at, 'expires_at', c.expires_at)
                            ORDER BY c.console_id), '[]'::jsonb)
    INTO v_live FROM public.viralspot_consoles c
   WHERE c.key_hash = coalesce(p_key_hash, '') AND c.expires_at >= now();
  RETURN jsonb_build_object(
    'live', jsonb_array_length(v_live),
    'index', (SELECT count(*) FROM jsonb_array_elements(v_live) e WHERE e ->> 'console_id' < p_console_id),
    'consoles', v_live,
    'controls', public.control_get(),
    'high_waiting', public.viralspot_high_waiting(),
    'queue', (SELECT jsonb_build_object('waiting', count(*) FILTER (WHERE q.status IN ('PENDING', 'PAUSED')),
                                        'running', count(*) FILTER (WHERE q.status = 'PROCESSING'))
                FROM public.queue q WHERE q.status IN ('PENDING', 'PAUSED', 'PROCESSING')),
    'now', now());
END $$;

CREATE OR REPLACE FUNCTION public.console_leave(p_console_id text)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  WITH gone AS (DELETE FROM public.viralspot_consoles c WHERE c.console_id = p_console_id RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM gone)
$$;

CREATE OR REPLACE FUNCTION public.console_list()
RETURNS SETOF public.viralspot_consoles
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT c.* FROM public.viralspot_consoles c WHERE c.expires_at >= now() ORDER BY c.key_hash, c.console_id
$$;

-- Lock down (as in 20261201000300_queue_functions.sql).
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND (p.proname LIKE 'queue\_%' OR p.proname LIKE 'viralspot\_%' OR p.proname LIKE 'console\_%'
                   OR p.proname LIKE 'control\_%')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
  END LOOP;
END $$;

NOTIFY pgrst, 'reload schema';
