"""Where the settings come from: viralspot.toml < .env < environment < command-line flags.

:class:`viralspot_tui.config.Settings` is a plain pydantic model; this module gathers the one
dict it validates (docs/cli.md, "Configuration"). Every command pays for this on every start,
so it is small on purpose: pydantic-settings, which did it before, imports each source it has
(AWS, Azure, GCP, YAML, its CLI parser and argparse) whether used or not, about a tenth of
``queue add``'s whole start-up (docs/startup.md, measured by ``benchmarks/bench_startup.py``).
The rules are the ones it applied, kept so that no operator's configuration reads differently:

* A field is read from ``VIRALSPOT_<FIELD>``, or from its alias variables (``RAPIDAPI_KEY``, …)
  in the order declared. Names are matched in any case.
* A section or a table is read whole from ``VIRALSPOT_<FIELD>`` as JSON, and key by key from
  ``VIRALSPOT_<FIELD>__<KEY>`` (as a string, or as JSON where the key holds a list or a table);
  the key-by-key values win over the whole one. Unknown top-level variables are ignored (other
  tools share the prefix space), unknown keys of a known section are errors like any typo.
* ``.env`` in the working folder is read with python-dotenv by the same rules; only our names
  count, so a project's other variables there do no harm.
* The simulator's ``VIRALSPOT_SIM_*`` variables (:data:`viralspot_tui.config.SIM_VARIABLES`) are
  read from the environment only, below the nested ``VIRALSPOT_SIM__*`` spelling.
* Layers merge table by table: a value from a higher layer replaces the same key below it.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel

__all__ = ["SourceError", "gather", "read_variables", "merge"]

PREFIX = "VIRALSPOT_"
DELIMITER = "__"
_COMPLEX = (list, dict, set, frozenset, tuple)


class SourceError(ValueError):
    """A file or variable that could not be read; the message says which."""


def gather(
    model: type[BaseModel],
    *,
    toml_file: Path | None,
    dotenv_file: Path,
    environ: Mapping[str, str],
    sim_variables: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """The model's input, every layer merged by precedence (lowest first). ``toml_file`` None:
    ``viralspot.toml`` in the working folder, unless ``VIRALSPOT_CONFIG_FILE`` names another."""
    if toml_file is None:
        toml_file = Path(environ.get("VIRALSPOT_CONFIG_FILE") or "viralspot.toml")
    layers = [
        _read_toml(toml_file),
        read_variables(model, _read_dotenv(dotenv_file), where=str(dotenv_file)),
        _sim_layer(environ, sim_variables),
        read_variables(model, environ, where="environment"),
        dict(overrides),
    ]
    merged: dict[str, Any] = {}
    for layer in layers:
        merge(merged, layer)
    return merged


def merge(into: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``layer`` over ``into`` in place: tables key by key, anything else replaced."""
    for key, value in layer.items():
        below = into.get(key)
        if isinstance(below, dict) and isinstance(value, Mapping):
            merge(below, value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def read_variables(model: type[BaseModel], variables: Mapping[str, str], *, where: str) -> dict[str, Any]:
    """The model's fields found among ``variables`` (an environment or a .env file's pairs)."""
    lowered = {name.lower(): (name, value) for name, value in variables.items()}
    prefixed = {key: hit for key, hit in lowered.items() if key.startswith(PREFIX.lower())}
    found: dict[str, Any] = {}
    for field_name, field in model.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                hit = lowered.get(str(choice).lower())
                if hit is not None:
                    found[str(choice)] = _decode(hit, field.annotation, where)
                    break
            continue
        variable = (PREFIX + field_name).lower()
        if variable in lowered:
            found[field_name] = _decode(lowered[variable], field.annotation, where)
        nested = _nested(prefixed, variable + DELIMITER, field.annotation, where)
        if nested:
            whole = found.get(field_name)
            found[field_name] = merge(whole, nested) if isinstance(whole, dict) else nested
    return found


def _nested(lowered: Mapping[str, tuple[str, str]], start: str, annotation: Any, where: str) -> dict[str, Any]:
    """``VIRALSPOT_QUEUE__MAX_HIGH=4`` → ``{"max_high": "4"}`` (deeper keys make deeper tables)."""
    out: dict[str, Any] = {}
    for key, hit in lowered.items():
        if not key.startswith(start) or len(key) == len(start):
            continue
        parts = key[len(start) :].split(DELIMITER)
        table, target = out, annotation
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            target = _member(target, part)
        table[parts[-1]] = _decode(hit, _member(target, parts[-1]), where)
    return out


def _member(annotation: Any, key: str) -> Any:
    """The annotation of ``key`` inside a section model or a ``dict[str, X]`` (None: unknown)."""
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(key)
        return field.annotation if field is not None else None
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        return args[1] if len(args) == 2 else None
    return None


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _is_complex(annotation: Any) -> bool:
    """Values for lists, tables and sections come as JSON; scalars as the text itself."""
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return annotation in _COMPLEX or typing.get_origin(annotation) in _COMPLEX


def _decode(hit: tuple[str, str], annotation: Any, where: str) -> Any:
    name, value = hit
    if not _is_complex(annotation):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise SourceError(f"could not read {name} ({where}): this setting takes JSON, and {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"could not read the configuration file {path}: {exc}") from None


def _read_dotenv(path: Path) -> dict[str, str]:
    """The file's pairs; a name with no ``=value`` is left out, as the environment has no such thing."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # only when there is a .env: most runs have none

    try:
        return {k: v for k, v in dotenv_values(path).items() if v is not None}
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"could not read {path}: {exc}") from None


def _sim_layer(environ: Mapping[str, str], sim_variables: Mapping[str, str]) -> dict[str, Any]:
    values = {k: environ[v].strip() for k, v in sim_variables.items() if environ.get(v, "").strip()}
    return {"sim": values} if values else {}
