"""``search_spans`` and ``get_trace``: read a project's spans, compactly and within a character budget.

Spans are read through ``client.spans.list`` (``POST /v2/spans``), the same on Arize AX and the local engine. Rows
are compact by default (identity, status, latency, input and output cut short, evaluations); ``fields`` picks
other attribute, eval or annotation paths. Long values are cut with a marker naming the ``get_trace`` call that
returns them whole. A search whose filter matches nothing says so and why it may have (how many spans the window
holds without the filter, which referenced eval, annotation or attribute no span has, when the project's latest
span is) instead of returning a bare empty list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from ...client import AsyncPaginator
from ...evals.mapping import MISSING, as_text, span_latency_ms, span_value, span_view_of
from ...foundation.cursors import seal, unseal
from ...models.spans import Span
from ..budget import DEFAULT_BUDGET_CHARS, Position, collect, compact, cut, decode_cursor, encode_cursor, scope_of
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import Cursor, EndTime, Limit, ListResult, ProjectRef, Ref, StartTime, ToolContext, parse_time
from . import register_tool

__all__ = [
    "GetTraceResult",
    "NoMatch",
    "SearchSpansResult",
    "SpanRow",
    "TraceSpanRow",
    "get_trace",
    "register",
    "search_spans",
]

PAGE_SIZE = 50
"""Backend page size of ``search_spans`` (fixed, so cursors stay valid)."""

TRACE_PAGE_SIZE = 500
"""Backend page size when reading a whole trace (AX's maximum for spans)."""

MAX_TRACE_SPANS = 5000
"""``get_trace`` reads at most this many spans of one trace."""

BACKEND_TRUNCATE = 2000
"""Compact reads ask the backend to cut attribute strings at this length, so large payloads are never shipped."""

TEXT_CHARS = 300
"""Compact rows keep this many characters of a span's input and output."""

TRACE_TEXT_CHARS = 200
"""Compact ``get_trace`` rows keep this many characters of each input and output (a trace has many spans)."""

VALUE_CHARS = 200
"""Compact rows keep this many characters of any other value (attributes, explanations, annotation text)."""

FULL_VALUE_CHARS = 100_000
"""``get_trace(full=true)`` returns values whole up to this many characters each."""

COUNT_CAP = 500
"""When a filter matches nothing, at most this many spans of the window are counted without it (one request: the
most a spans page holds)."""

SAMPLE = 100
"""How many of the window's newest spans the no-match hints look at."""

LOOKBACK = timedelta(days=365)
"""How far back the no-match diagnosis looks for the project's latest span."""

SEARCH_WINDOW = "-7d"
TRACE_WINDOW = "-30d"

DEFAULT_FIELDS = ("input", "output", "evals")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_FILTER_REFERENCE = re.compile(
    r"\b(eval|annotation)\.([A-Za-z0-9_-]+|\"[^\"]+\"|`[^`]+`)\.(label|score|explanation|text|updated_by|updated_at)\b"
    r"|\battributes\.([A-Za-z0-9_.]+[A-Za-z0-9_])"
)
_SPAN_KINDS = "LLM, CHAIN, RETRIEVER, EMBEDDING, AGENT, TOOL, RERANKER, GUARDRAIL, EVALUATOR, PROMPT"

FILTER_HELP = (
    "SQL-like: \"span_kind = 'LLM' AND latency_ms > 2000\"; also status_code, name, eval.<name>.label|score, "
    "annotation.<name>.label, attributes.<key>, metadata.<key>."
)

FIELDS_HELP = "Default ['input', 'output', 'evals']; also 'annotations', 'attributes', 'attributes.<path>', 'events'."


# --- rows --------------------------------------------------------------------------------------------------------


class _Compact(BaseModel):
    """A row model whose unset (``None``) fields are left out of the output, to save tokens."""

    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class EvalValue(_Compact):
    """One evaluation result on a span."""

    label: str | None = Field(default=None, description="The label the evaluator gave.")
    score: float | None = Field(default=None, description="The score the evaluator gave.")
    explanation: str | None = Field(default=None, description="The evaluator's explanation (cut in compact rows).")


class AnnotationValue(_Compact):
    """One human annotation on a span."""

    label: str | None = Field(default=None, description="The annotation's label.")
    score: float | None = Field(default=None, description="The annotation's score.")
    text: str | None = Field(default=None, description="The annotation's free text (cut in compact rows).")


class _SpanFields(_Compact):
    span_id: str = Field(description="The span's ID (hex).")
    parent_id: str | None = Field(default=None, description="The parent span's ID; absent for a root span.")
    name: str = Field(description="The span's name.")
    kind: str = Field(description="The span kind: LLM, CHAIN, RETRIEVER, TOOL, AGENT, ...")
    status: str = Field(description="The status code: OK, ERROR or UNSET.")
    status_message: str | None = Field(default=None, description="The status message (errors), when there is one.")
    start_time: str = Field(description="When the span started (ISO 8601, UTC).")
    latency_ms: float | None = Field(default=None, description="How long the span took, in milliseconds.")
    input: str | None = Field(default=None, description="attributes.input.value (cut unless full=true).")
    output: str | None = Field(default=None, description="attributes.output.value (cut unless full=true).")
    evals: dict[str, EvalValue] | None = Field(default=None, description="Evaluation results by evaluator name.")
    annotations: dict[str, AnnotationValue] | None = Field(
        default=None, description="Human annotations by annotation config name."
    )
    attributes: dict[str, Any] | None = Field(
        default=None, description="The attribute and metadata paths asked for (or every attribute), by path."
    )
    events: list[Any] | None = Field(default=None, description="The span's events (exceptions, logs).")


class SpanRow(_SpanFields):
    """One span found by ``search_spans``."""

    trace_id: str = Field(description="The trace's ID (hex); get_trace shows the whole trace.")


class TraceSpanRow(_SpanFields):
    """One span of a trace, in tree order."""

    depth: int = Field(description="Depth in the trace tree: 0 for a root, 1 for its children, and so on.")


class TimeWindow(BaseModel):
    """A time window, both ends inclusive."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="Start (ISO 8601, UTC).")
    end: str = Field(description="End (ISO 8601, UTC).")


class NoMatch(BaseModel):
    """Why a search found no span, and what to try."""

    model_config = ConfigDict(extra="forbid")

    spans_in_window: int = Field(description="How many spans the window holds without the filter.")
    count_complete: bool = Field(description=f"False when counting stopped at {COUNT_CAP} spans.")
    latest_span_time: str | None = Field(
        description="When the project's most recent span started (looking back a year); none if it has none."
    )
    hints: list[str] = Field(description="What may be wrong, and what to try next.")


class SearchSpansResult(ListResult):
    """Spans of a project, newest first."""

    project: Ref = Field(description="The project searched, by name and ID.")
    window: TimeWindow = Field(description="The time window searched.")
    filter: str | None = Field(description="The filter applied, if any.")
    fields: list[str] = Field(description="The fields each row shows besides identity, status and latency.")
    budget_chars: int = Field(description="The character budget of this answer: rows stop once it is reached.")
    items: list[SpanRow] = Field(description="The spans, newest first.")
    no_match: NoMatch | None = Field(
        default=None, description="When nothing matched: how many spans the window holds, and hints."
    )
    note: str | None = Field(default=None, description="What happened and what to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many spans were found where, or why none were."""
        where = f"{self.project.name} from {self.window.start} to {self.window.end}"
        if self.no_match is not None:
            why = f" {self.no_match.hints[0]}" if self.no_match.hints else ""
            return f"No span matches in {where} ({self.no_match.spans_in_window} spans without the filter).{why}", None
        more = "; more: cursor=next_cursor" if self.has_more else ""
        note = f" {self.note}" if self.note else ""
        return f"{len(self.items)} spans of {where}{more}.{note}", "note"


class GetTraceResult(ListResult):
    """The spans of one trace as a tree (parents before children, siblings by start time)."""

    project: Ref = Field(description="The project, by name and ID.")
    trace_id: str = Field(description="The trace's ID.")
    window: TimeWindow = Field(description="The time window its spans were looked up in.")
    span_count: int = Field(description="How many spans the trace has (in the window).")
    root_span_ids: list[str] = Field(description="The spans with no parent in the trace (usually one).")
    start_time: str = Field(description="When the trace's first span started.")
    end_time: str | None = Field(description="When its last span ended.")
    duration_ms: float | None = Field(description="From the first span's start to the last span's end.")
    error_count: int = Field(description="How many of its spans have status ERROR.")
    full: bool = Field(description="Whether values are whole (true) or cut short (false).")
    budget_chars: int = Field(description="The character budget of this answer: spans stop once it is reached.")
    items: list[TraceSpanRow] = Field(description="The spans in tree order (page on with next_cursor).")
    note: str | None = Field(default=None, description="What happened and what to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The trace's size, errors and duration, and whether more spans follow."""
        took = f", {self.duration_ms:,.0f} ms" if self.duration_ms is not None else ""
        more = f"; showing {len(self.items)}, more: cursor=next_cursor" if self.has_more else ""
        note = f" {self.note}" if self.note else ""
        return f"Trace {self.trace_id}: {self.span_count} spans, {self.error_count} errors{took}{more}.{note}", "note"


# --- field selection ---------------------------------------------------------------------------------------------


@dataclass
class Selection:
    """Which optional parts a row shows (``fields``)."""

    input: bool = False
    output: bool = False
    all_evals: bool = False
    evals: list[str] = field(default_factory=list)
    all_annotations: bool = False
    annotations: list[str] = field(default_factory=list)
    all_attributes: bool = False
    paths: list[str] = field(default_factory=list)
    events: bool = False

    def included_columns(self) -> list[str] | None:
        """The backend column projection, or ``None`` when every column is needed."""
        if self.all_evals or self.all_annotations or self.all_attributes:
            return None
        columns: list[str] = []
        if self.input:
            columns.append("attributes.input.value")
        if self.output:
            columns.append("attributes.output.value")
        for name in self.evals:
            columns += [f"eval.{name}.{part}" for part in ("label", "score", "explanation")]
        for name in self.annotations:
            columns += [f"annotation.{name}.{part}" for part in ("label", "score", "text")]
        for path in self.paths:
            columns.append("attributes.metadata" if path.startswith("metadata.") else path)
        # Fixed span fields come back whatever is asked; a column that names nothing keeps the payload small.
        return list(dict.fromkeys(columns)) or ["context.span_id"]


_SELECTION_FLAGS = {
    "input": "input",
    "output": "output",
    "evals": "all_evals",
    "annotations": "all_annotations",
    "attributes": "all_attributes",
    "events": "events",
}
"""The ``fields`` items that turn on one flag of ``Selection``, and the flag."""


def parse_fields(fields: Sequence[str] | None) -> tuple[Selection, list[str]]:
    """The selection ``fields`` asks for, and the fields as shown back.

    Raises:
        ToolError: an item is none of the accepted forms.
    """
    items = [f.strip() for f in (fields if fields is not None else DEFAULT_FIELDS)]
    selection = Selection()
    for item in items:
        if item in _SELECTION_FLAGS:
            setattr(selection, _SELECTION_FLAGS[item], True)
        elif item.startswith("eval.") and len(item) > 5 and "." not in item[5:]:
            selection.evals.append(item[5:])
        elif item.startswith("annotation.") and len(item) > 11 and "." not in item[11:]:
            selection.annotations.append(item[11:])
        elif (item.startswith("attributes.") and len(item) > 11) or (item.startswith("metadata.") and len(item) > 9):
            selection.paths.append(item)
        else:
            raise ToolError(
                f"fields: {item!r} is not a field; use 'input', 'output', 'evals', 'eval.<name>', 'annotations', "
                "'annotation.<name>', 'attributes', 'attributes.<path>' (e.g. 'attributes.llm.model_name'), "
                "'metadata.<key>' or 'events'"
            )
    return selection, list(dict.fromkeys(items))


# --- values ------------------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _clip(text: str, limit: int, how: str, *, backend_cut: bool) -> str:
    """``text`` cut to ``limit`` with a marker; a string the backend already cut says so instead of its length."""
    if backend_cut and len(text) >= BACKEND_TRUNCATE and text.endswith("…"):
        return f"{text[:limit]}…[cut; over {BACKEND_TRUNCATE:,} chars; {how}]"
    return cut(text, limit, how)


def _text(value: Any, limit: int, how: str, *, backend_cut: bool) -> str | None:
    if value is MISSING:
        return None
    return _clip(as_text(value), limit, how, backend_cut=backend_cut)


def _value(value: Any, limit: int, max_items: int, how: str, *, backend_cut: bool) -> Any:
    if isinstance(value, str):
        return _clip(value, limit, how, backend_cut=backend_cut)
    return compact(value, max_chars=limit, max_items=max_items, how=how, keep_empty=True)


@dataclass(frozen=True)
class RowStyle:
    """How much of each value a row keeps."""

    text_chars: int
    value_chars: int
    max_items: int
    backend_cut: bool


COMPACT = RowStyle(TEXT_CHARS, VALUE_CHARS, 10, backend_cut=True)
TRACE_COMPACT = RowStyle(TRACE_TEXT_CHARS, VALUE_CHARS, 10, backend_cut=True)
FULL = RowStyle(FULL_VALUE_CHARS, FULL_VALUE_CHARS, 500, backend_cut=False)


def _span_fields(span: Span, selection: Selection, style: RowStyle, how: str) -> dict[str, Any]:
    """The row fields of ``span`` (all but ``trace_id`` / ``depth``)."""
    view = span_view_of(span)
    row: dict[str, Any] = {
        "span_id": span.context.span_id,
        "parent_id": span.parent_id or None,
        "name": span.name,
        "kind": span.kind,
        "status": span.status_code,
        "status_message": cut(span.status_message, style.value_chars, how) if span.status_message else None,
        "start_time": _iso(span.start_time),
        "latency_ms": span_latency_ms(span),
    }
    if selection.input:
        row["input"] = _text(
            span_value(view, "attributes.input.value"), style.text_chars, how, backend_cut=style.backend_cut
        )
    if selection.output:
        row["output"] = _text(
            span_value(view, "attributes.output.value"), style.text_chars, how, backend_cut=style.backend_cut
        )
    if selection.all_evals or selection.evals:
        evals = {
            e.name: EvalValue(
                label=e.label,
                score=e.score,
                explanation=cut(e.explanation, style.value_chars, how) if e.explanation else None,
            )
            for e in span.evaluations
            if selection.all_evals or e.name in selection.evals
        }
        row["evals"] = evals or None
    if selection.all_annotations or selection.annotations:
        annotations = {
            a.name: AnnotationValue(
                label=a.label, score=a.score, text=cut(a.text, style.value_chars, how) if a.text else None
            )
            for a in span.annotations
            if selection.all_annotations or a.name in selection.annotations
        }
        row["annotations"] = annotations or None
    attributes: dict[str, Any] = {}
    if selection.all_attributes:
        shown = {k: v for k, v in span.attributes.items() if not (selection.input and k == "input.value")}
        shown = {k: v for k, v in shown.items() if not (selection.output and k == "output.value")}
        for key, value in shown.items():
            attributes[key] = _value(value, style.value_chars, style.max_items, how, backend_cut=style.backend_cut)
    for path in selection.paths:
        found = span_value(view, path)
        if found is not MISSING:
            attributes[path] = _value(found, style.value_chars, style.max_items, how, backend_cut=style.backend_cut)
    row["attributes"] = attributes or None
    if selection.events and span.events:
        row["events"] = compact(
            [e.model_dump(mode="json", exclude_none=True) for e in span.events],
            max_chars=style.value_chars,
            max_items=style.max_items,
            how=how,
        )
    return row


def _whole_value_call(project: Ref, span: Span, window_start: datetime | None) -> str:
    since = f", start_time='{_iso(window_start)}'" if window_start is not None else ""
    return (
        f"call get_trace(project='{project.name}', trace_id='{span.context.trace_id}', "
        f"span_id='{span.context.span_id}', full=true{since})"
    )


# --- cursors that keep their window ------------------------------------------------------------------------------


def _wrap_cursor(window: tuple[datetime, datetime], inner: str | None) -> str | None:
    """A cursor that also carries the resolved window, so relative times ('-7d', now) do not move while paging."""
    if inner is None:
        return None
    return seal({"w": [_iso(window[0]), _iso(window[1])], "c": inner})


def _unwrap_cursor(cursor: str | None) -> tuple[tuple[datetime, datetime] | None, str | None]:
    if cursor is None:
        return None, None
    try:
        data = unseal(cursor)
        start, end = (datetime.fromisoformat(t) for t in data["w"])
        inner = data["c"]
        if not isinstance(inner, str):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ToolError(
            "cursor: not a cursor this server made; pass next_cursor exactly as returned, or omit it to start over"
        ) from None
    return (start, end), inner


def _window(
    state: AppState, start_time: str | None, end_time: str | None, default_start: str
) -> tuple[datetime, datetime]:
    now = state.clock()
    end = parse_time(end_time, "end_time", now=now) if end_time else now
    start = parse_time(start_time or default_start, "start_time", now=now)
    if start >= end:
        raise ToolError(
            f"start_time: {_iso(start)} is not before end_time {_iso(end)}; give a start earlier than the end"
        )
    return start, end


async def _project(state: AppState, project: str) -> Ref:
    found = await state.client.projects.get(project, space=(await state.require_space()).id)
    return Ref(id=found.id, name=found.name)


async def _list_spans(
    state: AppState,
    project: str,
    cursor: str | None,
    start_time: str | None,
    end_time: str | None,
    default_start: str,
    *,
    filter: str | None,
    truncate_string_length: int | None,
    limit: int,
    included_columns: list[str] | None = None,
) -> tuple[Ref, tuple[datetime, datetime], str | None, AsyncPaginator[Span]]:
    """The project, the window (a cursor's, else the arguments'), the cursor within it, and the spans listed there."""
    frozen, inner = _unwrap_cursor(cursor)
    window = frozen or _window(state, start_time, end_time, default_start)
    project_ref = await _project(state, project)
    listing = state.client.spans.list(
        project_ref.id,
        start_time=window[0],
        end_time=window[1],
        filter=filter,
        included_columns=included_columns,
        truncate_string_length=truncate_string_length,
        limit=limit,
    )
    return project_ref, window, inner, listing


def _check_id(value: str, field_name: str) -> str:
    text = value.strip().lower()
    if not _ID.match(text):
        raise ToolError(f"{field_name}: {value!r} is not a span or trace ID; IDs are hex strings such as 'a1b2c3...'")
    return text


# --- search_spans ------------------------------------------------------------------------------------------------


def _filter_hints(filter_text: str, sample: Sequence[Span]) -> list[str]:
    """What in the filter may match nothing, judged from its text and from a sample of the window's spans."""
    hints: list[str] = []
    views = [span_view_of(s) for s in sample]
    seen_evals = sorted({e.name for s in sample for e in s.evaluations})
    seen_annotations = sorted({a.name for s in sample for a in s.annotations})
    for match in _FILTER_REFERENCE.finditer(filter_text):
        family, quoted, _, path = match.groups()
        name = quoted.strip('"`') if quoted else quoted
        if family == "eval" and name not in seen_evals:
            names = ", ".join(seen_evals) or "none"
            hints.append(
                f"no span among the {len(sample)} most recent of the window has an eval named {name!r} "
                f"(eval names seen: {names}); names are case-sensitive"
            )
        elif family == "annotation" and name not in seen_annotations:
            names = ", ".join(seen_annotations) or "none"
            hints.append(
                f"no span among the {len(sample)} most recent of the window has an annotation named {name!r} "
                f"(annotation names seen: {names})"
            )
        elif path is not None and all(span_value(v, f"attributes.{path}") is MISSING for v in views):
            hints.append(
                f"no span among the {len(sample)} most recent of the window has attributes.{path}; check the "
                "path with search_spans(fields=['attributes'])"
            )
    if re.search(r"(?:=|<|>|\bIN\s*\(|\bLIKE)\s*\"", filter_text, re.IGNORECASE):
        hints.append("string values take single quotes: span_kind = 'LLM'")
    if re.search(r"\b(?:span_kind|kind)\s*(?:=|!=)\s*'[a-z]+'", filter_text):
        hints.append(f"span kinds are upper case: {_SPAN_KINDS}")
    if re.search(r"(?<![\w.])(?:input|output|llm|session|user|tool|retrieval)\.[a-z_]", filter_text):
        hints.append(
            "OpenInference keys need the attributes. prefix: attributes.input.value, attributes.llm.model_name"
        )
    return list(dict.fromkeys(hints))


async def _no_match(
    state: AppState, project: Ref, window: tuple[datetime, datetime], filter_text: str | None
) -> tuple[NoMatch, str]:
    """The diagnosis of an empty search, and its one-line note, from one more listing: the project's newest spans
    without the filter, from ``LOOKBACK`` ago (or the window's start) to now (or the window's end). Its first span
    is the latest; the window's spans in it are counted, up to ``COUNT_CAP``."""
    start, end = window
    now = state.clock()
    page = await state.client.spans.list(
        project.id,
        start_time=min(start, now - LOOKBACK),
        end_time=max(end, now),
        truncate_string_length=1,
        limit=COUNT_CAP,
    )
    items = page.items
    in_window = [s for s in items if start <= s.start_time <= end]
    # The page covers the whole window when nothing older follows or its oldest span is before the window.
    reached = not page.has_more or items[-1].start_time < start
    # Without a filter the search itself found the window empty.
    counted = len(in_window) if filter_text is not None else 0
    complete = reached or filter_text is None
    latest = _iso(items[0].start_time) if items and not counted else None
    where = f"between {_iso(start)} and {_iso(end)}"
    hints: list[str] = []
    if counted > 0 and filter_text is not None:
        more = "" if complete else " at least"
        note = (
            f"the filter matched none of the{more} {counted} spans of project '{project.name}' {where}; "
            "see no_match.hints, or search without the filter to look at the data"
        )
        hints = _filter_hints(filter_text, in_window[:SAMPLE])
    elif not complete and filter_text is not None:
        note = (
            f"the filter matched no span of project '{project.name}' {where}; the window's spans were not counted, "
            f"as more than {COUNT_CAP} spans are newer than it; search it without the filter to look at the data"
        )
    elif latest is not None:
        note = (
            f"project '{project.name}' has no spans {where}; its latest span started at {latest}: widen the "
            "window (start_time / end_time)"
        )
        hints = [f"pass start_time='{latest[:10]}' (or earlier) to include the latest spans"]
    else:
        note = (
            f"project '{project.name}' has no spans in the last {LOOKBACK.days} days; check the project "
            "(find(kind='project')) and that the application sends traces to it"
        )
    return NoMatch(spans_in_window=counted, count_complete=complete, latest_span_time=latest, hints=hints), note


@tool_errors
async def search_spans(
    ctx: ToolContext,
    project: ProjectRef,
    filter: Annotated[str | None, Field(min_length=1, max_length=20_000, description=FILTER_HELP)] = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    fields: Annotated[list[str] | None, Field(min_length=1, max_length=50, description=FIELDS_HELP)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchSpansResult:
    """Search a project's spans (newest first, last 7 days by default); read real spans before writing filters,
    mappings or datasets."""
    state = app_state(ctx)
    if filter is not None and not filter.strip():
        raise ToolError("filter: it is blank; omit filter to list every span of the window")
    selection, shown_fields = parse_fields(fields)
    project_ref, window, inner, listing = await _list_spans(
        state,
        project,
        cursor,
        start_time,
        end_time,
        SEARCH_WINDOW,
        filter=filter,
        included_columns=selection.included_columns(),
        truncate_string_length=BACKEND_TRUNCATE,
        limit=PAGE_SIZE,
    )
    trace_default_start = state.clock() - timedelta(days=30)

    def row(span: Span) -> SpanRow:
        older = span.start_time < trace_default_start
        how = _whole_value_call(project_ref, span, span.start_time if older else None)
        return SpanRow(trace_id=span.context.trace_id, **_span_fields(span, selection, COMPACT, how))

    scope = scope_of("search_spans", project_ref.id, filter, start_time, end_time, shown_fields)
    collected = await collect(
        listing.page, scope=scope, cursor=inner, limit=limit, row=row, budget_chars=DEFAULT_BUDGET_CHARS
    )
    no_match: NoMatch | None = None
    note: str | None = None
    if not collected.rows and cursor is None:
        no_match, note = await _no_match(state, project_ref, window, filter)
    elif collected.stopped_for_budget:
        note = (
            f"stopped at {len(collected.rows)} rows to stay within {DEFAULT_BUDGET_CHARS:,} characters; call again "
            "with cursor=next_cursor for more, or ask for fewer fields"
        )
    return SearchSpansResult(
        project=project_ref,
        window=TimeWindow(start=_iso(window[0]), end=_iso(window[1])),
        filter=filter,
        fields=shown_fields,
        budget_chars=DEFAULT_BUDGET_CHARS,
        items=collected.rows,
        has_more=collected.has_more,
        next_cursor=_wrap_cursor(window, collected.next_cursor),
        no_match=no_match,
        note=note,
    )


# --- get_trace ---------------------------------------------------------------------------------------------------


def tree_order(spans: Sequence[Span]) -> list[tuple[Span, int]]:
    """``spans`` parents first, children by start time, each with its depth; a span whose parent is not among
    them is a root."""
    by_id = {s.context.span_id: s for s in spans}
    children: dict[str, list[Span]] = {}
    roots: list[Span] = []
    for span in spans:
        parent = span.parent_id or None
        if parent is None or parent not in by_id or parent == span.context.span_id:
            roots.append(span)
        else:
            children.setdefault(parent, []).append(span)

    def key(span: Span) -> tuple[datetime, str]:
        return span.start_time, span.context.span_id

    ordered: list[tuple[Span, int]] = []
    placed: set[str] = set()
    stack: list[tuple[Span, int]] = [(s, 0) for s in sorted(roots, key=key, reverse=True)]
    while stack:
        span, depth = stack.pop()
        if span.context.span_id in placed:
            continue
        placed.add(span.context.span_id)
        ordered.append((span, depth))
        stack += [(c, depth + 1) for c in sorted(children.get(span.context.span_id, []), key=key, reverse=True)]
    # A parent cycle leaves spans unreached from any root: show them as roots rather than drop them.
    ordered += [(s, 0) for s in sorted(spans, key=key) if s.context.span_id not in placed]
    return ordered


@tool_errors
async def get_trace(
    ctx: ToolContext,
    project: ProjectRef,
    trace_id: Annotated[
        str,
        Field(min_length=1, max_length=128, description="From search_spans rows."),
    ],
    span_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=128,
            description="Only this span.",
        ),
    ] = None,
    full: Annotated[
        bool,
        Field(description="Whole values and every attribute."),
    ] = False,
    start_time: StartTime = None,
    cursor: Cursor = None,
) -> GetTraceResult:
    """Show a trace as a span tree with inputs, outputs and evals (last 30 days unless start_time)."""
    state = app_state(ctx)
    trace = _check_id(trace_id, "trace_id")
    only = _check_id(span_id, "span_id") if span_id is not None else None
    project_ref, window, inner, listing = await _list_spans(
        state,
        project,
        cursor,
        start_time,
        None,
        TRACE_WINDOW,
        filter=f"context.trace_id = '{trace}'",
        truncate_string_length=None if full else BACKEND_TRUNCATE,
        limit=TRACE_PAGE_SIZE,
    )
    spans: list[Span] = []
    capped = False
    async for page in listing.pages():
        spans += page.items
        if len(spans) >= MAX_TRACE_SPANS and page.has_more:
            capped = True
            break
    where = f"between {_iso(window[0])} and {_iso(window[1])}"
    if not spans:
        raise ToolError(
            f"trace_id: trace {trace!r} has no spans in project '{project_ref.name}' {where} — check the ID "
            "(search_spans rows carry trace_id), the project, or pass start_time to look further back"
        )
    ordered = tree_order(spans)
    if only is not None:
        ordered = [(s, d) for s, d in ordered if s.context.span_id == only]
        if not ordered:
            raise ToolError(
                f"span_id: trace {trace!r} has no span {only!r} {where}; omit span_id to list the trace's spans"
            )
    selection = Selection(input=True, output=True, all_evals=True, all_annotations=True)
    if full:
        selection.all_attributes = True
        selection.events = True
    style = FULL if full else TRACE_COMPACT

    since = f", start_time='{_iso(window[0])}'" if start_time is not None else ""

    def row(item: tuple[Span, int]) -> TraceSpanRow:
        span, depth = item
        how = (
            f"call get_trace(project='{project_ref.name}', trace_id='{trace}', span_id='{span.context.span_id}', "
            f"full=true{since})"
        )
        return TraceSpanRow(depth=depth, **_span_fields(span, selection, style, how))

    scope = scope_of("get_trace", project_ref.id, trace, only, full, start_time)
    position = decode_cursor(scope, inner)
    rows: list[TraceSpanRow] = []
    used = 0
    index = position.skip
    while index < len(ordered):
        converted = row(ordered[index])
        rows.append(converted)
        used += len(converted.model_dump_json())
        index += 1
        if used >= DEFAULT_BUDGET_CHARS:
            break
    has_more = index < len(ordered)
    next_cursor = _wrap_cursor(window, encode_cursor(scope, Position(None, index)) if has_more else None)
    ends = [s.end_time for s in spans if s.end_time is not None]
    first = min(s.start_time for s in spans)
    last = max(ends) if ends else None
    notes: list[str] = []
    if capped:
        notes.append(f"the trace has more than {MAX_TRACE_SPANS} spans; only the first {len(spans)} were read")
    if has_more:
        notes.append(
            f"showing spans {position.skip + 1}-{index} of {len(ordered)} to stay within "
            f"{DEFAULT_BUDGET_CHARS:,} characters; call again with cursor=next_cursor for more"
        )
    return GetTraceResult(
        project=project_ref,
        trace_id=trace,
        window=TimeWindow(start=_iso(window[0]), end=_iso(window[1])),
        span_count=len(spans),
        root_span_ids=[s.context.span_id for s, d in tree_order(spans) if d == 0],
        start_time=_iso(first),
        end_time=_iso(last) if last else None,
        duration_ms=round((last - first).total_seconds() * 1000, 3) if last else None,
        error_count=sum(1 for s in spans if s.status_code == "ERROR"),
        full=full,
        budget_chars=DEFAULT_BUDGET_CHARS,
        items=rows,
        has_more=has_more,
        next_cursor=next_cursor,
        note="; ".join(notes) or None,
    )


def register(server: MCPServer[Any]) -> None:
    """Register ``search_spans`` and ``get_trace``."""
    register_tool(server, search_spans, title="Search spans", kind="read")
    register_tool(server, get_trace, title="Get a trace", kind="read")
