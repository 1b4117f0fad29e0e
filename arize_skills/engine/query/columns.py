"""The meaning of filter columns: what each name reads, per table, and how literals compare with it.

All SQL here is written in code, never taken from the filter; values and JSON paths are bound parameters.

A resolver turns the dotted path of a filter column into a ``Column``: a SQL expression over the table's alias
(``s`` for spans, ``e`` for dataset examples, ``r`` for experiment runs), the parameters it binds (JSON paths,
evaluation and annotation names) and the kind of value it holds, which decides how literals compare with it.

Values kept in JSON documents (span attributes, span metadata, example fields, extra run fields, evaluation
metadata) are looked up by the whole dotted name as one flat key first (OpenInference attributes arrive flat:
``llm.output_messages.0.message.content``), then by the longest leading part that is a key holding a JSON object,
array or JSON-encoded string, with the rest of the path looked up inside it (numeric segments index arrays).

Comparison rules:

- Text columns compare as text, case-sensitively; a number literal compares with the number as written.
  ``span_kind`` and ``status_code`` hold upper-case codes, so their literals are upper-cased first.
- Number columns (``latency_ms``, ``eval.<n>.score``, ``annotation.<n>.score``) compare numerically; a string
  literal that spells a number is read as that number, any other string is an error.
- Time columns (``start_time``, ``end_time``, ``created_at``, ``updated_at``, ``annotation.<n>.updated_at``)
  compare with ISO-8601 string literals (date, or date and time; no zone means UTC).
- Values from JSON documents (``attributes.*``, ``metadata.*``, example and run fields, evaluation metadata) are
  typed per row. A number literal compares numerically with stored numbers and with stored strings that spell a
  JSON number (``"1200"``, not ``"007"``). A string literal compares as text with stored strings, and
  numerically with stored numbers when it spells a number; ``<``, ``<=``, ``>``, ``>=`` compare numerically
  when both the stored string and the literal spell numbers. ``true`` / ``false`` match JSON booleans (and
  1 / 0) and the strings "true" / "false" in any case. A value of another type never equals the literal (so
  ``!=`` matches it).
- A missing value (absent key, JSON null, no evaluation or annotation of that name) satisfies only ``IS NULL``:
  SQL's three-valued logic, so ``NOT (x = 1)`` and ``x != 1`` do not match it either.
- ``LIKE`` uses SQL wildcards (``%`` any run, ``_`` one character) and is case-insensitive for ASCII letters
  (SQLite's default); it works on text, time-as-text and JSON values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

from ...errors import FilterError
from ...models._base import iso

__all__ = [
    "Column",
    "Fragment",
    "Literal",
    "Resolver",
    "Segment",
    "ValueKind",
    "compare_sql",
    "example_column",
    "in_list_sql",
    "json_value",
    "like_sql",
    "number_in_text",
    "run_column",
    "span_column",
    "sql_number",
]


class ValueKind(Enum):
    """How a column's values compare with literals."""

    TEXT = "text"
    """Text; a number literal compares with the number as written."""
    ENUM = "enum"
    """Upper-case text codes (``span_kind``, ``status_code``); literals are upper-cased."""
    NUMBER = "number"
    """Numbers; a string literal that spells a number is read as that number."""
    JSON = "json"
    """A value from a JSON document, typed per row (see the comparison rules above)."""
    TIME_NS = "time_ns"
    """Integer nanoseconds since the epoch, compared with ISO-8601 string literals."""
    TIME_ISO = "time_iso"
    """ISO-8601 UTC text with milliseconds and ``Z``, compared with ISO-8601 string literals."""


@dataclass(frozen=True)
class Segment:
    """One dot-separated part of a column path: its name, and where it starts and ends in the filter (0-based)."""

    name: str
    position: int
    end: int
    quoted: bool = False


@dataclass(frozen=True)
class Column:
    """A resolved column: SQL built from code, the parameters that SQL binds, and its value kind."""

    label: str
    sql: str
    params: tuple[Any, ...]
    kind: ValueKind


LiteralValue = str | int | float | bool
Fragment = tuple[str, list[Any]]


@dataclass(frozen=True)
class Literal:
    """A literal of a filter: ``str``, ``int``, ``float`` or ``bool``, with its source text and offset."""

    value: LiteralValue
    source: str
    position: int


Resolver = Callable[[Sequence[Segment], str], Column]
"""``resolver(segments, filter_text)`` → ``Column``, or ``FilterError`` pointing at the offending segment."""

_MAX_SEGMENTS = 32
_EVAL_FIELDS = {"label": ValueKind.TEXT, "score": ValueKind.NUMBER, "explanation": ValueKind.TEXT}
_ANNOTATION_FIELDS = {
    "label": ("an.label", ValueKind.TEXT),
    "score": ("an.score", ValueKind.NUMBER),
    "text": ("an.text", ValueKind.TEXT),
    "updated_by": ("COALESCE(an.annotator_email, an.annotator_id)", ValueKind.TEXT),
    "updated_at": ("an.updated_at", ValueKind.TIME_ISO),
}
_NOTES = "notes"

_SPAN_FIXED: dict[str, tuple[str, ValueKind]] = {
    "span_kind": ("s.kind", ValueKind.ENUM),
    "kind": ("s.kind", ValueKind.ENUM),
    "status_code": ("s.status_code", ValueKind.ENUM),
    "status_message": ("s.status_message", ValueKind.TEXT),
    "name": ("s.name", ValueKind.TEXT),
    "parent_id": ("NULLIF(s.parent_id, '')", ValueKind.TEXT),
    "latency_ms": ("s.latency_ms", ValueKind.NUMBER),
    "start_time": ("s.start_ns", ValueKind.TIME_NS),
    "end_time": ("s.end_ns", ValueKind.TIME_NS),
    "events": ("s.events", ValueKind.TEXT),
}
_SPAN_CONTEXT = {"trace_id": "s.trace_id", "span_id": "s.span_id"}
_SPAN_KEY = "s.project_num || ':' || s.span_id"
_SPAN_COLUMNS_HELP = (
    "span_kind, status_code, status_message, name, parent_id, latency_ms, start_time, end_time, events, "
    "context.trace_id, context.span_id, attributes.<key>, metadata.<key>, eval.<name>.<label|score|explanation>, "
    "annotation.<name>.<label|score|text|updated_by|updated_at> or annotation.notes"
)

_EXAMPLE_FIXED: dict[str, tuple[str, ValueKind]] = {
    "id": ("e.example_id", ValueKind.TEXT),
    "created_at": ("e.created_at", ValueKind.TIME_ISO),
    "updated_at": ("e.updated_at", ValueKind.TIME_ISO),
}
_RUN_FIXED: dict[str, tuple[str, ValueKind]] = {
    "id": ("r.run_id", ValueKind.TEXT),
    "output": ("r.output", ValueKind.TEXT),
    "example_id": ("r.example_id", ValueKind.TEXT),
    "error": ("r.error", ValueKind.TEXT),
}


def _label(segments: Sequence[Segment]) -> str:
    return ".".join(f'"{s.name}"' if s.quoted else s.name for s in segments)


def _check_keys(segments: Sequence[Segment], text: str) -> list[str]:
    if len(segments) > _MAX_SEGMENTS:
        raise FilterError(
            f"a column path may have at most {_MAX_SEGMENTS} parts",
            text=text,
            position=segments[_MAX_SEGMENTS].position,
        )
    for segment in segments:
        if '"' in segment.name:
            raise FilterError('a column name may not contain a double quote (")', text=text, position=segment.position)
    return [segment.name for segment in segments]


def _forms(key: str) -> tuple[str, str, str]:
    # SQLite (before 3.45) matches a path label against the key as escaped in the stored JSON text, and writers
    # differ (``ensure_ascii`` on or off), so a key with non-ASCII or escaped characters is tried in each form.
    return key, json.dumps(key, ensure_ascii=False)[1:-1], json.dumps(key)[1:-1]


def _path(keys: Sequence[str], form: int) -> str:
    return "$" + "".join(f"[{key}]" if key.isascii() and key.isdigit() else f'."{_forms(key)[form]}"' for key in keys)


def json_value(container: str, keys: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    """SQL reading ``keys`` (a dotted path) from the JSON document ``container``: flat key first, then nested."""
    candidates: list[str] = []
    params: list[Any] = []
    for split in range(len(keys), 0, -1):
        for head_label in dict.fromkeys(_forms(".".join(keys[:split]))):
            head = f'$."{head_label}"'
            if split == len(keys):
                candidates.append(f"json_extract({container}, ?)")
                params.append(head)
                continue
            inner = f"json_extract({container}, ?)"
            for rest in dict.fromkeys(_path(keys[split:], form) for form in range(3)):
                candidates.append(f"json_extract(CASE WHEN json_valid({inner}) THEN {inner} END, ?)")
                params.extend((head, head, rest))
    if len(candidates) == 1:
        return candidates[0], tuple(params)
    return f"COALESCE({', '.join(candidates)})", tuple(params)


def _needs_more(segments: Sequence[Segment], text: str, message: str) -> FilterError:
    return FilterError(message, text=text, position=segments[-1].end)


def _no_subfields(segments: Sequence[Segment], depth: int, text: str) -> None:
    if len(segments) > depth:
        raise FilterError(f"{_label(segments[:depth])} has no sub-fields", text=text, position=segments[depth].position)


def _eval_column(segments: Sequence[Segment], text: str, target_kind: str, key_sql: str) -> Column:
    if len(segments) < 3:
        wanted = "a field (label, score, explanation or metadata.<key>)" if len(segments) == 2 else "a name and a field"
        raise _needs_more(segments, text, f"{_label(segments)} needs {wanted}, e.g. eval.correctness.label")
    name, field = segments[1], segments[2]
    where = (
        f"FROM evaluations AS ev WHERE ev.target_kind = '{target_kind}' AND ev.target_key = {key_sql} AND ev.name = ?"
    )
    if field.name == "metadata":
        if len(segments) < 4:
            raise _needs_more(segments, text, f"{_label(segments)} needs a key, e.g. {_label(segments)}.model")
        value_sql, value_params = json_value("ev.metadata", _check_keys(segments[3:], text))
        return Column(_label(segments), f"(SELECT {value_sql} {where})", (*value_params, name.name), ValueKind.JSON)
    kind = _EVAL_FIELDS.get(field.name)
    if kind is None:
        raise FilterError(
            f"unknown evaluation field {field.name!r}; use label, score, explanation or metadata.<key>",
            text=text,
            position=field.position,
        )
    _no_subfields(segments, 3, text)
    return Column(_label(segments), f"(SELECT ev.{field.name} {where})", (name.name,), kind)


def _annotation_column(segments: Sequence[Segment], text: str, target_kind: str, key_sql: str) -> Column:
    if len(segments) == 2 and segments[1].name == _NOTES:
        field_sql, kind = _ANNOTATION_FIELDS["text"]
    else:
        if len(segments) < 3:
            wanted = "a field (label, score, text, updated_by or updated_at)" if len(segments) == 2 else "a name"
            raise _needs_more(
                segments,
                text,
                f"{_label(segments)} needs {wanted}, e.g. annotation.Correctness.label (or use annotation.notes)",
            )
        field = segments[2]
        found = _ANNOTATION_FIELDS.get(field.name)
        if found is None:
            raise FilterError(
                f"unknown annotation field {field.name!r}; use label, score, text, updated_by or updated_at",
                text=text,
                position=field.position,
            )
        field_sql, kind = found
        _no_subfields(segments, 3, text)
    sql = (
        f"(SELECT {field_sql} FROM annotations AS an WHERE an.target_kind = '{target_kind}'"
        f" AND an.target_key = {key_sql} AND an.name = ?"
        " ORDER BY an.granularity = 'SPAN' DESC, an.updated_at DESC LIMIT 1)"
    )
    return Column(_label(segments), sql, (segments[1].name,), kind)


def _fixed(segments: Sequence[Segment], text: str, fixed: dict[str, tuple[str, ValueKind]]) -> Column | None:
    found = fixed.get(segments[0].name)
    if found is None:
        return None
    _no_subfields(segments, 1, text)
    return Column(_label(segments), found[0], (), found[1])


def span_column(segments: Sequence[Segment], text: str) -> Column:
    """Resolve a column of a spans / traces filter (``spans AS s``)."""
    head = segments[0].name
    fixed = _fixed(segments, text, _SPAN_FIXED)
    if fixed is not None:
        return fixed
    if head == "context":
        if len(segments) < 2:
            raise _needs_more(segments, text, "context needs a field: context.trace_id or context.span_id")
        sql = _SPAN_CONTEXT.get(segments[1].name)
        if sql is None:
            raise FilterError(
                f"unknown context field {segments[1].name!r}; use context.trace_id or context.span_id",
                text=text,
                position=segments[1].position,
            )
        _no_subfields(segments, 2, text)
        return Column(_label(segments), sql, (), ValueKind.TEXT)
    if head in ("attributes", "metadata"):
        if len(segments) < 2:
            raise _needs_more(
                segments,
                text,
                f"{head} needs a key, e.g. {head}.{'llm.model_name' if head == 'attributes' else 'environment'}",
            )
        keys = _check_keys(segments[1:], text)
        if head == "metadata":
            keys = ["metadata", *keys]
        sql, params = json_value("s.attributes", keys)
        return Column(_label(segments), sql, params, ValueKind.JSON)
    if head == "eval":
        return _eval_column(segments, text, "span", _SPAN_KEY)
    if head == "annotation":
        return _annotation_column(segments, text, "span", _SPAN_KEY)
    raise FilterError(
        f"unknown column {_label(segments[:1])!r}; spans filters use {_SPAN_COLUMNS_HELP}",
        text=text,
        position=segments[0].position,
    )


def example_column(segments: Sequence[Segment], text: str) -> Column:
    """Resolve a column of a dataset example search filter (``dataset_examples AS e``).

    ``id``, ``created_at``, ``updated_at`` and ``annotation.<name>.<field>`` are fixed; any other name is a key
    of the example's own fields, the whole dotted name first (``attributes.input.value`` is usually one key).
    """
    fixed = _fixed(segments, text, _EXAMPLE_FIXED)
    if fixed is not None:
        return fixed
    if segments[0].name == "annotation" and not segments[0].quoted and len(segments) > 1:
        return _annotation_column(segments, text, "example", "e.example_id")
    sql, params = json_value("e.data", _check_keys(segments, text))
    return Column(_label(segments), sql, params, ValueKind.JSON)


def run_column(segments: Sequence[Segment], text: str) -> Column:
    """Resolve a column of an experiment run search filter (``experiment_runs AS r``).

    ``id``, ``output``, ``example_id``, ``error``, ``eval.<name>.<field>`` (with ``eval.<name>.metadata.<key>``)
    and ``annotation.<name>.<field>`` are fixed; any other name is a key of the run's extra fields.
    """
    fixed = _fixed(segments, text, _RUN_FIXED)
    if fixed is not None:
        return fixed
    head = segments[0]
    if head.name == "eval" and not head.quoted and len(segments) > 1:
        return _eval_column(segments, text, "run", "r.run_id")
    if head.name == "annotation" and not head.quoted and len(segments) > 1:
        return _annotation_column(segments, text, "run", "r.run_id")
    sql, params = json_value("r.data", _check_keys(segments, text))
    return Column(_label(segments), sql, params, ValueKind.JSON)


# --- comparisons -------------------------------------------------------------------------------------------------

_ORDERING = frozenset({"<", "<=", ">", ">="})
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_TIMESTAMP = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TIME_EXAMPLE = "'2024-05-01T12:00:00Z'"
_FV_NUMERIC = "CASE WHEN json_valid(fv) THEN json_type(fv) END IN ('integer', 'real')"
_FV_NUMBER = "json_extract(fv, '$')"


def sql_number(value: int | float) -> int | float:
    """``value`` as SQLite can bind it: an integer beyond 64 bits becomes a float (which compares the same)."""
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        return float(value)
    return value


def number_in_text(text: str) -> int | float | None:
    """The number a string literal spells (as ``sql_number``), or ``None``."""
    if not _NUMERIC_TEXT.match(text):
        return None
    try:
        return sql_number(int(text))
    except ValueError:
        number = float(text)
        return number if math.isfinite(number) else None


def _timestamp(text: str) -> tuple[datetime, int] | None:
    """An ISO-8601 literal as (aware datetime to the second, nanoseconds past that second), or None."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz: timezone = UTC
        if zone and zone not in "Zz":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            tz = timezone(offset if zone[0] == "+" else -offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz
        )
    except ValueError:
        return None
    return moment, int((fraction or "")[:9].ljust(9, "0"))


def _fail(text: str, message: str, position: int) -> FilterError:
    return FilterError(message, text=text, position=position)


def _static_value(column: Column, literal: Literal, text: str) -> Any:
    """The literal as a value of ``column``'s kind (every kind but JSON), or a FilterError at the literal."""
    value, kind = literal.value, column.kind
    if kind is ValueKind.TEXT:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else literal.source
    if kind is ValueKind.ENUM:
        if not isinstance(value, str):
            raise _fail(text, f"{column.label} holds text codes; quote the value, e.g. 'LLM'", literal.position)
        return value.upper()
    if kind is ValueKind.NUMBER:
        number = number_in_text(value) if isinstance(value, str) else value
        if isinstance(number, bool) or number is None:
            raise _fail(text, f"{column.label} is a number; expected a number, got {literal.source}", literal.position)
        return number
    parsed = _timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise _fail(
            text,
            f"{column.label} is a time; expected an ISO-8601 timestamp string such as {_TIME_EXAMPLE}, "
            f"got {literal.source}",
            literal.position,
        )
    moment, nanos = parsed
    if kind is ValueKind.TIME_NS:
        # Stored times fit in 64 bits, so clamping a far-off literal keeps every comparison's answer.
        since_epoch = (moment - _EPOCH) // timedelta(seconds=1) * 1_000_000_000 + nanos
        return min(max(since_epoch, _INT64_MIN), _INT64_MAX)
    try:
        return iso(moment + timedelta(microseconds=nanos // 1000))
    except OverflowError:
        # Past the ends of datetime's range: text that sorts below or above every stored timestamp.
        return "0000-00-00T00:00:00.000Z" if moment.year < 5000 else "9999-99-99T99:99:99.999Z"


def compare_sql(column: Column, op: str, literal: Literal, text: str) -> Fragment:
    """``column op literal`` as SQL, following the comparison rules of this module."""
    if isinstance(literal.value, bool) and op not in ("=", "!="):
        raise _fail(text, "true and false can only be compared with = or !=", literal.position)
    if column.kind is not ValueKind.JSON:
        return f"({column.sql} {op} ?)", [*column.params, _static_value(column, literal, text)]
    mismatch = "1" if op == "!=" else "0"
    value = literal.value
    text_params: list[Any]
    number_params: list[Any]
    if isinstance(value, bool):
        text_sql, text_params = f"lower(fv) {op} ?", ["true" if value else "false"]
        number_sql, number_params = f"fv {op} ?", [int(value)]
    elif isinstance(value, int | float):
        text_sql, text_params = f"CASE WHEN {_FV_NUMERIC} THEN {_FV_NUMBER} {op} ? ELSE {mismatch} END", [value]
        number_sql, number_params = f"fv {op} ?", [value]
    else:
        number = number_in_text(value)
        if op in _ORDERING and number is not None:
            text_sql = f"CASE WHEN {_FV_NUMERIC} THEN {_FV_NUMBER} {op} ? ELSE fv {op} ? END"
            text_params = [number, value]
        else:
            text_sql, text_params = f"fv {op} ?", [value]
        number_sql, number_params = (f"fv {op} ?", [number]) if number is not None else (mismatch, [])
    return _typed(column, text_sql, number_sql, mismatch), [*text_params, *number_params, *column.params]


def _typed(column: Column, text_sql: str, number_sql: str, mismatch: str) -> str:
    """A per-row typed test of a JSON value ``fv``, computed once in a subquery."""
    return (
        f"(SELECT CASE WHEN fv IS NULL THEN NULL WHEN typeof(fv) = 'text' THEN {text_sql}"
        f" WHEN typeof(fv) IN ('integer', 'real') THEN {number_sql} ELSE {mismatch} END"
        f" FROM (SELECT {column.sql} AS fv))"
    )


def in_list_sql(column: Column, literals: Sequence[Literal], text: str) -> Fragment:
    """``column IN (literals)`` as SQL: true when the column equals any literal by the rules of ``=``."""
    if column.kind is not ValueKind.JSON:
        values = [_static_value(column, literal, text) for literal in literals]
        return f"({column.sql} IN ({', '.join('?' * len(values))}))", [*column.params, *values]
    strings = [lit.value for lit in literals if isinstance(lit.value, str)]
    booleans = [lit.value for lit in literals if isinstance(lit.value, bool)]
    numbers = [lit.value for lit in literals if isinstance(lit.value, int | float) and not isinstance(lit.value, bool)]
    number_values: list[Any] = [*numbers, *(n for s in strings if (n := number_in_text(s)) is not None)]
    number_values += [int(b) for b in booleans]
    text_parts: list[str] = []
    text_params: list[Any] = []
    if strings:
        text_parts.append(f"fv IN ({', '.join('?' * len(strings))})")
        text_params += strings
    if booleans:
        text_parts.append(f"lower(fv) IN ({', '.join('?' * len(booleans))})")
        text_params += ["true" if b else "false" for b in booleans]
    if numbers:
        text_parts.append(
            f"(CASE WHEN {_FV_NUMERIC} THEN {_FV_NUMBER} IN ({', '.join('?' * len(numbers))}) ELSE 0 END)"
        )
        text_params += numbers
    number_sql = f"fv IN ({', '.join('?' * len(number_values))})" if number_values else "0"
    sql = _typed(column, " OR ".join(text_parts), number_sql, "0")
    return sql, [*text_params, *number_values, *column.params]


def like_sql(
    column: Column, pattern_literal: Literal, escape: Literal | None, negated: bool, position: int, text: str
) -> Fragment:
    """``column [NOT] LIKE pattern [ESCAPE c]`` as SQL; ``position`` is where the column starts (for errors)."""
    if column.kind in (ValueKind.NUMBER, ValueKind.TIME_NS):
        what = "a number" if column.kind is ValueKind.NUMBER else "a time"
        raise _fail(
            text,
            f"{column.label} is {what}; LIKE works on text (compare it with =, <, >, BETWEEN instead)",
            position,
        )
    pattern = pattern_literal.value
    if not isinstance(pattern, str):
        raise _fail(text, "LIKE needs a quoted pattern such as '%text%'", pattern_literal.position)
    if column.kind is ValueKind.ENUM:
        pattern = pattern.upper()
    sql = f"({column.sql} {'NOT ' if negated else ''}LIKE ?"
    params: list[Any] = [*column.params, pattern]
    if escape is not None:
        sql += " ESCAPE ?"
        params.append(escape.value)
    return sql + ")", params
