"""Regenerate ``screenshots/*.svg`` from a real simulator run, through the app's own screenshot action.

    python scripts/make_screenshots.py [--out screenshots]

Runs the console headless (Textual's test driver) over the real engine on the simulator: the
sample queue file, extra LOW work, an analysis job and a crawl, then waits until there is
something to see in every pane and saves, with ``ViralSpotApp.take_screenshot``:

* ``dashboard-120x40.svg`` and ``dashboard-80x24.svg`` — the main screen at both sizes;
* ``job-detail.svg`` — a finished analysis job: selected reels, hooks and scripts;
* ``help.svg`` — the help screen with the keys as currently bound.

The run is simulated, so no API key exists to leak; the data folder is a temporary one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viralspot_tui.config import load_settings  # noqa: E402
from viralspot_tui.core.engine import open_engine  # noqa: E402
from viralspot_tui.core.models.queue import Priority  # noqa: E402
from viralspot_tui.tui.app import ViralSpotApp  # noqa: E402
from viralspot_tui.tui.screens.help import HelpScreen  # noqa: E402
from viralspot_tui.tui.screens.job_detail import JobDetailScreen  # noqa: E402

EXTRA = [
    "creator.daily",
    "foodie.hub",
    "studio.lumen",
    "mark.builds",
    "runwithjen",
    "plantmom.co",
    "dev.diaries",
    "urban.sketch",
    "coffee.lab",
    "snap.science",
    "trail.mix",
    "pixel.pete",
    "mindful.mo",
    "quick.eats",
]


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.2)


async def run(out: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="viralspot-shots-"))
    os.chdir(workdir)
    shutil.copy(ROOT / "queue.csv.sample", workdir / "queue.csv")
    settings = load_settings(
        data_dir=str(workdir / "data"),
        simulate=True,
        queue={"queue_file": "queue.csv", "max_concurrent": 6, "grace_seconds": 2},
        rapidapi={"requests_per_second": 25},
        sim={"latency_ms": 40, "seed": 7},
    )
    app = ViralSpotApp(lambda: open_engine(settings), settings=settings, screenshot_dir=out)
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.host.started.is_set():
            await asyncio.sleep(0.05)
        sup = app.supervisor
        await sup.runtime.queue.enqueue(EXTRA, Priority.LOW, "crawler")
        await app.ops.create_job("natgeo", ["nasa", "garyvee", "hubermanlab"], {"goals": "more saves"})
        await app.ops.request_crawl(["natgeo"], source="console")

        async def job_done() -> bool:
            viral = sup.snapshot().viral
            jobs = list(viral.jobs) if viral else []
            return bool(jobs) and jobs[-1].status == "completed"

        async def busy_everywhere() -> bool:
            snap = sup.snapshot()
            done = sum(n for (_, status), n in snap.queue.counts.items() if status.value == "COMPLETED")
            return done >= 4 and bool(snap.crawler and snap.crawler.rounds) and snap.queue.in_flight > 0

        await wait_until(job_done, 120, "the analysis job")
        await app.ops.create_job("nasa", ["natgeo", "garyvee"], {"content_type": "explainers"})
        await wait_until(busy_everywhere, 120, "queue and crawler progress")
        await asyncio.sleep(1.5)
        await pilot.pause()
        app.take_screenshot(str(out / "dashboard-120x40.svg"))
        await pilot.resize_terminal(80, 24)
        await pilot.pause(1.0)
        app.take_screenshot(str(out / "dashboard-80x24.svg"))
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.5)
        await pilot.press("2")
        table = app.screen.query_one("#analysis-table")
        table.select_key(str(min(j.id for j in sup.snapshot().viral.jobs)))
        await pilot.press("enter")
        while not (isinstance(app.screen, JobDetailScreen) and app.screen.detail and app.screen.detail.scripts):
            await asyncio.sleep(0.1)
        await pilot.pause(0.5)
        app.take_screenshot(str(out / "job-detail.svg"))
        await pilot.press("escape")
        await pilot.pause(0.3)
        await pilot.press("question_mark")
        while not isinstance(app.screen, HelpScreen):
            await asyncio.sleep(0.1)
        await pilot.pause(0.5)
        app.take_screenshot(str(out / "help.svg"))
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        while app.is_running:
            await asyncio.sleep(0.1)
    shutil.rmtree(workdir, ignore_errors=True)
    for name in ("dashboard-120x40.svg", "dashboard-80x24.svg", "job-detail.svg", "help.svg"):
        print(out / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(out))


if __name__ == "__main__":
    main()
