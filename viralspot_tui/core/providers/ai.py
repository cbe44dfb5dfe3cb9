"""Structured AI calls over the official ``openai`` SDK (docs/viral.md).

Each stage asks for JSON matching a pydantic model (``response_format`` json_schema, not
strict, so any OpenAI-compatible server can comply) and validates the answer. Invalid output is
asked for again a bounded number of times; a stage that still fails raises
:class:`AIOutputError` naming the stage — never invented fallback content.

Transport concerns belong to the shared :class:`OutboundPolicy`: the SDK's own retries are
switched off (``max_retries=0`` in the factory) so that limits, back-off, ``Retry-After`` and
quota parking behave exactly as for the RapidAPI providers. Token usage and cost are summed
over every attempt, failed ones included, because the operator pays for those too.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ValidationError

from .errors import AIOutputError, ConfigurationError, TransientError
from .policy import OutboundPolicy

__all__ = ["AIProvider", "AIResult", "TokenUsage"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        return TokenUsage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class AIResult(Generic[M]):
    """A validated stage answer with what it cost."""

    stage: str
    value: M
    usage: TokenUsage
    cost_usd: float
    model: str
    attempts: int


class AIProvider:
    name = "openai"

    def __init__(
        self,
        client: AsyncOpenAI,
        policy: OutboundPolicy,
        *,
        model: str = "gpt-4o-mini",
        temperature: float = 0.7,
        output_retries: int = 2,
        input_cost_per_mtok: float = 0.15,
        output_cost_per_mtok: float = 0.60,
    ) -> None:
        self._client = client
        self.policy = policy
        self.model = model
        self.temperature = temperature
        self.output_retries = output_retries
        self.input_cost_per_mtok = input_cost_per_mtok
        self.output_cost_per_mtok = output_cost_per_mtok
        self._chat: Future[Any] | None = None
        self._chat_lock = threading.Lock()

    def prepare(self) -> None:
        """Start loading the SDK's chat client in a worker thread; returns at once.

        ``client.chat`` is built on first use and imports the SDK's chat modules then: 60-100 ms
        of CPU on the event loop, just before a job's first AI call, with nothing to overlap it.
        The viral runner calls this once its first account is fetched, so the load overlaps the
        other fetches (which wait on the network); a call made before the load finished waits
        for it. Without ``prepare`` the first call loads it itself. Calling it again does nothing.
        """
        with self._chat_lock:
            if self._chat is not None:
                return
            future: Future[Any] = Future()
            self._chat = future

        def load() -> None:
            try:
                future.set_result(self._client.chat.completions)
            except BaseException as exc:  # noqa: BLE001 - handed to the first call, which raises it
                future.set_exception(exc)

        threading.Thread(target=load, name="openai-chat-load").start()

    async def _completions(self) -> Any:
        with self._chat_lock:
            future = self._chat
        if future is None:
            return self._client.chat.completions
        return await asyncio.wrap_future(future)

    def cost(self, usage: TokenUsage) -> float:
        return (
            usage.prompt_tokens * self.input_cost_per_mtok + usage.completion_tokens * self.output_cost_per_mtok
        ) / 1_000_000

    async def structured(
        self,
        stage: str,
        messages: list[dict[str, Any]],
        schema: type[M],
        *,
        temperature: float | None = None,
    ) -> AIResult[M]:
        """Ask for ``schema``-shaped JSON; re-ask up to ``output_retries`` times on invalid output."""
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
        }
        usage = TokenUsage()
        last_problem = "no answer"
        attempts = self.output_retries + 1
        for attempt in range(1, attempts + 1):
            completion = await self._complete(stage, messages, response_format, temperature)
            if completion.usage is not None:
                usage = usage + TokenUsage(completion.usage.prompt_tokens or 0, completion.usage.completion_tokens or 0)
            content = completion.choices[0].message.content if completion.choices else None
            if not content:
                last_problem = "the model returned no content"
                continue
            try:
                value = schema.model_validate_json(content)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(output)"
                last_problem = f"invalid output at {where}: {first['msg']}"
                continue
            return AIResult(stage, value, usage, self.cost(usage), completion.model or self.model, attempt)
        error = AIOutputError(last_problem, stage=stage, attempts=attempts, provider=self.name, endpoint="chat")
        error.usage, error.cost_usd = usage, self.cost(usage)  # refused answers were still paid for
        raise error

    async def _complete(
        self, stage: str, messages: list[dict[str, Any]], response_format: dict[str, Any], temperature: float | None
    ) -> Any:
        """One chat completion through the policy, SDK errors translated to provider errors."""
        endpoint = "chat"

        completions = await self._completions()

        async def attempt() -> Any:
            try:
                raw = await completions.with_raw_response.create(  # type: ignore[call-overload]
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=self.temperature if temperature is None else temperature,
                    response_format=response_format,  # type: ignore[arg-type]
                )
            except openai.APIStatusError as exc:
                self.policy.check(endpoint, exc.response)  # type: ignore[arg-type]  # the SDK types it as httpx2
                raise TransientError(
                    f"unexpected status in stage {stage!r}", provider=self.name, endpoint=endpoint
                ) from None
            except openai.APIResponseValidationError:
                raise TransientError(
                    f"malformed completion in stage {stage!r}", provider=self.name, endpoint=endpoint
                ) from None
            except openai.APITimeoutError:
                raise TransientError(f"timed out in stage {stage!r}", provider=self.name, endpoint=endpoint) from None
            except openai.APIConnectionError as exc:
                raise TransientError(
                    f"connection failed in stage {stage!r} ({type(exc.__cause__).__name__ if exc.__cause__ else 'error'})",
                    provider=self.name,
                    endpoint=endpoint,
                ) from None
            except openai.OpenAIError as exc:
                raise ConfigurationError(
                    f"{type(exc).__name__} in stage {stage!r}", provider=self.name, endpoint=endpoint
                ) from None
            self.policy.check(endpoint, raw.http_response)
            try:
                return raw.parse()
            except (json.JSONDecodeError, ValueError, TypeError) as exc:
                raise TransientError(
                    f"malformed completion in stage {stage!r} ({type(exc).__name__})",
                    provider=self.name,
                    endpoint=endpoint,
                ) from None

        return await self.policy.run(endpoint, attempt)
