"""The four AI stages of a run (docs/viral.md), each checkpointed so a retry resumes where it failed.

1. profile analysis of the primary; 2. hook analysis of every selected reel (one call per
reel, concurrently); 3. hook generation (N hooks, each citing a competitor reel);
4. script writing (one call per hook, concurrently).

Every answer is validated against a pydantic model whose schema pins the reels it may cite;
the provider re-asks a bounded number of times on invalid output and then raises, which fails
the stage with a clear error — there is no fallback content. Each validated answer is written to
the run's row (or to ``viral_scripts``) together with its token usage *before* the next one is
asked for, so a retried run skips everything already answered and pays only for the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..providers.ai import AIProvider, AIResult
from ..providers.errors import AIOutputError, ProviderError
from .models import (
    ContentStrategy,
    GeneratedHook,
    HookAnalysis,
    ProfileAnalysis,
    Stage,
    generated_hooks_model,
    hook_analysis_model,
    script_model,
)
from .prompts import (
    ProfileContext,
    ReelContext,
    hook_analysis_messages,
    hook_generation_messages,
    profile_analysis_messages,
    script_messages,
)
from .results import ResultStore, Run, StageUsage

__all__ = ["AIPipeline", "StageFailed", "AI_STAGES"]

AI_STAGES = (Stage.PROFILE_ANALYSIS, Stage.HOOK_ANALYSIS, Stage.HOOK_GENERATION, Stage.SCRIPT_WRITING)
_KEYS = {
    Stage.PROFILE_ANALYSIS: "profile_analysis",
    Stage.HOOK_ANALYSIS: "hook_analysis",
    Stage.HOOK_GENERATION: "hook_generation",
    Stage.SCRIPT_WRITING: "script_writing",
}
OnStage = Callable[[Stage, int], Awaitable[None]]


class StageFailed(Exception):
    """An AI stage could not produce valid output; the message names the stage."""

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        self.stage = stage
        detail = cause.detail if isinstance(cause, ProviderError) else str(cause)
        super().__init__(f"AI stage '{stage.value}' failed: {detail}")


def _usage(result: AIResult[Any]) -> StageUsage:
    return StageUsage(
        calls=result.attempts,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        cost_usd=result.cost_usd,
    )


@dataclass
class AIInputs:
    strategy: ContentStrategy
    profile: ProfileContext
    primary_reels: list[ReelContext]
    competitor_reels: list[ReelContext]
    hooks: int


class AIPipeline:
    def __init__(
        self,
        ai: AIProvider,
        results: ResultStore,
        run: Run,
        inputs: AIInputs,
        *,
        boundary: Callable[[], Awaitable[None]] | None = None,
        on_stage: OnStage | None = None,
    ) -> None:
        self.ai = ai
        self.results = results
        self.run_row = run
        self.inputs = inputs
        self.boundary = boundary
        self.on_stage = on_stage

    async def run(self) -> None:
        """Run the stages that have no checkpoint yet, in order."""
        analysis = await self._stage(Stage.PROFILE_ANALYSIS, 1, self._profile_analysis)
        hooks = await self._stage(Stage.HOOK_ANALYSIS, 2, self._hook_analysis)
        generated = await self._stage(Stage.HOOK_GENERATION, 3, lambda: self._hook_generation(analysis, hooks))
        await self._stage(Stage.SCRIPT_WRITING, 4, lambda: self._scripts(analysis, generated))

    async def _stage(self, stage: Stage, number: int, work: Callable[[], Awaitable[Any]]) -> Any:
        if self.boundary is not None:
            await self.boundary()  # pause / stop are honoured between stages
        if self.on_stage is not None:
            await self.on_stage(stage, number)
        try:
            return await work()
        except AIOutputError as exc:
            await self._paid_for(stage, exc)
            raise StageFailed(stage, exc) from exc
        except ExceptionGroup as group:  # concurrent calls: report the first real failure
            first = group.exceptions[0]
            if isinstance(first, AIOutputError):
                for failure in group.exceptions:
                    await self._paid_for(stage, failure)
                raise StageFailed(stage, first) from first
            raise first from group

    async def _paid_for(self, stage: Stage, exc: BaseException) -> None:
        """Refused answers cost tokens too; record them when the provider reports their usage."""
        usage = getattr(exc, "usage", None)
        if isinstance(exc, AIOutputError) and usage is not None:
            await self.results.add_usage(
                self.run_row.id,
                _KEYS[stage],
                StageUsage(
                    calls=exc.attempts,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cost_usd=float(getattr(exc, "cost_usd", 0.0) or 0.0),
                ),
            )

    async def _ask(self, stage: Stage, messages: list[dict[str, Any]], schema: type[Any]) -> AIResult[Any]:
        return await self.ai.structured(_KEYS[stage], messages, schema)

    # ---------------------------------------------------------------------------- stages
    async def _profile_analysis(self) -> ProfileAnalysis:
        if self.run_row.profile_analysis is not None:
            return ProfileAnalysis.model_validate(self.run_row.profile_analysis)
        i = self.inputs
        result = await self._ask(
            Stage.PROFILE_ANALYSIS, profile_analysis_messages(i.profile, i.primary_reels, i.strategy), ProfileAnalysis
        )
        value = result.value.model_dump(mode="json")
        await self.results.save_stage(
            self.run_row.id, "profile_analysis", value, _KEYS[Stage.PROFILE_ANALYSIS], _usage(result)
        )
        self.run_row.profile_analysis = value
        return result.value

    async def _hook_analysis(self) -> dict[str, HookAnalysis]:
        """One call per reel, all at once; each answer is checkpointed as it arrives."""
        done = {code: HookAnalysis.model_validate(v) for code, v in self.run_row.hook_analysis.items()}
        todo = [r for r in self.inputs.primary_reels + self.inputs.competitor_reels if r.shortcode not in done]

        async def one(reel: ReelContext) -> None:
            result = await self._ask(
                Stage.HOOK_ANALYSIS,
                hook_analysis_messages(reel, self.inputs.strategy),
                hook_analysis_model(reel.shortcode),
            )
            value = HookAnalysis.model_validate(result.value.model_dump(mode="json"))
            await self.results.save_hook_analysis(
                self.run_row.id,
                reel.shortcode,
                value.model_dump(mode="json"),
                _KEYS[Stage.HOOK_ANALYSIS],
                _usage(result),
            )
            self.run_row.hook_analysis[reel.shortcode] = value.model_dump(mode="json")
            done[reel.shortcode] = value

        await _all(one(r) for r in todo)
        return done

    async def _hook_generation(self, analysis: ProfileAnalysis, hooks: dict[str, HookAnalysis]) -> list[GeneratedHook]:
        if self.run_row.generated_hooks is not None:
            return [GeneratedHook.model_validate(h) for h in self.run_row.generated_hooks["hooks"]]
        i = self.inputs
        sources = [(r, hooks[r.shortcode]) for r in i.competitor_reels]
        sources.sort(key=lambda pair: -pair[1].score)
        own = [hooks[r.shortcode] for r in i.primary_reels]
        schema = generated_hooks_model([r.shortcode for r, _ in sources], i.hooks)
        result = await self._ask(
            Stage.HOOK_GENERATION,
            hook_generation_messages(i.profile, analysis, sources, own, i.strategy, i.hooks),
            schema,
        )
        generated = [GeneratedHook.model_validate(h.model_dump(mode="json")) for h in result.value.hooks]
        value = {"hooks": [h.model_dump(mode="json") for h in generated]}
        await self.results.save_stage(
            self.run_row.id, "generated_hooks", value, _KEYS[Stage.HOOK_GENERATION], _usage(result)
        )
        self.run_row.generated_hooks = value
        return generated

    async def _scripts(self, analysis: ProfileAnalysis, hooks: list[GeneratedHook]) -> None:
        """One script per hook, concurrently; scripts already stored are not asked for again."""
        existing = {row["position"] for row in await self.results.scripts(self.run_row.id)}
        by_code = {r.shortcode: r for r in self.inputs.competitor_reels}

        async def one(position: int, hook: GeneratedHook) -> None:
            source = by_code[hook.source_shortcode]
            result = await self._ask(
                Stage.SCRIPT_WRITING,
                script_messages(self.inputs.profile, analysis, hook, source, self.inputs.strategy),
                script_model(source.shortcode, hook.hook_text),
            )
            await self.results.save_script(
                self.run_row,
                position,
                hook.model_dump(mode="json"),
                source.username,
                result.value.model_dump(mode="json"),
                _KEYS[Stage.SCRIPT_WRITING],
                _usage(result),
            )

        await _all(one(pos, hook) for pos, hook in enumerate(hooks, start=1) if pos not in existing)


async def _all(coros: Any) -> None:
    """Run concurrently; let every call finish (its answer is paid for and checkpointed), then raise."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise ExceptionGroup(
            "AI calls failed", [e for e in errors if isinstance(e, Exception)] or [RuntimeError(str(errors[0]))]
        )
