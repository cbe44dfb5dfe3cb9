"""Drive a :class:`SelectionPlan` against the transcript provider (docs/viral.md fallback, V4 reuse).

The plan decides *which* reels to try; this module does the I/O: it asks for the transcripts
of a whole batch at once (they are independent, so the slowest one bounds the wait, not the
sum), stores every answer in the shared ``content`` table — including "this reel has none", so
no later run asks again — and reports back so the plan can fall back to the next candidate.
A stored transcript is reused without a call and counts as selected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import from_iso
from ..providers.errors import PermanentError, TransientError
from .selection import Choice, ReelCandidate, SelectionPlan

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["candidate_from_row", "candidates_for", "fill_plan", "new_reels"]

Progress = Callable[[int], Awaitable[None]]


def candidate_from_row(row: dict[str, Any]) -> ReelCandidate:
    """A ``content`` row as selection sees it."""
    return ReelCandidate(
        username=row["username"],
        shortcode=row["shortcode"],
        views=int(row.get("views") or 0),
        likes=int(row.get("likes") or 0),
        comments=int(row.get("comments") or 0),
        outlier_score=row.get("outlier_score"),
        engagement_rate=row.get("engagement_rate"),
        taken_at=from_iso(row.get("taken_at")),
        has_transcript=bool(row.get("transcript")),
        transcript_missing=not row.get("transcript") and row.get("transcript_checked_at") is not None,
    )


async def candidates_for(runtime: "Runtime", usernames: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Stored reels (rows) per account, read concurrently."""
    names = list(usernames)
    rows = await asyncio.gather(*(runtime.content.reels_for(name) for name in names))
    return dict(zip(names, rows, strict=True))


def new_reels(rows: list[dict[str, Any]], baseline: set[str], since: datetime | None) -> list[dict[str, Any]]:
    """Reels first seen since the last run (not stored before it) or posted after it started (V8)."""
    fresh = []
    for row in rows:
        taken = from_iso(row.get("taken_at"))
        if row["shortcode"] not in baseline or (since is not None and taken is not None and taken > since):
            fresh.append(row)
    return fresh


async def fill_plan(
    runtime: "Runtime",
    plan: SelectionPlan,
    *,
    on_checked: Progress | None = None,
    before_call: Callable[[], Awaitable[None]] | None = None,
) -> SelectionPlan:
    """Try candidates until the plan is satisfied or out of candidates, refilling each open
    slot as soon as it opens.

    ``before_call`` is awaited before each transcript request (not for a stored answer): the
    runner passes its pause boundary while this plan overlaps the profile fetches, whose every
    step is a boundary, so a paused job sends nothing from either."""
    providers = runtime.providers
    assert providers is not None, "providers are required to fetch transcripts"
    checked = 0

    async def attempt(choice: Choice) -> None:
        nonlocal checked
        c: ReelCandidate = choice.candidate
        if c.has_transcript:
            plan.accept(choice, reused=True)
        elif c.transcript_missing:
            plan.reject(choice, "no transcript (known from an earlier check)")
        else:
            if before_call is not None:
                await before_call()
            try:
                transcript = await providers.transcripts.fetch(c.shortcode)
            except (PermanentError, TransientError) as exc:
                # This reel's transcript is unavailable right now; the next candidate may do.
                plan.reject(choice, f"transcript service failed: {exc}")
            else:
                if transcript is None:
                    await runtime.content.set_transcript(c.shortcode, None, None)
                    plan.reject(choice, "no transcript")
                else:
                    await runtime.content.set_transcript(c.shortcode, transcript.text, transcript.lang)
                    plan.accept(choice, reused=False)
        checked += 1  # no await in between: a plain counter is exact
        if on_checked is not None:
            # Not under a lock: concurrent reports' progress writes then share one flush instead
            # of queueing one round trip each behind the slowest (the stored progress only rises).
            await on_checked(checked)

    async def attempt_then_refill(group: asyncio.TaskGroup, choice: Choice) -> None:
        await attempt(choice)
        # A slot this reel left open (no transcript) is offered to the next candidate at once,
        # not after the slowest reel of the batch answered: the plan counts what is in flight,
        # so the candidates tried and their order are the same as batch by batch.
        for following in plan.next_batch():
            group.create_task(attempt_then_refill(group, following))

    while not plan.done:
        batch = plan.next_batch()
        if not batch:
            break
        try:
            async with asyncio.TaskGroup() as group:
                for choice in batch:
                    group.create_task(attempt_then_refill(group, choice))
        except BaseExceptionGroup as failed:  # quota or configuration: not this reel's problem
            raise failed.exceptions[0] from None
    return plan
