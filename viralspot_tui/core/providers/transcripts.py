"""The Instagram transcripts API on RapidAPI.

"No transcript" is an ordinary answer, not an error: many reels have no speech. The viral
ideas selection falls back to the next candidate when :meth:`TranscriptProvider.fetch`
returns None, so only genuine failures (quota, configuration, transport after retries, a
transcript still being prepared after the last poll) raise.

The host answers in three ways besides a transcript (see docs/real-apis.md):

* HTTP 206 — no transcript exists for this reel: None at once, never retried (a retry would
  pay for the same "none").
* HTTP 202 with a ``jobId`` — the transcript is being prepared: ask again after a delay
  (the ``Retry-After`` hint, else ``poll_delay``), at most ``polls`` more times; then a
  transient error, so the caller tries another reel now and this one on a later run.
* HTTP 200 with empty ``content`` (or 404) — none, as above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models.instagram import Transcript, parse_json, parse_transcript, reel_url
from .errors import NotFoundError, TransientError
from .instagram import validate_shortcode
from .policy import OutboundPolicy, parse_retry_after

if TYPE_CHECKING:
    from .aio_client import HttpClient, HttpResponse

__all__ = ["TranscriptProvider", "NO_TRANSCRIPT", "PREPARING"]

NO_TRANSCRIPT = 206
PREPARING = 202
_MAX_POLL_DELAY = 120.0


class _Preparing:
    """A 202 answer: the job id and the server's wait hint."""

    def __init__(self, job_id: str | None, retry_after: float | None) -> None:
        self.job_id = job_id
        self.retry_after = retry_after


class TranscriptProvider:
    name = "transcripts"

    def __init__(
        self,
        client: HttpClient,
        policy: OutboundPolicy,
        *,
        base_url: str,
        chunk_size: int = 500,
        polls: int = 3,
        poll_delay: float = 5.0,
    ) -> None:
        self._client = client
        self.policy = policy
        self.base_url = base_url.rstrip("/")
        self.chunk_size = chunk_size
        self.polls = max(0, polls)
        self.poll_delay = max(0.0, poll_delay)

    async def fetch(self, shortcode_or_url: str) -> Transcript | None:
        """``GET /transcript?url=<reel url>&chunkSize=500&text=false``: the transcript or None."""
        code = validate_shortcode(shortcode_or_url, provider=self.name, endpoint="transcript")
        job: str | None = None
        for poll in range(self.polls + 1):
            try:
                answer = await self.policy.run("transcript", lambda: self._attempt(code))
            except NotFoundError:
                return None
            if not isinstance(answer, _Preparing):
                return answer if answer is not None and answer.has_content else None
            job = answer.job_id or job
            if poll < self.polls:
                delay = answer.retry_after if answer.retry_after is not None else self.poll_delay
                await self.policy.clock.sleep(min(_MAX_POLL_DELAY, delay))
        raise TransientError(
            f"transcript still being prepared after {self.polls + 1} asks (job {job or 'unknown'})",
            provider=self.name,
            endpoint="transcript",
        )

    async def _attempt(self, code: str) -> Transcript | _Preparing | None:
        params = {"url": reel_url(code), "chunkSize": str(self.chunk_size), "text": "false"}
        response = await self.policy.send(
            self._client, "GET", f"{self.base_url}/transcript", endpoint="transcript", params=params
        )
        if response.status_code == NO_TRANSCRIPT:
            return None
        if response.status_code == PREPARING:
            return _Preparing(
                _job_id(response), parse_retry_after(response.headers.get("retry-after"), self.policy.clock.now())
            )
        return parse_transcript(parse_json("transcript", response.content, self.name), shortcode=code)


def _job_id(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("jobId", body.get("job_id")) if isinstance(body, dict) else None
    return str(value)[:80] if isinstance(value, (str, int)) and not isinstance(value, bool) else None
