-- The outbox's server side: results pushed by consoles as numbered mutations, applied at most once
-- (see docs/supabase-results.md). Safe to run twice: tables and indexes IF NOT EXISTS, functions
-- CREATE OR REPLACE. No column of the original ViralSpot tables is added or changed: the natural
-- keys the upserts need are the original's own UNIQUE constraints, and the one table without one
-- (viral_scripts) gets a console-own key table beside it instead of a new column or index.

-- Clients and their last applied sequence number ----------------------------------------------
CREATE TABLE IF NOT EXISTS public.viralspot_outbox_clients (
  client_id uuid PRIMARY KEY,
  last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Mutations the server rejected (or the client skipped), kept for the operator ------------------
CREATE TABLE IF NOT EXISTS public.viralspot_outbox_rejected (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  client_id uuid NOT NULL,
  seq bigint NOT NULL,
  reason text NOT NULL,
  mutation jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, seq)
);

-- Crawler rounds: the original has no such table. Key: the console's client id and its local id.
CREATE TABLE IF NOT EXISTS public.viralspot_crawler_rounds (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  client_id uuid NOT NULL,
  local_id bigint NOT NULL,
  request_id bigint,
  round integer NOT NULL,
  seed varchar(255) NOT NULL,
  found integer NOT NULL DEFAULT 0,
  dropped_total integer NOT NULL DEFAULT 0,
  dropped jsonb NOT NULL DEFAULT '{}'::jsonb,
  drops jsonb NOT NULL DEFAULT '[]'::jsonb,
  duplicates integer NOT NULL DEFAULT 0,
  duplicate_names jsonb NOT NULL DEFAULT '[]'::jsonb,
  queued integer NOT NULL DEFAULT 0,
  queued_names jsonb NOT NULL DEFAULT '[]'::jsonb,
  calls integer NOT NULL DEFAULT 0,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  UNIQUE (client_id, local_id)
);

-- viral_scripts has no natural key in the original (scripts of one analysis are only rows). The
-- console numbers them (position within the run); this table maps (analysis, position) to the
-- script row, so a replayed or updated script updates its row instead of adding another.
CREATE TABLE IF NOT EXISTS public.viralspot_script_keys (
  analysis_id uuid NOT NULL REFERENCES public.viral_analysis_results (id) ON DELETE CASCADE,
  position integer NOT NULL,
  script_id uuid NOT NULL UNIQUE REFERENCES public.viral_scripts (id) ON DELETE CASCADE,
  PRIMARY KEY (analysis_id, position)
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['viralspot_outbox_clients', 'viralspot_outbox_rejected', 'viralspot_crawler_rounds',
                           'viralspot_script_keys']
  LOOP
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('REVOKE ALL ON public.%I FROM anon, authenticated', t);
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.viralspot_crawler_rounds'::regclass
                   AND tgname = 'update_viralspot_crawler_rounds_updated_at') THEN
    CREATE TRIGGER update_viralspot_crawler_rounds_updated_at BEFORE UPDATE ON public.viralspot_crawler_rounds
      FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
  END IF;
END $$;
-- Signed-in users of the front ends read the rounds, as they read the original tables.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'viralspot_crawler_rounds') THEN
    CREATE POLICY "Authenticated users can read viralspot_crawler_rounds" ON public.viralspot_crawler_rounds
      FOR SELECT USING (auth.role() = 'authenticated');
  END IF;
END $$;
GRANT SELECT ON public.viralspot_crawler_rounds TO authenticated;

-- The whitelist: remote table -> natural key columns. Anything else is rejected. -------------
CREATE OR REPLACE FUNCTION public.viralspot_outbox_key(p_table text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE p_table
    WHEN 'primary_profiles' THEN ARRAY['username']
    WHEN 'content' THEN ARRAY['shortcode']
    WHEN 'secondary_profiles' THEN ARRAY['username']
    WHEN 'viral_ideas_queue' THEN ARRAY['session_id']
    WHEN 'viral_ideas_competitors' THEN ARRAY['queue_id', 'competitor_username']
    WHEN 'viral_analysis_results' THEN ARRAY['queue_id', 'analysis_run']
    WHEN 'viral_analysis_reels' THEN ARRAY['analysis_id', 'content_id']
    WHEN 'viral_scripts' THEN ARRAY['analysis_id']
    WHEN 'viralspot_crawler_rounds' THEN ARRAY['client_id', 'local_id']
  END
$$;

-- Resolve the natural keys in "refs" into the foreign ids the row needs (raises when unknown).
CREATE OR REPLACE FUNCTION public.viralspot_outbox_resolve(p_table text, p_row jsonb, p_refs jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_row jsonb := p_row;
  v_id uuid;
  v_session text := p_refs ->> 'session_id';
  v_content text;
BEGIN
  IF p_table = 'content' THEN
    SELECT p.id INTO v_id FROM public.primary_profiles p WHERE p.username = p_refs ->> 'profile_username';
    IF v_id IS NULL THEN
      RAISE EXCEPTION 'content %: no primary_profiles row for refs.profile_username %', p_row ->> 'shortcode',
        coalesce(quote_literal(p_refs ->> 'profile_username'), 'NULL') USING ERRCODE = '23503';
    END IF;
    v_row := v_row || jsonb_build_object('profile_id', v_id);
  ELSIF p_table IN ('viral_ideas_competitors', 'viral_analysis_results') THEN
    SELECT q.id INTO v_id FROM public.viral_ideas_queue q WHERE q.session_id = v_session;
    IF v_id IS NULL THEN
      RAISE EXCEPTION '%: no viral_ideas_queue row for refs.session_id %', p_table,
        coalesce(quote_literal(v_session), 'NULL') USING ERRCODE = '23503';
    END IF;
    v_row := v_row || jsonb_build_object('queue_id', v_id);
  ELSIF p_table IN ('viral_analysis_reels', 'viral_scripts') THEN
    SELECT r.id INTO v_id FROM public.viral_analysis_results r
      JOIN public.viral_ideas_queue q ON q.id = r.queue_id
     WHERE q.session_id = v_session AND r.analysis_run = (p_refs ->> 'analysis_run')::integer;
    IF v_id IS NULL THEN
      RAISE EXCEPTION '%: no viral_analysis_results row for refs.session_id % run %', p_table,
        coalesce(quote_literal(v_session), 'NULL'), coalesce(p_refs ->> 'analysis_run', 'NULL') USING ERRCODE = '23503';
    END IF;
    v_row := v_row || jsonb_build_object('analysis_id', v_id);
    IF p_table = 'viral_analysis_reels' AND p_refs ? 'shortcode' THEN
      -- the original keys reels used by content.content_id; the console knows the shortcode
      SELECT c.content_id INTO v_content FROM public.content c WHERE c.shortcode = p_refs ->> 'shortcode';
      v_row := v_row || jsonb_build_object('content_id', coalesce(v_content, p_refs ->> 'shortcode'));
    END IF;
  END IF;
  RETURN v_row;
END $$;

-- One upsert: INSERT ... ON CONFLICT (natural key) DO UPDATE of only the columns given. ---------
-- With refs.update_only the row belongs to someone else (a web-form job belongs to the web form):
-- it is updated, never created; a row its owner deleted is a rejected mutation (SQLSTATE P0002).
CREATE OR REPLACE FUNCTION public.viralspot_outbox_upsert(p_table text, p_row jsonb, p_refs jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_key text[] := public.viralspot_outbox_key(p_table);
  v_row jsonb;
  v_cols text[];
  v_bad text[];
  v_sets text;
  v_pos integer;
  v_script uuid;
  v_n integer;
  v_rel oid;
BEGIN
  IF v_key IS NULL THEN
    RAISE EXCEPTION 'unknown table %: not one the outbox writes', coalesce(quote_literal(p_table), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- the catalogue itself, not information_schema.columns: that view checks privileges per row
  -- and made the column check most of an upsert's cost (docs/supabase-results.md)
  v_rel := format('public.%I', p_table)::regclass;
  IF p_row IS NULL OR jsonb_typeof(p_row) <> 'object' THEN
    RAISE EXCEPTION '%: row must be a JSON object', p_table USING ERRCODE = '22023';
  END IF;
  IF p_refs IS NOT NULL AND jsonb_typeof(p_refs) NOT IN ('object', 'null') THEN
    RAISE EXCEPTION '%: refs must be a JSON object', p_table USING ERRCODE = '22023';
  END IF;
  -- ids, bookkeeping times and the foreign ids the server resolves are never taken from a client
  SELECT array_agg(k ORDER BY k) INTO v_bad FROM jsonb_object_keys(p_row) k
   WHERE k IN ('id', 'created_at', 'updated_at', 'profile_id', 'queue_id', 'analysis_id')
      OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = v_rel AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped);
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION '%: column(s) % cannot be written', p_table, array_to_string(v_bad, ', ') USING ERRCODE = '22023';
  END IF;
  v_pos := (coalesce(p_refs, '{}'::jsonb) ->> 'position')::integer;
  v_row := public.viralspot_outbox_resolve(p_table, p_row, coalesce(p_refs, '{}'::jsonb));
  SELECT array_agg(k ORDER BY k) INTO v_cols FROM jsonb_object_keys(v_row) k;
  SELECT array_agg(k) INTO v_bad FROM unnest(v_key) k WHERE v_row -> k IS NULL OR v_row -> k = 'null'::jsonb;
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION '%: natural key column(s) % missing', p_table, array_to_string(v_bad, ', ') USING ERRCODE = '22023';
  END IF;

  IF p_table = 'viral_scripts' THEN
    IF v_pos IS NULL THEN
      RAISE EXCEPTION 'viral_scripts: refs.position (the script''s number within its run) is required'
        USING ERRCODE = '22023';
    END IF;
    SELECT k.script_id INTO v_script FROM public.viralspot_script_keys k
     WHERE k.analysis_id = (v_row ->> 'analysis_id')::uuid AND k.position = v_pos FOR UPDATE;
    IF v_script IS NULL THEN
      EXECUTE format('INSERT INTO public.viral_scripts (%s) SELECT %s FROM jsonb_populate_record(NULL::public.viral_scripts, $1) r RETURNING id',
                     (SELECT string_agg(format('%I', c), ', ') FROM unnest(v_cols) c),
                     (SELECT string_agg(format('r.%I', c), ', ') FROM unnest(v_cols) c))
        INTO v_script USING v_row;
      INSERT INTO public.viralspot_script_keys (analysis_id, position, script_id)
      VALUES ((v_row ->> 'analysis_id')::uuid, v_pos, v_script);
    ELSE
      EXECUTE format('UPDATE public.viral_scripts t SET %s FROM jsonb_populate_record(NULL::public.viral_scripts, $1) r WHERE t.id = $2',
                     (SELECT string_agg(format('%I = r.%I', c, c), ', ') FROM unnest(v_cols) c))
        USING v_row, v_script;
    END IF;
    RETURN;
  END IF;

  IF coalesce((p_refs ->> 'update_only')::boolean, false) THEN  -- a row someone else owns: never created here
    EXECUTE format('UPDATE public.%I t SET %s FROM jsonb_populate_record(NULL::public.%I, $1) r WHERE %s',
                   p_table,
                   (SELECT string_agg(format('%I = r.%I', c, c), ', ') FROM unnest(v_cols) c WHERE c <> ALL (v_key)),
                   p_table,
                   (SELECT string_agg(format('t.%I = r.%I', c, c), ' AND ') FROM unnest(v_key) c))
      USING v_row;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
      RAISE EXCEPTION '%: no row with % = % to update (deleted by its owner?)', p_table,
        array_to_string(v_key, ', '), (SELECT string_agg(v_row ->> c, ', ') FROM unnest(v_key) c)
        USING ERRCODE = 'P0002';
    END IF;
    RETURN;
  END IF;

  SELECT string_agg(format('%I = excluded.%I', c, c), ', ') INTO v_sets FROM unnest(v_cols) c;
  EXECUTE format('INSERT INTO public.%I AS t (%s) SELECT %s FROM jsonb_populate_record(NULL::public.%I, $1) r'
                 ' ON CONFLICT (%s) DO UPDATE SET %s',
                 p_table,
                 (SELECT string_agg(format('%I', c), ', ') FROM unnest(v_cols) c),
                 (SELECT string_agg(format('r.%I', c), ', ') FROM unnest(v_cols) c),
                 p_table,
                 (SELECT string_agg(format('%I', c), ', ') FROM unnest(v_key) c),
                 v_sets)
    USING v_row;
END $$;

-- Apply a batch of one client's mutations (see docs/supabase-results.md, "Apply rules"). ------
CREATE OR REPLACE FUNCTION public.outbox_apply(p_client_id uuid, p_mutations jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_last bigint;
  v_next bigint;
  v_m jsonb;
  v_seq bigint;
  v_kind text;
  v_applied jsonb := '[]'::jsonb;
  v_already jsonb := '[]'::jsonb;
  v_rejected jsonb := '[]'::jsonb;
  v_reason text;
  v_state text;
  v_i integer := 0;
BEGIN
  IF p_client_id IS NULL THEN
    RAISE EXCEPTION 'p_client_id is required' USING ERRCODE = '22023';
  END IF;
  IF p_mutations IS NULL OR jsonb_typeof(p_mutations) <> 'array' THEN
    RAISE EXCEPTION 'p_mutations must be a JSON array of {seq, kind, ...}' USING ERRCODE = '22023';
  END IF;
  IF jsonb_array_length(p_mutations) > 1000 THEN
    RAISE EXCEPTION 'at most 1000 mutations per call, got %', jsonb_array_length(p_mutations) USING ERRCODE = '22023';
  END IF;
  -- every element needs an integer seq, in increasing order (a malformed batch is refused whole)
  v_next := NULL;
  FOR v_m IN SELECT value FROM jsonb_array_elements(p_mutations) LOOP
    v_i := v_i + 1;
    IF jsonb_typeof(v_m) <> 'object' OR coalesce(jsonb_typeof(v_m -> 'seq'), '') <> 'number'
       OR (v_m ->> 'seq') !~ '^[0-9]{1,18}$' OR (v_m ->> 'seq')::bigint < 1 THEN
      RAISE EXCEPTION 'mutation % has no positive integer "seq"', v_i USING ERRCODE = '22023';
    END IF;
    IF v_next IS NOT NULL AND (v_m ->> 'seq')::bigint <= v_next THEN
      RAISE EXCEPTION 'mutation % (seq %) is not in increasing seq order', v_i, v_m ->> 'seq' USING ERRCODE = '22023';
    END IF;
    v_next := (v_m ->> 'seq')::bigint;
  END LOOP;

  -- one caller per client at a time; the lock ends with the transaction
  PERFORM pg_advisory_xact_lock(hashtextextended('viralspot_outbox:' || p_client_id::text, 0));
  SELECT c.last_seq INTO v_last FROM public.viralspot_outbox_clients c WHERE c.client_id = p_client_id;
  v_last := coalesce(v_last, 0);

  -- a gap anywhere after last_seq refuses the whole call before anything is applied
  v_next := v_last;
  FOR v_m IN SELECT value FROM jsonb_array_elements(p_mutations) LOOP
    v_seq := (v_m ->> 'seq')::bigint;
    CONTINUE WHEN v_seq <= v_last;
    IF v_seq <> v_next + 1 THEN
      RETURN jsonb_build_object('client_id', p_client_id, 'last_seq', v_last, 'applied', '[]'::jsonb,
                                'already', '[]'::jsonb, 'rejected', '[]'::jsonb,
                                'gap', jsonb_build_object('expected', v_next + 1, 'got', v_seq), 'now', now());
    END IF;
    v_next := v_seq;
  END LOOP;

  FOR v_m IN SELECT value FROM jsonb_array_elements(p_mutations) LOOP
    v_seq := (v_m ->> 'seq')::bigint;
    IF v_seq <= v_last THEN
      v_already := v_already || to_jsonb(v_seq);
      CONTINUE;
    END IF;
    v_kind := v_m ->> 'kind';
    v_reason := NULL;
    BEGIN  -- a sub-transaction: a rejection undoes only this mutation
      IF v_kind = 'upsert' THEN
        PERFORM public.viralspot_outbox_upsert(v_m ->> 'table', v_m -> 'row', v_m -> 'refs');
      ELSIF v_kind = 'enqueue' THEN
        PERFORM 1 FROM public.queue_enqueue(v_m -> 'items');
      ELSIF v_kind = 'skip' THEN
        v_reason := 'skipped by the client: ' || left(coalesce(v_m ->> 'reason', 'no reason given'), 1000);
      ELSIF v_kind = 'superseded' THEN
        -- the client folded this upsert into an earlier one of the same row in this call; it
        -- shares that one's fate (docs/supabase-results.md, "Apply rules")
        IF coalesce(v_m ->> 'by', '') !~ '^[0-9]{1,18}$' OR NOT v_applied @> to_jsonb((v_m ->> 'by')::bigint) THEN
          RAISE EXCEPTION 'superseded by seq %, which was not applied in this call', coalesce(v_m ->> 'by', 'NULL')
            USING ERRCODE = '22023';
        END IF;
      ELSE
        RAISE EXCEPTION 'unknown kind %: upsert, enqueue, skip or superseded', coalesce(quote_literal(v_kind), 'NULL')
          USING ERRCODE = '22023';
      END IF;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
      v_reason := left(format('%s: %s', v_state, SQLERRM), 2000);
    END;
    IF v_reason IS NULL THEN
      v_applied := v_applied || to_jsonb(v_seq);
    ELSE
      v_rejected := v_rejected || jsonb_build_object('seq', v_seq, 'reason', v_reason);
      INSERT INTO public.viralspot_outbox_rejected (client_id, seq, reason, mutation)
      VALUES (p_client_id, v_seq, v_reason, v_m)
      ON CONFLICT (client_id, seq) DO UPDATE SET reason = excluded.reason, mutation = excluded.mutation, at = now();
    END IF;
    v_last := v_seq;
  END LOOP;

  INSERT INTO public.viralspot_outbox_clients AS c (client_id, last_seq)
  VALUES (p_client_id, v_last)
  ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = now()
    WHERE c.last_seq IS DISTINCT FROM excluded.last_seq;
  RETURN jsonb_build_object('client_id', p_client_id, 'last_seq', v_last, 'applied', v_applied,
                            'already', v_already, 'rejected', v_rejected, 'gap', NULL, 'now', now());
END $$;

-- What the server knows of a client (the restored-old-database check compares last_seq). -----
CREATE OR REPLACE FUNCTION public.outbox_client(p_client_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_last bigint;
BEGIN
  IF p_client_id IS NULL THEN
    RAISE EXCEPTION 'p_client_id is required' USING ERRCODE = '22023';
  END IF;
  SELECT c.last_seq INTO v_last FROM public.viralspot_outbox_clients c WHERE c.client_id = p_client_id;
  RETURN jsonb_build_object('client_id', p_client_id, 'known', FOUND, 'last_seq', coalesce(v_last, 0), 'now', now());
END $$;

-- Lock down: nobody but service_role executes these.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND (p.proname LIKE 'outbox\_%' OR p.proname LIKE 'viralspot\_outbox\_%')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
  END LOOP;
END $$;

NOTIFY pgrst, 'reload schema';
