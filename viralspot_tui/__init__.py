"""ViralSpot operations console: queue processor, viral ideas processor and network crawler.

The UI-free core lives in :mod:`viralspot_tui.core`; the Textual console in
:mod:`viralspot_tui.tui`; the deterministic API simulator in :mod:`viralspot_tui.sim`.
"""

import sys as _sys

# httpx's package __init__ imports its optional command-line tool (httpx._main), which pulls in
# rich and pygments whenever they happen to be installed (Textual installs them). The engine
# never uses that tool; marking it absent keeps the core free of rich and ~40 ms faster to import.
if "httpx" not in _sys.modules:
    _sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
