"""The Network Crawler (docs/crawler.md): discover accounts similar to known ones and queue them at LOW.

Modules, one idea each: :mod:`.models` (requests and reports), :mod:`.store` (its tables),
:mod:`.seeds` (C1), :mod:`.dedup` (C3), :mod:`.quality` (C4), :mod:`.budget` (daily call budget),
:mod:`.crawl` (one multi-round crawl, C2/C5/C6) and :mod:`.processor` (the engine processor).
Importing this package registers the crawler's tables with the schema, so import it before the
database is opened.
"""

from .budget import DailyBudget
from .crawl import Crawl
from .models import CrawlOutcome, CrawlReport, CrawlRequest, DropReason, RequestStatus, RoundReport
from .processor import CrawlerProcessor
from .seeds import CrawlSeeds, SeedPool
from .store import CrawlerStore

__all__ = [
    "Crawl",
    "CrawlerProcessor",
    "CrawlerStore",
    "CrawlOutcome",
    "CrawlReport",
    "CrawlRequest",
    "CrawlSeeds",
    "DailyBudget",
    "DropReason",
    "RequestStatus",
    "RoundReport",
    "SeedPool",
]
