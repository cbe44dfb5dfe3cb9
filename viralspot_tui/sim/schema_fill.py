"""Generate a JSON value that satisfies a JSON Schema, with text taken from a conversation.

The AI pipeline validates every stage's output against a pydantic model; to exercise that code
offline the chat simulator must answer *any* schema the pipeline sends — including the forms
pydantic and the openai SDK emit: ``$ref``/``$defs``, ``anyOf`` with ``null`` for optional
fields, enums, bounded arrays and numbers. Text is drawn from the words of the request so the
answer reads on-topic, and string properties named like ``*shortcode*`` take the shortcodes
the prompt cited (``shortcode=XXXXXXXXXXX``), rotating by array index, so generated hooks name
real source reels.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from .hashing import SHORTCODE_ALPHABET
from .hooks import title_case
from .words import STOPWORDS

__all__ = ["SchemaError", "SchemaFiller", "extract_shortcodes", "extract_usernames", "extract_vocabulary"]

_SHORTCODE_RE = re.compile(r"shortcode\s*[=:]\s*([A-Za-z0-9_-]{11})(?![A-Za-z0-9_-])")
_USERNAME_RE = re.compile(r"(?:@|username\s*[=:]\s*)([a-z0-9._]{1,30})(?![a-z0-9_])")
_URL_RE = re.compile(r"https?://\S+")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_FALLBACK_WORDS = ("content", "creator", "audience", "story", "hook", "video", "idea", "growth", "format")
_SHORT_TEXT = (
    "name",
    "title",
    "label",
    "type",
    "category",
    "tone",
    "voice",
    "theme",
    "hook",
    "keyword",
    "word",
    "topic",
    "format",
    "style",
    "niche",
    "tag",
)
_MAX_DEPTH = 12


class SchemaError(ValueError):
    """The schema cannot be satisfied or understood (bad $ref, contradictory bounds)."""


def extract_shortcodes(text: str) -> list[str]:
    return list(dict.fromkeys(_SHORTCODE_RE.findall(text)))


def extract_usernames(text: str) -> list[str]:
    return [u for u in dict.fromkeys(_USERNAME_RE.findall(text)) if not u.startswith(".")]


def extract_vocabulary(text: str, limit: int = 300) -> list[str]:
    """Distinct content words in order of first use; stopwords and schema jargon removed."""
    text = _URL_RE.sub(" ", _SHORTCODE_RE.sub(" ", text))  # codes and links are not vocabulary
    words = (w.lower().strip("'-") for w in _WORD_RE.findall(text))
    vocab = [w for w in dict.fromkeys(words) if len(w) > 2 and w not in STOPWORDS]
    return vocab[:limit] or list(_FALLBACK_WORDS)


class SchemaFiller:
    """Fills one root schema; all choices come from ``rnd`` so equal requests get equal answers."""

    def __init__(
        self,
        schema: dict[str, Any],
        vocabulary: list[str],
        shortcodes: list[str],
        usernames: list[str],
        rnd: random.Random,
    ) -> None:
        self._root = schema
        self._vocab = vocabulary or list(_FALLBACK_WORDS)
        self._shortcodes = shortcodes
        self._usernames = usernames
        self._rnd = rnd

    def fill(self) -> Any:
        return self._value(self._root, "", 0, 0)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` (local JSON pointers) and merge ``allOf``; siblings of ``$ref`` win."""
        seen = 0
        while "$ref" in schema:
            seen += 1
            if seen > _MAX_DEPTH:
                raise SchemaError("cyclic $ref")
            target = self._pointer(schema["$ref"])
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *part.get("required", [])]))
                for k, v in part.items():
                    if k not in ("properties", "required"):
                        merged.setdefault(k, v)
            schema = merged
        return schema

    def _pointer(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise SchemaError(f"only local $ref is supported, got {ref!r}")
        node: Any = self._root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"unresolvable $ref {ref!r}")
            node = node[part]
        if not isinstance(node, dict):
            raise SchemaError(f"$ref {ref!r} does not point at a schema")
        return node

    # ------------------------------------------------------------------ values
    def _value(self, schema: Any, name: str, index: int, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaError("schema nests too deeply")
        if schema is True or schema == {}:
            return self._text(name, index, {})
        if not isinstance(schema, dict):
            raise SchemaError(f"not a schema: {schema!r}")
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = [o for o in schema["enum"] if o is not None] or schema["enum"]
            return options[(self._rnd.randrange(len(options)) + index) % len(options)]
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                options = [self.resolve(o) for o in schema[combinator]]
                concrete = [o for o in options if o.get("type") != "null"]
                if not concrete:
                    return None
                base = {k: v for k, v in schema.items() if k != combinator}
                return self._value({**base, **concrete[0]}, name, index, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, name, index, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._text(name, index, schema)
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            return self._number(schema, name)
        if kind == "boolean":
            return self._rnd.random() < 0.5
        if kind == "null":
            return None
        raise SchemaError(f"unsupported type {kind!r}")

    def _object(self, schema: dict[str, Any], name: str, index: int, depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        # Fill every declared property: strict structured output requires all of them, and
        # optional ones exercise the client's handling of present values.
        result = {key: self._value(sub, key, index, depth + 1) for key, sub in props.items()}
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict):
            for word in self._rnd.sample(self._vocab, min(2, len(self._vocab))):
                result[word] = self._value(extra, word, index, depth + 1)
        return result

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, 3)
        if high is not None:
            count = min(count, int(high))
        if high is not None and int(high) < low:
            raise SchemaError(f"{name or 'array'}: maxItems < minItems")
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {})
        values = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            values.append(self._value(sub, name, i, depth + 1))
        if schema.get("uniqueItems") and len({repr(v) for v in values}) != len(values):
            values = [f"{v} {i + 1}" if isinstance(v, str) else v for i, v in enumerate(values)]
        return values

    def _text(self, name: str, index: int, schema: dict[str, Any]) -> str:
        lname = name.lower()
        fmt = schema.get("format")
        if "shortcode" in lname:
            if self._shortcodes:
                return self._shortcodes[index % len(self._shortcodes)]
            return "".join(self._rnd.choice(SHORTCODE_ALPHABET) for _ in range(11))
        if ("username" in lname or lname == "handle") and self._usernames:
            return self._usernames[index % len(self._usernames)]
        if fmt == "date-time":
            return f"2025-{self._rnd.randint(1, 12):02d}-{self._rnd.randint(1, 28):02d}T12:00:00Z"
        if fmt == "date":
            return f"2025-{self._rnd.randint(1, 12):02d}-{self._rnd.randint(1, 28):02d}"
        if fmt in ("uri", "url") or lname.endswith("url"):
            return f"https://example.com/{self._rnd.choice(self._vocab)}"
        if fmt == "email":
            return f"{self._rnd.choice(self._vocab)}@example.com"
        if fmt == "uuid":
            return "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}".format(
                *tuple(self._rnd.getrandbits(b) for b in (32, 16, 12, 12, 48))
            )
        short = any(part in lname for part in _SHORT_TEXT)
        n_words = self._rnd.randint(2, 5) if short else self._rnd.randint(10, 22)
        words = [self._rnd.choice(self._vocab) for _ in range(n_words)]
        text = " ".join(words)
        text = title_case(text) if short else text[:1].upper() + text[1:] + "."
        min_len = int(schema.get("minLength", 0))
        while len(text) < min_len:
            text += " " + self._rnd.choice(self._vocab)
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])].rstrip() or text[: int(schema["maxLength"])]
        return text

    def _bounds(self, schema: dict[str, Any], name: str, step: float) -> tuple[float, float]:
        lname = name.lower()
        if "score" in lname or "rating" in lname:
            default = (1.0, 10.0)
        elif "duration" in lname or "second" in lname:
            default = (15.0, 60.0)
        elif "percent" in lname or "probability" in lname or "confidence" in lname:
            default = (0.0, 1.0) if step != 1 else (0.0, 100.0)
        else:
            default = (1.0, 100.0)
        low = schema.get("minimum", None)
        high = schema.get("maximum", None)
        if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
            low = schema["exclusiveMinimum"] + step
        if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
            high = schema["exclusiveMaximum"] - step
        if low is None and high is None:
            low, high = default
        elif low is None:
            low = min(default[0], high)  # type: ignore[type-var]
        elif high is None:
            high = max(default[1], low)
        if low > high:  # type: ignore[operator]
            raise SchemaError(f"{name or 'number'}: minimum > maximum")
        return float(low), float(high)  # type: ignore[arg-type]

    def _integer(self, schema: dict[str, Any], name: str) -> int:
        low, high = self._bounds(schema, name, 1)
        lo, hi = math.ceil(low), math.floor(high)
        if lo > hi:
            raise SchemaError(f"{name or 'integer'}: no integer within bounds")
        value = self._rnd.randint(lo, hi)
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            candidate = (value // multiple) * multiple
            value = candidate if candidate >= lo else candidate + multiple
        return value

    def _number(self, schema: dict[str, Any], name: str) -> float:
        low, high = self._bounds(schema, name, 1e-6)
        value = round(self._rnd.uniform(low, high), 2)
        return min(max(value, low), high)
