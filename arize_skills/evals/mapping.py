"""Reading template variables out of records: span attribute paths and example / run columns.

A ``column_mappings`` value is a dotted path. On a span it names a fixed column (``name``, ``span_kind``,
``status_code``, ``status_message``, ``latency_ms``, ``start_time``, ``end_time``, ``context.span_id``,
``context.trace_id``, ``parent_id``), an attribute (``attributes.<key>``, or the bare OpenInference key such as
``input.value``) or span metadata (``metadata.<key>``, which is ``attributes.metadata.<key>``). On a dataset
example or an experiment run it names a column (``output``, ``example_id``, an example field...).

Spans keep their attributes flat, keyed exactly as OpenInference sent them (``llm.input_messages.0.message.role``),
so a path is looked up the way the filter language reads ``attributes.*`` (``engine/query/columns.py``), and a
mapping and a filter on the same path agree:

1. the whole dotted path as one key;
2. else the longest leading part that is a key holding a JSON object, array or JSON-encoded string, with the rest
   of the path looked up inside it (by these same rules; numeric segments index arrays);
3. else the value rebuilt from the flat keys under the path: ``attributes.llm.input_messages`` is the list of
   messages kept as ``llm.input_messages.<i>.message.<field>`` keys. A rebuilt list item drops OpenInference's
   one-key wrapper (``{"role": "user", "content": "hi"}``, not ``{"message": {...}}``).

A non-numeric segment applied to a list reads that field of every item and gives the list of values found, so
``attributes.retrieval.documents.contents`` is the list of ``retrieval.documents.<i>.document.content`` values:
the field may be the per-item key's whole suffix (``document.content``), its last segment (``content``), or that
with a trailing ``s`` (``contents``). Absent keys and JSON nulls are ``MISSING``, never an empty string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

from ..models._base import iso

if TYPE_CHECKING:
    from ..models.spans import Span

__all__ = ["MISSING", "Missing", "SpanView", "as_text", "record_value", "span_value"]


class Missing(Enum):
    """The type of ``MISSING``: a path that names no value."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing.MISSING
"""Returned by ``span_value`` / ``record_value`` when a path names no value (absent key or JSON null)."""


@dataclass
class SpanView:
    """What the runner loads per span: the fixed columns and the flat OpenInference attributes as stored."""

    span_id: str
    trace_id: str
    parent_id: str | None
    name: str
    kind: str
    status_code: str
    status_message: str | None
    start_time: str
    end_time: str
    latency_ms: float
    attributes: Mapping[str, Any]


def span_latency_ms(span: Span) -> float | None:
    """A listed span's latency: ``latency_ms`` when the backend sends it (AX's schema lacks it), else end - start."""
    if span.latency_ms is not None:
        return span.latency_ms
    if span.end_time is None:
        return None
    return round((span.end_time - span.start_time).total_seconds() * 1000, 3)


def span_view_of(span: Span) -> SpanView:
    """A span as listed by ``POST /v2/spans``, in the shape the path rules read."""
    return SpanView(
        span_id=span.context.span_id,
        trace_id=span.context.trace_id,
        parent_id=span.parent_id,
        name=span.name,
        kind=span.kind,
        status_code=span.status_code,
        status_message=span.status_message,
        start_time=iso(span.start_time),
        end_time=iso(span.end_time) if span.end_time is not None else "",
        latency_ms=span_latency_ms(span) or 0.0,
        attributes=span.attributes,
    )


_FIXED = {
    "name": "name",
    "span_kind": "kind",
    "kind": "kind",
    "status_code": "status_code",
    "status_message": "status_message",
    "latency_ms": "latency_ms",
    "start_time": "start_time",
    "end_time": "end_time",
    "context.span_id": "span_id",
    "context.trace_id": "trace_id",
    "parent_id": "parent_id",
}
_ATTRIBUTES = "attributes."
_METADATA = "metadata."
_DATASET = "dataset."


def span_value(span: SpanView, path: str) -> Any:
    """The value at ``path`` in a span, or ``MISSING``.

    ``path`` is a fixed column, ``attributes.<key>``, ``metadata.<key>`` or a bare attribute key (``input.value``),
    read by the rules in this module's docstring. Values come back as stored: strings, numbers, booleans, or the
    lists and dicts found or rebuilt.
    """
    path = path.strip()
    column = _FIXED.get(path)
    if column is not None:
        value = getattr(span, column)
        return MISSING if value is None or (value == "" and column in ("parent_id", "status_message")) else value
    attributes = span.attributes
    if path.startswith(_ATTRIBUTES) and len(path) > len(_ATTRIBUTES):
        found = _lookup_mapping(attributes, path[len(_ATTRIBUTES) :].split("."))
        if found is not MISSING:
            return found
    elif path.startswith(_METADATA) and len(path) > len(_METADATA):
        found = _lookup_mapping(attributes, ["metadata", *path[len(_METADATA) :].split(".")])
        if found is not MISSING:
            return found
    return _lookup_mapping(attributes, path.split(".")) if path else MISSING


def record_value(columns: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` among a dataset example's or experiment run's columns, or ``MISSING``.

    ``columns`` is one flat mapping (a run's ``output``, ``example_id`` and extra fields, with its example's columns
    merged in by the caller). The path is read by this module's rules, so ``output.answer`` reads a field of a JSON
    ``output``. ``dataset.<column>`` (the Mustache form ``{{dataset.col}}``) falls back to ``<column>``.
    """
    path = path.strip()
    if not path:
        return MISSING
    found = _lookup_mapping(columns, path.split("."))
    if found is MISSING and path.startswith(_DATASET) and len(path) > len(_DATASET):
        found = _lookup_mapping(columns, path[len(_DATASET) :].split("."))
    return found


def as_text(value: Any) -> str:
    """A value as it goes into a prompt.

    Strings as they are; integers and floats as Python writes them (``3``, ``0.25``); booleans as ``true`` /
    ``false``; ``None`` as ``null``. A list of chat messages (dicts with a ``role``, in any OpenInference or
    OpenAI shape; a single message too) becomes one ``role: content`` line per message, the way a transcript reads,
    with tool calls as ``[tool calls: name(arguments)]``; any other list or dict becomes compact JSON with
    non-ASCII text kept as is.

    Raises:
        ValueError: for ``MISSING``: a missing value must be reported, never rendered as empty text.
    """
    if value is MISSING:
        raise ValueError("as_text() got MISSING: report the missing value instead of rendering it")
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | Mapping):
        transcript = _transcript(value if isinstance(value, list | tuple) else [value])
        if transcript is not None:
            return transcript
    return _json(value)


# --- lookup ------------------------------------------------------------------------------------------------------


class _Branch(dict[str, Any]):
    """A node of a tree rebuilt from flat keys (told apart from attribute values that are dicts themselves)."""


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()


def _container(value: Any) -> Any:
    """``value`` if it is a dict or list, the parsed JSON if it is a JSON-encoded object or array, else None."""
    if isinstance(value, Mapping | list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return None
            if isinstance(parsed, dict | list):
                return parsed
    return None


def _lookup(value: Any, keys: Sequence[str]) -> Any:
    if not keys:
        return MISSING if value is None else value
    container = _container(value)
    if isinstance(container, Mapping):
        return _lookup_mapping(container, keys)
    if isinstance(container, list):
        return _lookup_list(container, keys)
    return MISSING


def _lookup_mapping(mapping: Mapping[str, Any], keys: Sequence[str]) -> Any:
    whole = mapping.get(".".join(keys))
    if whole is not None:
        return whole
    for split in range(len(keys) - 1, 0, -1):
        head = mapping.get(".".join(keys[:split]))
        if head is not None:
            found = _lookup(head, keys[split:])
            if found is not MISSING:
                return found
    for split in range(len(keys), 0, -1):
        tree = _subtree(mapping, ".".join(keys[:split]))
        if tree is None:
            continue
        rest = keys[split:]
        # A prefix ending in an index names one list item, read like the items of a rebuilt list.
        item = _is_index(keys[split - 1])
        if not rest:
            return _present(_unwrapped(tree) if item else tree)
        found = _item_lookup(tree, rest) if item else _lookup(tree, rest)
        if found is not MISSING:
            return _present(found)
    return MISSING


def _lookup_list(items: list[Any], keys: Sequence[str]) -> Any:
    head = keys[0]
    if _is_index(head):
        index = int(head)
        return _item_lookup(items[index], keys[1:]) if index < len(items) else MISSING
    found = [value for item in items if (value := _item_field(item, keys)) is not MISSING]
    return found or MISSING


def _wrapped(item: Any) -> Any:
    """The inside of an OpenInference one-key list item (``{"message": {...}}``), or None."""
    if isinstance(item, Mapping) and len(item) == 1:
        inner = next(iter(item.values()))
        if isinstance(inner, Mapping):
            return inner
    return None


def _unwrapped(item: Any) -> Any:
    inner = _wrapped(item)
    return item if inner is None else inner


def _item_lookup(item: Any, keys: Sequence[str]) -> Any:
    found = _lookup(item, keys)
    if found is MISSING and keys:
        inner = _wrapped(item)
        if inner is not None:
            found = _lookup(inner, keys)
    return found


def _suffix_key(item: Any, keys: Sequence[str]) -> Any:
    """The one value of a flat-keyed item whose key ends with ``.<keys>`` (``document.content`` for ``content``)."""
    if not isinstance(item, Mapping):
        return MISSING
    ending = "." + ".".join(keys)
    matches = [value for key, value in item.items() if isinstance(key, str) and key.endswith(ending)]
    return matches[0] if len(matches) == 1 and matches[0] is not None else MISSING


def _item_field(item: Any, keys: Sequence[str]) -> Any:
    candidates = [keys]
    last = keys[-1]
    if len(last) > 1 and last.endswith("s"):
        candidates.append([*keys[:-1], last[:-1]])
    for candidate in candidates:
        found = _item_lookup(item, candidate)
        if found is MISSING:
            found = _suffix_key(item, candidate)
        if found is not MISSING:
            return found
    return MISSING


def _subtree(mapping: Mapping[str, Any], prefix: str) -> Any:
    """The nested value rebuilt from the flat keys under ``prefix.`` (lists where every key is an index), or None."""
    start = prefix + "."
    root = _Branch()
    for key, value in mapping.items():
        if value is None or not key.startswith(start):
            continue
        node = root
        *parents, leaf = key[len(start) :].split(".")
        for part in parents:
            child = node.setdefault(part, _Branch())
            if not isinstance(child, _Branch):
                break
            node = child
        else:
            node.setdefault(leaf, value)
    return _finish(root) if root else None


def _finish(node: Any) -> Any:
    if not isinstance(node, _Branch):
        return node
    if all(_is_index(key) for key in node):
        return [_finish(node[key]) for key in sorted(node, key=int)]
    return {key: _finish(child) for key, child in node.items()}


def _present(value: Any) -> Any:
    """A rebuilt value as callers see it: list items without their one-key wrapper, all the way down."""
    if isinstance(value, list):
        return [_present(inner if (inner := _wrapped(item)) is not None else item) for item in value]
    if isinstance(value, dict):
        return {key: _present(child) for key, child in value.items()}
    return value


# --- text --------------------------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _field(item: Mapping[str, Any], *paths: str) -> Any:
    for path in paths:
        found = _item_lookup(item, path.split("."))
        if found is not MISSING:
            return found
    return MISSING


def _message(item: Any) -> Mapping[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    role = _field(item, "role", "message.role")
    return item if isinstance(role, str) and role else None


def _content_text(content: Any) -> str:
    if content is MISSING or content is None:
        return ""
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            text = _field(part, "text", "message_content.text") if isinstance(part, Mapping) else part
            parts.append(as_text(part if text is MISSING else text))
        return "\n".join(parts)
    return as_text(content)


def _tool_calls_text(calls: Any) -> str:
    if not isinstance(calls, list):
        return ""
    rendered: list[str] = []
    for call in calls:
        if not isinstance(call, Mapping):
            continue
        name = _field(call, "function.name", "tool_call.function.name", "name")
        arguments = _field(call, "function.arguments", "tool_call.function.arguments", "arguments")
        args = "" if arguments is MISSING else as_text(arguments)
        rendered.append(f"{as_text('?' if name is MISSING else name)}({args})")
    return f"[tool calls: {', '.join(rendered)}]" if rendered else ""


def _transcript(items: Sequence[Any]) -> str | None:
    """``role: content`` lines when every item is a chat message, else None."""
    messages = [message for item in items if (message := _message(item)) is not None]
    if not messages or len(messages) != len(items):
        return None
    lines: list[str] = []
    for message in messages:
        role = _field(message, "role", "message.role")
        content = _content_text(_field(message, "content", "message.content", "contents", "message.contents"))
        calls = _tool_calls_text(_field(message, "tool_calls", "message.tool_calls"))
        body = " ".join(part for part in (content, calls) if part)
        lines.append(f"{role}: {body}" if body else f"{role}:")
    return "\n".join(lines)
