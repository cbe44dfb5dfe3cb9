-- ViralSpot's original tables, created only where they are missing (see docs/supabase.md).
--
-- On an empty project this creates the shape the original ViralSpot system uses (same table
-- names, columns, types and enums), so the original's own readers work on a project the console
-- created. On a project that already holds those tables every statement here is a no-op: no
-- table, type, trigger, policy or view of the original is replaced. Safe to run twice.

-- Enums ----------------------------------------------------------------------------------------
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'queue_priority' AND typnamespace = 'public'::regnamespace) THEN
    CREATE TYPE public.queue_priority AS ENUM ('HIGH', 'LOW');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'queue_status' AND typnamespace = 'public'::regnamespace) THEN
    CREATE TYPE public.queue_status AS ENUM ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'PAUSED');
  END IF;
END $$;

-- updated_at trigger function: the original's, created only when absent ----------------------
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc WHERE proname = 'update_updated_at_column' AND pronamespace = 'public'::regnamespace
  ) THEN
    CREATE FUNCTION public.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
      NEW.updated_at = now();
      RETURN NEW;
    END $f$;
  END IF;
END $$;

-- Tables -----------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.queue (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  username varchar(255) NOT NULL,
  source varchar(100) DEFAULT 'manual',
  priority public.queue_priority DEFAULT 'LOW',
  status public.queue_status DEFAULT 'PENDING',
  attempts integer DEFAULT 0,
  last_attempt timestamptz,
  error_message text,
  request_id varchar(50) UNIQUE,
  "timestamp" timestamptz DEFAULT now(),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.primary_profiles (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  username varchar(255) NOT NULL UNIQUE,
  profile_name varchar(255),
  bio text,
  followers integer DEFAULT 0,
  posts_count integer DEFAULT 0,
  is_verified boolean DEFAULT false,
  is_business_account boolean DEFAULT false,
  profile_image_url text,
  total_reels integer DEFAULT 0,
  median_views bigint DEFAULT 0,
  mean_views numeric(15, 2) DEFAULT 0,
  std_views numeric(15, 2) DEFAULT 0,
  total_views bigint DEFAULT 0,
  total_likes bigint DEFAULT 0,
  total_comments bigint DEFAULT 0,
  last_full_scrape timestamptz,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.content (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  content_id varchar(255) NOT NULL UNIQUE,
  shortcode varchar(255) NOT NULL UNIQUE,
  url text,
  description text,
  thumbnail_url text,
  view_count bigint DEFAULT 0,
  like_count bigint DEFAULT 0,
  comment_count bigint DEFAULT 0,
  outlier_score numeric(10, 2),
  date_posted timestamptz,
  username varchar(255),
  profile_id uuid REFERENCES public.primary_profiles (id) ON DELETE CASCADE,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.secondary_profiles (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  username varchar(255) NOT NULL UNIQUE,
  full_name varchar(255),
  followers_count integer DEFAULT 0,
  profile_pic_url text,
  is_verified boolean DEFAULT false,
  is_private boolean DEFAULT false,
  pk bigint,
  social_context text,
  discovered_by varchar(255),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.viral_ideas_queue (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  session_id varchar(255) NOT NULL UNIQUE,
  primary_username varchar(255) NOT NULL,
  content_strategy jsonb DEFAULT '{}'::jsonb,
  status varchar(50) DEFAULT 'pending'
    CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'paused')),
  priority integer DEFAULT 5,
  current_step varchar(255),
  progress_percentage integer DEFAULT 0,
  error_message text,
  auto_rerun_enabled boolean DEFAULT false,
  rerun_frequency_hours integer DEFAULT 24,
  last_analysis_at timestamptz,
  next_scheduled_run timestamptz,
  total_runs integer DEFAULT 0,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.viral_ideas_competitors (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  queue_id uuid NOT NULL REFERENCES public.viral_ideas_queue (id) ON DELETE CASCADE,
  competitor_username varchar(255) NOT NULL,
  is_active boolean DEFAULT true,
  processing_status varchar(50) DEFAULT 'pending',
  created_at timestamptz DEFAULT now(),
  UNIQUE (queue_id, competitor_username)
);

CREATE TABLE IF NOT EXISTS public.viral_analysis_results (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  queue_id uuid NOT NULL REFERENCES public.viral_ideas_queue (id) ON DELETE CASCADE,
  analysis_run integer DEFAULT 1,
  analysis_type varchar(50) DEFAULT 'initial' CHECK (analysis_type IN ('initial', 'recurring')),
  total_reels_analyzed integer DEFAULT 0,
  primary_reels_count integer DEFAULT 0,
  competitor_reels_count integer DEFAULT 0,
  transcripts_fetched integer DEFAULT 0,
  viral_ideas jsonb DEFAULT '[]'::jsonb,
  hook_analysis jsonb DEFAULT '{}'::jsonb,
  status varchar(50) DEFAULT 'pending',
  started_at timestamptz DEFAULT now(),
  analysis_completed_at timestamptz,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  UNIQUE (queue_id, analysis_run)
);

CREATE TABLE IF NOT EXISTS public.viral_analysis_reels (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  analysis_id uuid NOT NULL REFERENCES public.viral_analysis_results (id) ON DELETE CASCADE,
  content_id varchar(255) NOT NULL,
  reel_type varchar(20) NOT NULL CHECK (reel_type IN ('primary', 'competitor')),
  username varchar(255),
  selection_reason text,
  rank_in_selection integer,
  view_count_at_analysis bigint,
  like_count_at_analysis bigint,
  comment_count_at_analysis bigint,
  outlier_score_at_analysis numeric(10, 2),
  hook_text text,
  power_words jsonb DEFAULT '[]'::jsonb,
  created_at timestamptz DEFAULT now(),
  UNIQUE (analysis_id, content_id)
);

CREATE TABLE IF NOT EXISTS public.viral_scripts (
  id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  analysis_id uuid NOT NULL REFERENCES public.viral_analysis_results (id) ON DELETE CASCADE,
  script_title varchar(500),
  script_content text,
  estimated_duration integer,
  primary_hook text,
  call_to_action text,
  source_reels jsonb DEFAULT '[]'::jsonb,
  script_structure jsonb DEFAULT '{}'::jsonb,
  ai_model varchar(100),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

-- updated_at triggers, RLS and the original's policy, for each table that has none -------------
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['queue', 'primary_profiles', 'content', 'secondary_profiles', 'viral_ideas_queue',
                           'viral_ideas_competitors', 'viral_analysis_results', 'viral_analysis_reels',
                           'viral_scripts']
  LOOP
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = t AND column_name = 'updated_at')
       AND NOT EXISTS (SELECT 1 FROM pg_trigger
                       WHERE tgrelid = format('public.%I', t)::regclass AND NOT tgisinternal
                         AND tgfoid = 'public.update_updated_at_column()'::regprocedure) THEN
      EXECUTE format('CREATE TRIGGER update_%s_updated_at BEFORE UPDATE ON public.%I'
                     ' FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column()', t, t);
    END IF;
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = t) THEN
      EXECUTE format('CREATE POLICY "Authenticated users can manage %s" ON public.%I FOR ALL'
                     ' USING (auth.role() = ''authenticated'') WITH CHECK (auth.role() = ''authenticated'')', t, t);
    END IF;
  END LOOP;
END $$;

-- The original's queue_stats view, created only when absent -----------------------------------
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_views WHERE schemaname = 'public' AND viewname = 'queue_stats') THEN
    CREATE VIEW public.queue_stats AS
      SELECT status, priority, count(*) AS count, min(created_at) AS oldest, max(updated_at) AS latest_update
        FROM public.queue
       GROUP BY status, priority;
  END IF;
END $$;
