"""The local ↔ remote mapping on rows of the REAL local stores (docs/supabase-results.md).

A real SQLite database is filled the way the console fills it: a viral ideas job runs against the
simulator (profiles, reels, the job, its competitors, run, reels used and scripts) and a crawl
runs one round (a crawler round), and a queue scrape stores similar accounts. Every row of every mapped table goes through
``to_remote`` and then through ``outbox_apply`` over REST; the original's readers then find them.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from supa_helpers import rpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "viral"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "crawler"))

from crawler_helpers import community, new_crawl  # noqa: E402
from viral_kit import make_sim, public_names, viral_runtime  # noqa: E402

from viralspot_tui.core.backends.supabase_mapping import (  # noqa: E402
    LOCAL_ROW_SQL,
    REMOTE_NAME,
    REMOTE_TABLES,
    MappingError,
    enqueue_mutation,
    local_job_from_remote,
    session_id_for,
    to_remote,
)
from viralspot_tui.core.clock import FakeClock  # noqa: E402
from viralspot_tui.core.crawler.store import CrawlerStore  # noqa: E402
from viralspot_tui.core.pipeline.profile_fetch import ProfileFetchPipeline  # noqa: E402
from viralspot_tui.core.viral import api  # noqa: E402
from viralspot_tui.core.viral.models import ContentStrategy, JobStatus  # noqa: E402

ORDER = tuple(REMOTE_NAME)  # parents before children, as the local side writes them


@pytest.fixture(scope="module")
def local_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A console database after one viral job and one crawl round against the simulator."""
    import asyncio

    tmp = tmp_path_factory.mktemp("mapping")
    clock = FakeClock()
    sim = make_sim(clock)

    async def fill() -> Path:
        async with viral_runtime(tmp, sim, clock) as runtime:
            names = public_names(sim, 3, "creator")
            strategy = ContentStrategy(content_type="cooking reels", target_audience="parents", goals="saves")
            job = await api.create_job(runtime, names[0], names[1:], strategy=strategy)
            outcome = await api.run_job_now(runtime, job.id)
            assert outcome.status == JobStatus.COMPLETED, outcome.error
            # a queue scrape: the profile, its reels and its similar accounts
            pipeline = ProfileFetchPipeline(
                runtime.providers.instagram, runtime.content, runtime.checkpoints, similar_count=20, clock=clock
            )
            await pipeline.run(names[0], "mapping-scrape")
            seeds = community(sim, 10)[:1]
            request = await CrawlerStore(runtime.db, runtime.clock).create_request(seeds, 1000, 1)
            await new_crawl(runtime, seeds=seeds, target=1000, max_rounds=1, request_id=request.id).run()
            return Path(runtime.settings.db_path)

    return asyncio.run(fill())


def local_rows(path: Path, table: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(LOCAL_ROW_SQL[table]).fetchall()]
    finally:
        conn.close()


def test_every_table_of_a_real_database_maps(local_db: Path) -> None:
    client = str(uuid.uuid4())
    assert set(ORDER) == REMOTE_TABLES
    for table in ORDER:
        rows = local_rows(local_db, table)
        assert rows, f"the scenario leaves rows in {table}"
        for row in rows:
            m = to_remote(table, row, client_id=client)
            wire = m.wire(5)
            assert wire["seq"] == 5 and wire["kind"] == "upsert" and wire["table"] == REMOTE_NAME[table]
    job = local_rows(local_db, "viral_ideas_queue")[0]
    m = to_remote("viral_ideas_queue", job, client_id=client)
    assert m.row["session_id"] == session_id_for(client, job["id"]) and len(m.row["session_id"]) <= 255
    assert m.row["content_strategy"] == {"contentType": "cooking reels", "targetAudience": "parents", "goals": "saves"}
    assert m.row["status"] == "completed" and m.row["total_runs"] == 1 and m.row["progress_percentage"] == 100
    reel = local_rows(local_db, "content")[0]
    c = to_remote("content", reel, client_id=client)
    assert (c.row["view_count"], c.row["description"], c.refs) == (
        reel["views"],
        reel["caption"],
        {"profile_username": reel["username"]},
    )
    assert "profile_id" not in c.row  # foreign ids are resolved on the server


async def test_mapped_rows_apply_and_the_original_readers_see_them(local_db: Path, service: Any, db: Any) -> None:
    client = str(uuid.uuid4())
    muts: list[dict[str, Any]] = []
    for table in ORDER:
        for row in local_rows(local_db, table):
            muts.append(to_remote(table, row, client_id=client).wire(len(muts) + 1))
    answer = await rpc(service, "outbox_apply", p_client_id=client, p_mutations=muts)
    assert answer["rejected"] == [] and answer["gap"] is None and len(answer["applied"]) == len(muts)

    local_reels = local_rows(local_db, "content")
    remote = {
        r["shortcode"]: r
        for r in await db.fetch(
            "SELECT c.shortcode, c.view_count, c.username, p.username AS owner FROM public.content c"
            " JOIN public.primary_profiles p ON p.id = c.profile_id WHERE c.shortcode = ANY ($1::text[])",
            [r["shortcode"] for r in local_reels],
        )
    }
    assert {s: (r["view_count"], r["owner"]) for s, r in remote.items()} == {
        r["shortcode"]: (r["views"], r["username"]) for r in local_reels
    }
    sid = session_id_for(client, local_rows(local_db, "viral_ideas_queue")[0]["id"])
    used = await db.fetchval(
        "SELECT count(*) FROM public.viral_analysis_reels r JOIN public.viral_analysis_results a ON a.id = r.analysis_id"
        " JOIN public.viral_ideas_queue q ON q.id = a.queue_id WHERE q.session_id = $1",
        sid,
    )
    assert used == len(local_rows(local_db, "viral_analysis_reels"))
    scripts = await db.fetchval(
        "SELECT count(*) FROM public.viral_scripts s JOIN public.viral_analysis_results a ON a.id = s.analysis_id"
        " JOIN public.viral_ideas_queue q ON q.id = a.queue_id WHERE q.session_id = $1",
        sid,
    )
    assert scripts == len(local_rows(local_db, "viral_scripts"))
    similar = [r["username"] for r in local_rows(local_db, "secondary_profiles")]
    assert await db.fetchval(
        "SELECT count(*) FROM public.secondary_profiles WHERE username = ANY ($1::text[])", similar
    ) == len(similar)
    assert await db.fetchval(
        "SELECT count(*) FROM public.viralspot_crawler_rounds WHERE client_id = $1", uuid.UUID(client)
    ) == len(local_rows(local_db, "crawler_rounds"))


def test_bad_rows_raise_a_mapping_error_naming_table_key_and_problem(local_db: Path) -> None:
    client = str(uuid.uuid4())
    reel = local_rows(local_db, "content")[0]
    with pytest.raises(MappingError, match=r"content \(shortcode=.*\): column 'content_id' missing"):
        to_remote("content", {k: v for k, v in reel.items() if k != "content_id"}, client_id=client)
    with pytest.raises(MappingError, match=r"view_count: Input should be greater than or equal to 0"):
        to_remote("content", {**reel, "views": -1}, client_id=client)
    with pytest.raises(MappingError, match=r"shortcode: String should have at most 255 characters"):
        to_remote("content", {**reel, "shortcode": "x" * 300}, client_id=client)
    job = local_rows(local_db, "viral_ideas_queue")[0]
    with pytest.raises(MappingError, match=r"viral_ideas_queue \(id=.*\): status: Input should be 'pending'"):
        to_remote("viral_ideas_queue", {**job, "status": "exploded"}, client_id=client)
    with pytest.raises(MappingError, match=r"viral_ideas_queue \(id=.*\): column 'content_strategy' is not valid JSON"):
        to_remote("viral_ideas_queue", {**job, "content_strategy": "{not json"}, client_id=client)
    with pytest.raises(MappingError, match=r"badly formed hexadecimal UUID string"):
        to_remote("viral_ideas_queue", job, client_id="not-a-uuid")
    with pytest.raises(MappingError, match=r"'queue' is not a table the outbox maps"):
        to_remote("queue", {}, client_id=client)
    reel_used = local_rows(local_db, "viral_analysis_reels")[0]
    with pytest.raises(MappingError, match=r"column 'run_number' missing"):
        to_remote("viral_analysis_reels", {k: v for k, v in reel_used.items() if k != "run_number"}, client_id=client)


def test_enqueue_mutation_normalises_and_validates() -> None:
    m = enqueue_mutation([{"username": "@Bob", "priority": "high", "source": "manual"}, {"username": "al"}])
    assert m.wire(3) == {
        "seq": 3,
        "kind": "enqueue",
        "items": [
            {"username": "bob", "priority": "HIGH", "source": "manual"},
            {"username": "al", "priority": "LOW", "source": "manual"},
        ],
    }
    with pytest.raises(MappingError, match="enqueue item 2"):
        enqueue_mutation([{"username": "ok"}, {"username": "no way!"}])
    with pytest.raises(MappingError, match=r"enqueue item 1 \(bob\): priority must be HIGH or LOW"):
        enqueue_mutation([{"username": "bob", "priority": "urgent"}])
    with pytest.raises(MappingError, match="no items"):
        enqueue_mutation([])


async def test_a_web_form_job_becomes_local_job_arguments(tmp_path: Path, service: Any, db: Any) -> None:
    """A row as the web form writes it, read back over REST, becomes a local job that runs."""
    sid = f"web-{uuid.uuid4()}"
    qid = await db.fetchval(
        "INSERT INTO public.viral_ideas_queue (session_id, primary_username, content_strategy, auto_rerun_enabled,"
        ' rerun_frequency_hours) VALUES ($1, \'Chef_Anna\', \'{"contentType": "recipes", "targetAudience":'
        ' "students", "goals": "follows"}\', true, 12) RETURNING id',
        sid,
    )
    await db.execute(
        "INSERT INTO public.viral_ideas_competitors (queue_id, competitor_username, is_active) VALUES"
        " ($1, 'cook_one', true), ($1, 'cook_two', false), ($1, '@Cook_Three', true)",
        qid,
    )
    # two plain reads (the REST subset the console keeps to: no resource embedding)
    rows = (await service.table("viral_ideas_queue").select("*").eq("session_id", sid).execute()).data
    comps = (await service.table("viral_ideas_competitors").select("*").eq("queue_id", str(qid)).execute()).data
    args = local_job_from_remote(rows[0], comps)
    assert local_job_from_remote({**rows[0], "viral_ideas_competitors": comps}) == args  # the embedded shape
    assert (args.session_id, args.remote_id, args.primary) == (sid, str(qid), "chef_anna")
    assert sorted(args.competitors) == ["cook_one", "cook_three"]
    assert args.strategy == ContentStrategy(content_type="recipes", target_audience="students", goals="follows")
    assert (args.auto_rerun, args.rerun_every_hours) == (True, 12.0)

    clock = FakeClock()
    async with viral_runtime(tmp_path, make_sim(clock), clock) as runtime:
        job = await api.create_job(
            runtime, args.primary, args.competitors, args.strategy, args.auto_rerun, args.rerun_every_hours
        )
        assert (job.primary_username, job.auto_rerun, job.rerun_every_hours) == ("chef_anna", True, 12.0)

    with pytest.raises(MappingError, match=r"session_id='s'.*1 to 20 active competitors, got 0"):
        local_job_from_remote({"id": "x", "session_id": "s", "primary_username": "a"}, [])
    with pytest.raises(MappingError, match=r"session_id='s'"):
        local_job_from_remote({"id": "x", "session_id": "s", "primary_username": "no way!"}, [])


def test_a_job_from_the_web_form_keeps_its_session_id(local_db: Path) -> None:
    """Rows of a job picked up from Supabase carry ``remote_session_id``: its results go to that job."""
    client = str(uuid.uuid4())
    for table in ("viral_ideas_queue", "viral_ideas_competitors", "viral_analysis_results", "viral_scripts"):
        row = {**local_rows(local_db, table)[0], "remote_session_id": "session-from-the-web-form"}
        m = to_remote(table, row, client_id=client)
        assert "session-from-the-web-form" in (m.row.get("session_id"), m.refs.get("session_id")), table
        plain = to_remote(table, local_rows(local_db, table)[0], client_id=client)
        assert session_id_for(client, 1) in (plain.row.get("session_id"), plain.refs.get("session_id")), table
