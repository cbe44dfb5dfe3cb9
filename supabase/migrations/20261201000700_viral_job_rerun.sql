-- Re-runs of web-form viral jobs (see docs/supabase-results.md, "Web-form jobs"). A console that
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

REVOKE ALL ON FUNCTION public.viral_job_rerun(uuid, numeric) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.viral_job_rerun(uuid, numeric) TO service_role;

NOTIFY pgrst, 'reload schema';
