"""Each script is bound to the hook it was written for and to the length that was asked (stage 4)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from viral_kit import public_names

from viralspot_tui.core.runtime import Runtime
from viralspot_tui.core.viral import api
from viralspot_tui.core.viral.export import export_bundle
from viralspot_tui.core.viral.models import SCRIPT_SECONDS, script_model
from viralspot_tui.sim import Simulator

HOOK = "Stop doing this: it's costing you views"
BODY = {
    "source_shortcode": "ABCDEFGHIJK",
    "title": "Why your views stall",
    "sections": [{"label": "Setup", "text": "the mistake"}, {"label": "Fix", "text": "the fix"}],
    "call_to_action": "Follow for part two",
}


def test_the_script_schema_pins_the_hook_and_the_length() -> None:
    schema = script_model("ABCDEFGHIJK", HOOK).model_json_schema()
    assert schema["properties"]["hook"]["const"] == HOOK
    duration = schema["properties"]["estimated_duration_seconds"]
    assert (duration["minimum"], duration["maximum"]) == SCRIPT_SECONDS == (15, 90)


def test_the_same_hook_in_other_case_quotes_or_end_punctuation_is_accepted() -> None:
    model = script_model("ABCDEFGHIJK", HOOK)
    script = model.model_validate(
        {**BODY, "hook": "\u201cstop doing this: it\u2019s costing you views.\u201d", "estimated_duration_seconds": 45}
    )
    assert script.estimated_duration_seconds == 45


@pytest.mark.parametrize(
    "change, where",
    [
        ({"hook": "Another hook entirely", "estimated_duration_seconds": 40}, "hook"),
        ({"hook": HOOK, "estimated_duration_seconds": 176}, "estimated_duration_seconds"),
        ({"hook": HOOK, "estimated_duration_seconds": 5}, "estimated_duration_seconds"),
        ({"hook": HOOK, "estimated_duration_seconds": 40, "source_shortcode": "ZZZZZZZZZZZ"}, "source_shortcode"),
    ],
)
def test_a_script_for_another_hook_or_length_is_invalid_output(change: dict, where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        script_model("ABCDEFGHIJK", HOOK).model_validate({**BODY, **change})
    assert caught.value.errors()[0]["loc"][0] == where


async def test_every_exported_script_opens_with_its_own_hook(runtime: Runtime, sim: Simulator) -> None:
    names = public_names(sim, 3, "creator")
    job = await api.create_job(runtime, names[0], names[1:])
    outcome = await api.run_job_now(runtime, job.id)
    assert outcome.status.value == "completed", outcome.error
    bundle = await export_bundle(runtime, job.id)
    hooks = {h["position"]: h["hook_text"] for h in bundle["hooks"]}
    assert len(bundle["scripts"]) == len(hooks) == 5
    for body in bundle["scripts"]:
        assert body["hook"] == hooks[body["position"]], body  # hook N and script N's hook are one line
        assert SCRIPT_SECONDS[0] <= body["estimated_duration_seconds"] <= SCRIPT_SECONDS[1]
        assert "'S" not in body["title"] and "'T" not in body["title"]  # title case leaves apostrophes alone
