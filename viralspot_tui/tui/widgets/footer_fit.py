"""One rule for every screen's footer on a narrow terminal.

Under :data:`~.pane.NARROW_BELOW` columns the footer drops its spacing and the palette key
(``?`` lists every key anyway), so that the keys it does show, ``q`` included, fit on an
80-column SSH terminal instead of being cut at the edge.
"""

from __future__ import annotations

from textual.widgets import Footer

from .pane import NARROW_BELOW

__all__ = ["fit_footer"]


def fit_footer(footer: Footer, width: int) -> None:
    narrow = width < NARROW_BELOW
    if footer.compact != narrow or footer.show_command_palette == narrow:
        footer.compact = narrow
        footer.show_command_palette = not narrow
        footer.refresh(recompose=True)
