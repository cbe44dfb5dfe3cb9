"""Audit: API keys never reach the screen (or an SVG screenshot) or the console's log file.

Provider errors can echo a key (a dumped header, a URL, "Incorrect API key provided: …").
Such text travels as a processor crash, an event in the log pane, a queue item's last error
and a toast; every one of those is drawn by the console, so the console redacts what it draws.
"""

from __future__ import annotations

import logging

from testkit import crashing_processor
from tui_kit import hosting, screen_text, started, tui_settings, until

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.tui.app import ViralSpotApp
from viralspot_tui.tui.launch import _log_to_file

RAPID = "rapid-Zq8vXk3LmW9pTn2RfYh"
OPENAI = "sk-proj-Uv7Hs2Jk9Lq4Wx6Yz1Ab"
LEAK = f"401 from provider: X-RapidAPI-Key={RAPID} Authorization=Bearer {OPENAI}"


async def test_keys_are_never_rendered_or_logged(tmp_path):
    settings = tui_settings(tmp_path, rapidapi={"key": RAPID}, openai={"api_key": OPENAI})
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    log_path = _log_to_file(settings)  # the console's own logging set-up (run_console)

    engine = hosting(settings, lambda rt: [crashing_processor(rt, crashes=1, name="queue", message=LEAK)])
    app = ViralSpotApp(engine, settings=settings, refresh_interval=0.05)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await started(app, pilot)
            await until(lambda: any("crash" in n.message for n in app._notifications), what="crash toast")
            app.supervisor.pause("queue")
            store = app.supervisor.runtime.queue
            await store.enqueue(["leaky"], Priority.HIGH)
            for item in await store.claim(Priority.HIGH, 1, 60):
                await store.fail(item, f"provider said: key {RAPID} rejected", permanent=True)
            await app.supervisor.refresh()
            app.refresh_tick()
            await pilot.press("1", "enter")  # the item's details toast repeats its last error
            await pilot.pause(0.3)
            text = screen_text(app)
            svg = app.export_screenshot()
            assert "leaky" in text and "processor crashed" in text  # the leaky paths were drawn
            for secret in (RAPID, OPENAI):
                assert secret not in text and secret not in svg
            for n in app._notifications:
                assert RAPID not in n.message and OPENAI not in n.message
    finally:
        for handler in root.handlers:
            handler.flush()
            handler.close()
        root.handlers[:], level = saved
        root.setLevel(level)
    logged = log_path.read_text(encoding="utf-8")
    assert "crash" in logged
    assert RAPID not in logged and OPENAI not in logged
