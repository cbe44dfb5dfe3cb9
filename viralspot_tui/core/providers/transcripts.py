"""The Instagram transcripts API on RapidAPI (SPEC §6).

"No transcript" is an ordinary answer, not an error: many reels have no speech. The viral
ideas selection (SPEC V3) falls back to the next candidate when :meth:`fetch` returns None, so
only genuine failures (quota, configuration, transport after retries) raise.
"""

from __future__ import annotations

import httpx

from ..models.instagram import Transcript, parse_transcript, reel_url
from .errors import NotFoundError
from .instagram import validate_shortcode
from .policy import OutboundPolicy

__all__ = ["TranscriptProvider"]


class TranscriptProvider:
    name = "transcripts"

    def __init__(
        self, client: httpx.AsyncClient, policy: OutboundPolicy, *, base_url: str, chunk_size: int = 500
    ) -> None:
        self._client = client
        self.policy = policy
        self.base_url = base_url.rstrip("/")
        self.chunk_size = chunk_size

    async def fetch(self, shortcode_or_url: str) -> Transcript | None:
        """``GET /transcript?url=<reel url>&chunkSize=500&text=false``.

        Returns the transcript, or None when the reel has none (HTTP 200 with empty
        ``content``, or 404 for the reel's transcript).
        """
        code = validate_shortcode(shortcode_or_url, provider=self.name, endpoint="transcript")

        def parse(payload: object) -> Transcript:
            return parse_transcript(payload, shortcode=code)

        try:
            transcript = await self.policy.request(
                self._client,
                "GET",
                f"{self.base_url}/transcript",
                endpoint="transcript",
                parse=parse,
                params={"url": reel_url(code), "chunkSize": str(self.chunk_size), "text": "false"},
            )
        except NotFoundError:
            return None
        return transcript if transcript.has_content else None
