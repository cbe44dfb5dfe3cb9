"""An OpenAI-compatible ``/v1/chat/completions`` that answers with schema-valid JSON.

The Viral Ideas pipeline talks to the model only through the official ``openai`` SDK and
validates structured output with pydantic; pointing the SDK at this endpoint runs the real
code path offline. Answers are deterministic for the same request (seeded from its bytes). The
pipeline's own stage schemas get answers that read like a model's (see :mod:`.ai_text`); any
other schema gets generic schema-valid text made of the prompt's words. Either can be made
*wrong on purpose* (``invalid_output``) so the pipeline's validate-and-retry logic is tested
against output that parses but does not fit the schema.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .ai_text import pipeline_answer
from .hashing import rng, stable_digest
from .schema_fill import SchemaError, SchemaFiller, extract_shortcodes, extract_usernames, extract_vocabulary
from .wire import SimResponse, dumps

__all__ = ["ChatRequestError", "chat_key", "complete", "openai_error"]


class ChatRequestError(ValueError):
    """A request OpenAI would refuse with 400."""


def openai_error(
    status: int, message: str, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> SimResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return SimResponse(status, dumps(body))


def _message_text(messages: list[Any]) -> str:
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise ChatRequestError("each message must be an object with a 'role'")
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


def _schema_of(response_format: Any) -> tuple[str, dict[str, Any] | None]:
    """("json_schema", schema) | ("json_object", None) | ("text", None)."""
    if response_format is None:
        return "text", None
    if not isinstance(response_format, dict):
        raise ChatRequestError("response_format must be an object")
    kind = response_format.get("type", "text")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ChatRequestError("response_format.json_schema.schema is required")
        return kind, spec["schema"]
    if kind in ("json_object", "text"):
        return kind, None
    raise ChatRequestError(f"unsupported response_format type {kind!r}")


def chat_key(payload: Any) -> tuple[str, str]:
    """(key, detail) for stats and fault matching: the schema name and the model."""
    if not isinstance(payload, dict):
        return "", ""
    rf = payload.get("response_format")
    name = ""
    if isinstance(rf, dict):
        spec = rf.get("json_schema")
        name = str(spec.get("name", "")) if isinstance(spec, dict) else str(rf.get("type", ""))
    return name, str(payload.get("model", ""))


def _break_schema(value: Any, schema: dict[str, Any], filler: SchemaFiller) -> Any:
    """Valid JSON that violates the schema: drop a required field, or change the top type."""
    root = filler.resolve(schema)
    required = root.get("required") or []
    if isinstance(value, dict) and required:
        broken = dict(value)
        broken.pop(required[0], None)
        return broken
    return ["not", "the", "requested", "shape"] if not isinstance(value, list) else {"unexpected": True}


def complete(payload: Any, seed: int, now: datetime, invalid: bool = False) -> SimResponse:
    """Answer one chat completion request body (already parsed JSON)."""
    if not isinstance(payload, dict):
        raise ChatRequestError("request body must be a JSON object")
    model = payload.get("model")
    messages = payload.get("messages")
    if not isinstance(model, str) or not model:
        raise ChatRequestError("you must provide a model parameter")
    if not isinstance(messages, list) or not messages:
        raise ChatRequestError("messages must be a non-empty array")
    if payload.get("stream"):
        raise ChatRequestError("the simulator does not stream; call without stream=true")
    text = _message_text(messages)
    kind, schema = _schema_of(payload.get("response_format"))
    canonical = json.dumps(
        {"model": model, "messages": messages, "response_format": payload.get("response_format")},
        sort_keys=True,
        separators=(",", ":"),
    )
    rnd = rng(seed, "chat", canonical)
    vocab = extract_vocabulary(text)
    filler = SchemaFiller(schema or {}, vocab, extract_shortcodes(text), extract_usernames(text), rnd)
    if kind == "json_schema" and schema is not None:
        try:
            value = pipeline_answer(schema, text, rnd, filler)
            if value is None:
                value = filler.fill()
        except SchemaError as exc:
            raise ChatRequestError(f"Invalid schema for response_format: {exc}") from exc
        if invalid:
            value = _break_schema(value, schema, filler)
        content = json.dumps(value, ensure_ascii=False)
    elif kind == "json_object":
        value = {
            "summary": " ".join(rnd.choice(vocab) for _ in range(14)).capitalize() + ".",
            "keywords": rnd.sample(vocab, min(5, len(vocab))),
        }
        content = json.dumps(["unexpected"] if invalid else value, ensure_ascii=False)
    else:
        content = " ".join(rnd.choice(vocab) for _ in range(40)).capitalize() + "."
    prompt_tokens = max(1, len(text) // 4)
    completion_tokens = max(1, len(content) // 4)
    body = {
        "id": "chatcmpl-" + stable_digest(seed, "chatid", canonical).hex()[:24],
        "object": "chat.completion",
        "created": int(now.timestamp()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_viralspot_sim",
    }
    return SimResponse(200, dumps(body))
