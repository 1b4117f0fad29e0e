"""What a host receives of each tool, kept small: compact schemas in ``tools/list`` and compact result text.

A tool's schemas come from pydantic and carry much a model never needs: a ``title`` per field that restates its
name, ``anyOf [X, null]`` with ``default: null`` for every optional argument, string length limits. The server
still validates every call against the full pydantic models (arguments before the call, results after it); the
*published* schemas are rewritten here:

- ``compact_input_schema``: no titles, an optional argument is its type alone (omitting it is how a model says
  "none"), no length or size limits on strings, lists and objects (a value over them is still refused, in one
  sentence), no ``null`` or ``false`` defaults, no ``type`` beside a string enum. Numeric bounds, enums,
  required lists, other defaults and every description stay.
- ``compact_output_schema``: a valid JSON Schema of the same results (hosts validate ``structuredContent``
  against it): each of the result's fields with its JSON type, without titles, descriptions, defaults,
  ``required`` or the shapes of nested objects: the result text explains itself.

``result_text`` is the text block a tool result is read as: the result's one-line summary, then the result as
compact JSON without empty values and without the field the summary already said.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

__all__ = [
    "MAX_RESULT_CHARS",
    "MAX_TOOLS",
    "MAX_VISIBLE_CHARS",
    "MAX_WHOLE_CHARS",
    "compact_input_schema",
    "compact_output_schema",
    "listing_size",
    "result_text",
]

_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
"""Keywords whose value maps names (not keywords) to schemas."""


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _walk(schema: Any, drop: frozenset[str], *, optional_as_type: bool) -> Any:
    if isinstance(schema, list):
        return [_walk(item, drop, optional_as_type=optional_as_type) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in drop:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _walk(sub, drop, optional_as_type=optional_as_type) for name, sub in value.items()}
        elif key in ("default", "examples", "enum", "const"):
            out[key] = value
        else:
            out[key] = _walk(value, drop, optional_as_type=optional_as_type)
    if optional_as_type and "default" in out and (out["default"] is None or out["default"] is False):
        del out["default"]  # an omitted argument is null or false: the model need not be told
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    if optional_as_type and isinstance(out.get("enum"), list) and out.get("type") == "string":
        del out["type"]  # the enum's values say it
    options = out.get("anyOf")
    if isinstance(options, list) and any(_is_null(o) for o in options):
        rest = [o for o in options if not _is_null(o)]
        if optional_as_type and len(rest) == 1:
            del out["anyOf"]
            out = {**rest[0], **out}
        elif not optional_as_type and len(rest) == 1 and isinstance(rest[0].get("type"), str):
            del out["anyOf"]
            out = {**rest[0], **out, "type": [rest[0]["type"], "null"]}
    return out


_INPUT_DROPS = frozenset({"title", "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"})


def compact_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The published form of a tool's argument schema (see the module docstring)."""
    compacted: dict[str, Any] = _walk(schema, _INPUT_DROPS, optional_as_type=True)
    return compacted


def _has_ref(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "$ref" in schema or any(_has_ref(v) for v in schema.values())
    return isinstance(schema, list) and any(_has_ref(v) for v in schema)


def _types(schema: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        return ["object"]
    if "anyOf" in schema:
        return sorted({t for option in schema["anyOf"] if isinstance(option, dict) for t in _types(option)})
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else [str(k) for k in kind] if isinstance(kind, list) else []


def _shallow(schema: Any) -> Any:
    """A field's schema, or its JSON type alone when it holds objects of a nested model."""
    if not isinstance(schema, dict) or not _has_ref(schema):
        return schema
    types = _types(schema)
    return {"type": types[0] if len(types) == 1 else types} if types else {}


def compact_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The published form of a tool's result schema: still a valid schema of every result (see the docstring).

    The result's own fields keep their JSON types (and enums); what an object or a list holds is the text's to
    tell, so nested shapes are not published.
    """
    compacted: dict[str, Any] = _walk(
        schema,
        frozenset({"title", "description", "default", "required", "additionalProperties", "maxLength", "minLength"}),
        optional_as_type=False,
    )
    compacted.pop("$defs", None)
    properties = compacted.get("properties")
    if isinstance(properties, dict):
        compacted["properties"] = {name: _shallow(sub) for name, sub in properties.items()}
    return compacted


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != [] and v != {} and v != ""}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def result_text(result: BaseModel, summary: str, *, said: str | None = None) -> str:
    """The text block of a tool result: ``summary``, then the result as compact JSON without empty values and
    without the field ``said`` (the one the summary line already gives)."""
    data = result.model_dump(mode="json", by_alias=True, exclude={said} if said else None)
    body = json.dumps(_prune(data), ensure_ascii=False, separators=(",", ":"))
    return summary if body == "{}" else f"{summary}\n{body}"


MAX_TOOLS = 24
"""At most this many tools."""
MAX_VISIBLE_CHARS = 16_000
"""At most this many characters of what a model reads of ``tools/list``: names, descriptions, input schemas."""
MAX_WHOLE_CHARS = 40_000
"""At most this many characters of the whole ``tools/list`` a host receives (output schemas, annotations too)."""
MAX_RESULT_CHARS = 8_000
"""No tool result's text is longer by default; longer data pages with a cursor."""


def listing_size(tools: list[dict[str, Any]]) -> tuple[int, int]:
    """``(visible, whole)``: the compact-JSON characters of the model-visible part of a ``tools/list`` (each
    tool's name, description and input schema) and of the whole listing, tools given in wire form."""
    visible = [{k: t[k] for k in ("name", "description", "inputSchema") if k in t} for t in tools]
    return _chars(visible), _chars(tools)


def _chars(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
