-- Web-form viral jobs run by consoles (see docs/supabase-results.md, "Web-form jobs"): their
-- re-runs, and outbox upserts that update a web-form job without ever creating one.
--
-- viral_job_rerun: a console that
-- finished a job with auto-rerun on runs it again on its schedule; before it does, it takes the
-- job back under the same lease token it finished it with, so the job shows "processing" again
-- and viral_job_finish counts the new run. Refused ("stale") when the job changed hands or state
-- meanwhile: another console holds it, or the web form set it back to pending or paused.
-- Safe to run twice.

CREATE OR REPLACE FUNCTION public.viral_job_rerun(p_token uuid, p_lease_seconds numeric DEFAULT 300)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_lease public.viralspot_viral_leases;
  v_job public.viral_ideas_queue;
BEGIN
  PERFORM public.viralspot_check_lease_args(0, p_lease_seconds);
  SELECT * INTO v_lease FROM public.viralspot_viral_leases l WHERE l.lease_token = p_token FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('ok', false, 'outcome', 'stale', 'reason', 'no job holds this lease token', 'now', now());
  END IF;
  SELECT * INTO v_job FROM public.viral_ideas_queue q WHERE q.id = v_lease.queue_id FOR UPDATE;
  IF v_lease.outcome IS NULL AND v_job.status = 'processing' THEN  -- a repeated call: already re-leased
    UPDATE public.viralspot_viral_leases l SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     WHERE l.queue_id = v_job.id;
    RETURN jsonb_build_object('ok', true, 'outcome', 'already', 'status', v_job.status, 'now', now());
  END IF;
  IF v_lease.outcome IS NULL OR v_job.status IS DISTINCT FROM v_lease.outcome THEN
    RETURN jsonb_build_object('ok', false, 'outcome', 'stale', 'status', v_job.status,
                              'reason', format('the job is %s, not as this console left it', v_job.status),
                              'now', now());
  END IF;
  UPDATE public.viral_ideas_queue q SET status = 'processing', current_step = 're-run by a console', error_message = NULL
   WHERE q.id = v_job.id;
  UPDATE public.viralspot_viral_leases l
     SET outcome = NULL, lease_expires_at = now() + make_interval(secs => p_lease_seconds)
   WHERE l.queue_id = v_job.id;
  RETURN jsonb_build_object('ok', true, 'outcome', 'leased', 'status', 'processing', 'now', now());
END $$;

-- One upsert, as in 20261201000500_outbox.sql, plus refs.update_only: the row belongs to someone
-- else (a web-form job belongs to the web form), so it is updated, never created; a row its owner
-- deleted is a rejected mutation (SQLSTATE P0002), reported and skipped like any other.
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
BEGIN
  IF v_key IS NULL THEN
    RAISE EXCEPTION 'unknown table %: not one the outbox writes', coalesce(quote_literal(p_table), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  IF p_row IS NULL OR jsonb_typeof(p_row) <> 'object' THEN
    RAISE EXCEPTION '%: row must be a JSON object', p_table USING ERRCODE = '22023';
  END IF;
  IF p_refs IS NOT NULL AND jsonb_typeof(p_refs) NOT IN ('object', 'null') THEN
    RAISE EXCEPTION '%: refs must be a JSON object', p_table USING ERRCODE = '22023';
  END IF;
  -- ids, bookkeeping times and the foreign ids the server resolves are never taken from a client
  SELECT array_agg(k ORDER BY k) INTO v_bad FROM jsonb_object_keys(p_row) k
   WHERE k IN ('id', 'created_at', 'updated_at', 'profile_id', 'queue_id', 'analysis_id')
      OR NOT EXISTS (SELECT 1 FROM information_schema.columns c
                      WHERE c.table_schema = 'public' AND c.table_name = p_table AND c.column_name = k);
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

REVOKE ALL ON FUNCTION public.viral_job_rerun(uuid, numeric) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.viral_job_rerun(uuid, numeric) TO service_role;

NOTIFY pgrst, 'reload schema';
