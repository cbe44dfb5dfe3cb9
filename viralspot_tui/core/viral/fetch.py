"""Fetch the primary and every competitor at the same time (docs/viral.md, V8).

Each account goes through the shared :class:`ProfileFetchPipeline`, so the data lands in the
shared content tables (every user benefits), every step is checkpointed (a retried run does
not repeat finished calls) and the shared rate limiter bounds the whole fan-out. Accounts
scraped recently enough are reused without a call. A recurring run instead always fetches the
*latest page* of each account: that is where new reels show up.

Failure policy: the primary failing fails the job (there is nobody to write for); a competitor
failing is recorded on that competitor and the job goes on with the others. Pauses, stops,
quota parking and configuration errors are not "a competitor failing" and propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from ..pipeline.profile_fetch import ProfileFetchPipeline
from ..providers.errors import ConfigurationError, NotFoundError, PermanentError, PrivateProfileError, TransientError

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["AccountFetch", "PrimaryFetchError", "fetch_accounts", "LATEST_PAGE"]

LATEST_PAGE = 12  # one page of the reels endpoint: what a recurring run looks at
Boundary = Callable[[], Awaitable[None]]


class PrimaryFetchError(Exception):
    """The primary creator could not be fetched: the job cannot go on."""


@dataclass(frozen=True)
class AccountFetch:
    username: str
    role: Literal["primary", "competitor"]
    status: Literal["fetched", "reused", "failed"]
    error: str | None = None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PrivateProfileError):
        return "the profile is private"
    if isinstance(exc, NotFoundError):
        return "the profile does not exist"
    return str(exc) or type(exc).__name__


def _pipeline(runtime: "Runtime", recurring: bool) -> ProfileFetchPipeline:
    providers = runtime.providers
    if providers is None:
        raise ConfigurationError("providers are not configured for this runtime", provider="viral")
    return ProfileFetchPipeline(
        providers.instagram,
        runtime.content,
        runtime.checkpoints,
        reels_count=LATEST_PAGE if recurring else runtime.settings.queue.reels_count,
        similar_count=0,  # the analysis needs reels, not the similar-account graph
        fetch_reel_details=False,
        clock=runtime.clock,
    )


async def _false() -> None:
    return None


async def _fresh(runtime: "Runtime", username: str) -> str | None:
    """ "public" / "private" when stored data younger than ``fresh_data_hours`` can be reused."""
    hours = runtime.settings.viral.fresh_data_hours
    if hours <= 0:
        return None
    age = await runtime.content.profile_age(username)
    if age is None or age >= timedelta(hours=hours):
        return None
    profile = await runtime.content.get_profile(username)
    if profile is None:
        return None
    if profile.get("is_private"):
        return "private"
    return "public" if profile.get("reels_count") else None


async def fetch_accounts(
    runtime: "Runtime",
    primary: str,
    competitors: list[str],
    *,
    item_prefix: str,
    recurring: bool,
    boundary: Boundary | None = None,
    on_done: Callable[[AccountFetch, int, int], Awaitable[None]] | None = None,
) -> dict[str, AccountFetch]:
    """Fetch every account concurrently; returns the outcome per username (primary included).

    Raises :class:`PrimaryFetchError` when the primary cannot be read.
    """
    pipeline = _pipeline(runtime, recurring)
    accounts: list[tuple[str, Literal["primary", "competitor"]]] = [(primary, "primary")]
    accounts += [(name, "competitor") for name in competitors if name != primary]
    outcomes: dict[str, AccountFetch] = {}
    total = len(accounts)

    # Decide reuse for every account up front (one burst of reads), so the fetches below all
    # start together instead of each waiting for its own freshness check.
    fresh = dict(
        zip(
            [u for u, _ in accounts],
            await asyncio.gather(*(_fresh(runtime, u) if not recurring else _false() for u, _ in accounts)),
            strict=True,
        )
    )

    async def one(username: str, role: Literal["primary", "competitor"]) -> None:
        reuse = fresh[username]
        if reuse is not None:
            outcome = (
                AccountFetch(username, role, "failed", "the profile is private")
                if reuse == "private"
                else AccountFetch(username, role, "reused")
            )
        else:
            try:
                await pipeline.run(username, f"{item_prefix}:{username}", boundary=boundary)
                outcome = AccountFetch(username, role, "fetched")
            except (PermanentError, TransientError) as exc:
                outcome = AccountFetch(username, role, "failed", _describe(exc))
        outcomes[username] = outcome
        if on_done is not None:
            await on_done(outcome, len(outcomes), total)
        if role == "primary" and outcome.status == "failed":  # the job cannot succeed: stop the other fetches
            raise PrimaryFetchError(f"primary creator @{primary} could not be fetched: {outcome.error}")

    try:
        async with asyncio.TaskGroup() as group:
            for username, role in accounts:
                group.create_task(one(username, role))
    except BaseExceptionGroup as failed:  # pause, stop, quota, configuration: the caller decides
        raise failed.exceptions[0] from None
    primary_outcome = outcomes[primary]
    if primary_outcome.status == "failed":
        raise PrimaryFetchError(f"primary creator @{primary} could not be fetched: {primary_outcome.error}")
    return outcomes
