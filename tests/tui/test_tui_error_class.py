"""The queue pane's "Last error" starts with the short error class the core assigned, so the
reason ("private", "not found") shows even when the column is narrow; details have the rest."""

from __future__ import annotations

import pytest
from tui_kit import make_app, screen_text, select_user, started, tui_settings, until

from viralspot_tui.core.models.queue import Priority, Status
from viralspot_tui.core.providers.errors import NotFoundError, TransientError, error_class, labelled


def test_the_core_labels_errors_by_class() -> None:
    assert labelled(NotFoundError("no such user", provider="instagram", endpoint="profile")).startswith(
        "not found: instagram/profile:"
    )
    assert error_class(TransientError("boom", status=503)) == "HTTP 503"
    assert error_class(TransientError("timed out")) == "upstream error"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_last_error_shows_the_reason_first(tmp_path, size) -> None:
    app = make_app(tui_settings(tmp_path), processors=("queue",))
    async with app.run_test(size=size, notifications=True) as pilot:
        await started(app, pilot)
        queue = app.supervisor.runtime.queue
        await queue.enqueue(["private_someone", "missing_someone"], Priority.HIGH)
        app.supervisor.wake("queue")

        async def failed() -> bool:
            items = [await queue.get(n) for n in ("private_someone", "missing_someone")]
            return all(i is not None and i.status is Status.FAILED for i in items)

        await until(failed, what="both failed")
        await app.supervisor.refresh()
        app.refresh_tick()
        await pilot.pause()
        lines = screen_text(app).splitlines()
        [private] = [line for line in lines if "private_som" in line and "HIGH  " in line]  # the queue row
        [missing] = [line for line in lines if "missing_som" in line and "HIGH  " in line]
        assert "private" in private.split("1/3", 1)[1], private  # the class, right after the attempts
        assert "not found" in missing.split("1/3", 1)[1], missing
        await select_user(app, pilot, "private_someone")
        await pilot.press("enter")  # the details carry the full text
        item = await queue.get("private_someone")
        await until(lambda: any(item.last_error in n.message for n in app._notifications), what="details shown")


def test_the_log_spells_levels_out_instead_of_cutting_them() -> None:
    from viralspot_tui.core.events import Event
    from viralspot_tui.tui.widgets.log_pane import LogPane

    assert " WARN  careful" in LogPane.format(Event("x.y", "careful", level="warning"))
    assert " ERROR boom" in LogPane.format(Event("x.y", "boom", level="error"))
