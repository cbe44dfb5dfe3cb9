"""kill -9 mid-crawl: a crash while a crawl runs recovers like a crash mid-item.

Headless runners hosting the crawler are killed with SIGKILL at seeded moments (after a round
of this life was recorded, a random moment later: mid-round or in the delay between rounds)
and restarted. Each restart takes the dead runner's crawl back at once — its lease is held by a
pid that no longer exists — and resumes it after its last recorded round; the last runner exits
when idle, which it cannot do while a dead owner's crawl still shows running (the lease lasts a
minute, longer than the test waits). At the end every crawl completed once, rounds are numbered
without gaps or repeats, no username was queued twice, SQLite's integrity check is ok.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
from pathlib import Path

from kill9_kit import finish, integrity_ok, query, start_runner, wait_for
from testkit import make_sim

from viralspot_tui.config import load_settings
from viralspot_tui.core.crawler.store import CrawlerStore
from viralspot_tui.core.runtime import Runtime

sys.path.insert(0, str(Path(__file__).parents[1] / "crawler"))
from crawler_helpers import community  # noqa: E402

CRAWLS = 3
KILLS = 4
ENV = {"VIRALSPOT_CRAWLER__ROUND_DELAY_SECONDS": "0.15", "VIRALSPOT_CRAWLER__DAILY_CALL_BUDGET": "0"}


async def _create_crawls(data: Path) -> None:
    sim = make_sim()
    runtime = await Runtime.open(load_settings(data_dir=data, simulate=True), with_providers=False)
    try:
        store = CrawlerStore(runtime.db, runtime.clock)
        for k in range(CRAWLS):
            await store.create_request(community(sim, 40 + k)[:3], target=60, max_rounds=4)
    finally:
        await runtime.close()


def _rounds(db: Path) -> int:
    rows = query(db, "SELECT COUNT(*) FROM crawler_rounds")
    return rows[0][0] if rows else 0


def _open(db: Path, status: str) -> int:
    rows = query(db, "SELECT COUNT(*) FROM crawler_requests WHERE status = ?", (status,))
    return rows[0][0] if rows else 0


def test_kill9_mid_crawl_resumes_every_crawl_once(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    data = tmp_path / "data"
    db = data / "viralspot.db"
    asyncio.run(_create_crawls(data))

    kills = kills_in_flight = 0
    for _kill in range(KILLS):
        if _open(db, "completed") >= CRAWLS - 1:  # leave work for the last runner
            break
        kills += 1
        before = _rounds(db)
        proc = start_runner(data, "crawler", env=ENV)
        wait_for(proc, lambda b=before: _rounds(db) > b)
        time.sleep(rng.uniform(0.0, 0.2))
        kills_in_flight += _open(db, "running") > 0
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reaped (its pid is really gone for the dead-owner check), pipes closed
    assert kills >= KILLS - 1 and _open(db, "completed") < CRAWLS, "the killed runners left nothing to recover"
    assert kills_in_flight >= kills - 1, f"only {kills_in_flight} of {kills} kills met a crawl in flight"

    finish(start_runner(data, "crawler", "--exit-when-idle", env=ENV))

    assert integrity_ok(db)
    requests = query(db, "SELECT id, status, outcome, rounds_done, queued, lease_expires_at FROM crawler_requests")
    assert len(requests) == CRAWLS
    queued_anywhere: list[str] = []
    for request_id, status, outcome, rounds_done, queued, lease in requests:
        assert (status, lease) == ("completed", None), (request_id, status, outcome)
        assert outcome in ("target_reached", "rounds_exhausted", "seeds_exhausted"), outcome
        rounds = query(
            db, "SELECT round, queued_names FROM crawler_rounds WHERE request_id = ? ORDER BY round", (request_id,)
        )
        assert [r for r, _ in rounds] == list(range(1, rounds_done + 1))
        names = [n for _, q in rounds for n in json.loads(q)]
        assert queued == len(names)
        queued_anywhere += names
    assert len(queued_anywhere) == len(set(queued_anywhere)), "a username was queued by two rounds"
    in_queue = query(db, "SELECT username, COUNT(*) FROM queue GROUP BY username")
    assert all(n == 1 for _, n in in_queue), "a username has two queue rows"
    assert set(queued_anywhere) <= {u for u, _ in in_queue}
