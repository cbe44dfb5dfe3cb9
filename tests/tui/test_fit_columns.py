"""Pane columns give way by priority as the width shrinks and grow into free space (pane.fit_columns)."""

from __future__ import annotations

from viralspot_tui.tui.widgets.analysis_pane import AnalysisPane
from viralspot_tui.tui.widgets.pane import fit_columns

docs = AnalysisPane.wide_columns


def fit(room: int, **wanted: int) -> dict[str, int | None]:
    grow = {k: min(v, wanted.get(k, v)) for k, v in AnalysisPane.grow.items()}
    columns = fit_columns(
        docs, room, drop=AnalysisPane.drop_order, compact=AnalysisPane.compact, grow=grow, flex="comp"
    )
    assert sum((w or 0) + 2 for _, _, w in columns) <= room  # never clipped at the pane's edge
    return {key: width for key, _, width in columns}


def test_everything_fits_with_room_and_names_grow_as_far_as_their_text() -> None:
    widths = fit(140, primary=24, stage=11, comp=40)
    assert list(widths) == ["id", "primary", "progress", "stage", "runs", "next", "comp"]
    assert widths["primary"] == 24 and widths["progress"] == 11  # a long name is not cut beside free space
    assert widths["comp"] >= 40  # the flex column takes what is left


def test_compact_forms_come_before_dropping_and_drops_follow_priority() -> None:
    assert fit(76) == {k: w for k, _, w in docs}  # exactly the declared widths
    squeezed = fit(56)  # the bar becomes "45%" and the competitors go; number, runs and next stay
    assert list(squeezed) == ["id", "primary", "progress", "stage", "runs", "next"] and squeezed["progress"] == 4
    slimmer = fit(44)
    assert list(slimmer) == ["id", "primary", "progress", "stage", "runs"]
    assert list(fit(36)) == ["id", "primary", "progress", "stage"]


def test_a_compact_column_gets_its_full_width_back_when_a_drop_made_room() -> None:
    widths = fit(60)  # dropping the competitors left room for the bar and the full stage again
    assert "comp" not in widths and (widths["progress"], widths["stage"]) == (11, 9)
    widths = fit(56)  # room for one of them: the first declared that fits (the stage; the bar needs 7)
    assert (widths["progress"], widths["stage"]) == (4, 12)
