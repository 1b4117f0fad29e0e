"""``create_dataset`` and ``get_dataset_examples``: datasets in (from rows, files or spans), examples out.

Every write is checked whole before anything is sent: a bad row is reported by number and column and nothing
is created. Files of any size are read as a stream (``files.py``) and written in requests of at most 1000
examples through the client, the first creating the dataset and the rest appended to its first version. Writes
are all or nothing (``write_examples``): a dataset that takes several requests is built under a marked name
(``<name> (incomplete import 1a2b3c4d)``) and renamed last, a partial one is deleted on any error seen, and the
same call retried after a kill deletes the marked leftovers first.

From spans, each chosen span is one example; a column is a span path read on the span itself, or
``"FILTER -> path"``: the path read on the one *other* span of the same trace that the span filter FILTER
matches (the retriever's documents next to the LLM span). Such sibling spans are looked up per trace, in the
window widened by ``SIBLING_MARGIN``; a trace where none matches leaves the column empty on that example (counted
and noted), and one where several match stops the call before anything is created — never a silent pick.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...client import AsyncArizeClient, Page
from ...errors import BadRequestError, NameNotFoundError, UnprocessableEntityError
from ...evals.mapping import MISSING, SpanView, record_value, span_value, span_view_of
from ...foundation.chunks import chunked
from ...models._base import NAME_MAX_LENGTH, iso
from ...models.datasets import MAX_EXAMPLES_PER_REQUEST, Dataset, DatasetExample
from ...models.filters import any_of
from ..budget import collect, compact, json_size, scope_of
from ..errors import tool_errors
from ..files import FileFormat, Record, RowProblems, TableFile, open_table, plain_value, record_batches
from ..partial import discarded_on_failure
from ..state import AppState, app_state
from ..types import (
    Cursor,
    DatasetRef,
    ListResult,
    Ref,
    ToolContext,
    ToolResult,
    parse_time,
)
from . import register_tool
from .traces import TimeWindow

__all__ = [
    "CreateDatasetResult",
    "DatasetColumn",
    "DatasetExamplesResult",
    "FileFormatArg",
    "FilePath",
    "RowSource",
    "create_dataset",
    "get_dataset_examples",
    "register",
    "similar_columns",
    "space_ref",
]

SYSTEM_COLUMNS = ("id", "created_at", "updated_at")
MAX_INLINE_ROWS = 5000
SPAN_PAGE = 500
EXAMPLE_PAGE = 100
"""Backend page size of ``get_dataset_examples``; fixed so cursors stay valid."""
EXAMPLE_ROWS = 20
"""At most this many examples per page (fewer when they are long)."""
EXAMPLE_CHARS = 3000
"""An example longer than this (as JSON) has its strings cut shorter."""
EXAMPLES_BUDGET = 3500
"""Characters of examples per page: with the longest example and the rest of the result, under 8,000."""
RESULT_COLUMN_CHARS = 4000
"""The columns of a new dataset are listed up to this many characters."""
COLUMN_CHARS = 800
"""The column names of a page are listed up to this many characters."""
VALUE_CHARS = 300
"""Longest string shown per value (projected fields: their share of ``EXAMPLE_CHARS``)."""
SIBLING_ARROW = "->"
SIBLING_MARGIN = timedelta(hours=1)
"""Other spans of a trace are looked for this far either side of the window (a trace may straddle its edge)."""

DEFAULT_SPAN_COLUMNS = {"input": "attributes.input.value", "output": "attributes.output.value"}
_SPAN_ID = re.compile(r"^[0-9a-fA-F]{1,64}$")
_IDS_PER_FILTER = 50

DatasetName = Annotated[str, Field(min_length=1, max_length=255, description="Unique in the space.")]
Rows = Annotated[
    list[dict[str, Any]] | None,
    Field(min_length=1, max_length=MAX_INLINE_ROWS, description="Example objects."),
]
FilePath = Annotated[
    str | None,
    Field(min_length=1, max_length=4096, description="CSV, JSON(L) or Parquet path."),
]
FileFormatArg = Annotated[FileFormat | None, Field(description="When the file's suffix does not tell.")]


# --- shared helpers ---------------------------------------------------------------------------------------------


async def space_ref(state: AppState) -> Ref:
    """The space the tools work in (the default one; ``status(space=...)`` switches it), by name and ID."""
    default = await state.require_space()
    return Ref(id=default.id, name=default.name)


async def ensure_dataset_name_free(client: AsyncArizeClient, name: str, space: Ref) -> None:
    """Raise a ``ToolError`` when the space already has a dataset named exactly ``name``."""
    try:
        existing = await client.resolve.id_of("dataset", name, space=space.id)
    except NameNotFoundError:
        return
    raise ToolError(
        f"name: space '{space.name}' already has a dataset named {name!r} ({existing}) — choose another name, or "
        "read it with get_dataset_examples"
    )


@dataclass
class RowSource:
    """Rows given inline or in a file, readable more than once (checked first, then written)."""

    rows: list[dict[str, Any]] | None = None
    table: TableFile | None = None

    @classmethod
    def of(cls, rows: list[dict[str, Any]] | None, file: str | None, file_format: FileFormat | None) -> RowSource:
        """The source named by a tool's ``rows`` / ``file`` arguments (exactly one).

        Raises:
            ToolError: both or neither given, or a file that cannot be read.
        """
        if (rows is None) == (file is None):
            raise ToolError(
                "rows, file: give exactly one — rows=[{...}, ...] inline, or file='path/to/data.csv' (CSV, JSON, "
                "JSONL or Parquet)"
            )
        if file is not None:
            return cls(table=open_table(file, file_format))
        if file_format is not None:
            raise ToolError("file_format: applies only with file=; omit it when passing rows")
        return cls(rows=rows)

    def describe(self) -> str:
        """The source in words, for results."""
        if self.table is None:
            return f"{len(self.rows or [])} rows given inline"
        return f"{self.table.format} file {self.table.path} ({self.table.size_bytes:,} bytes)"

    async def batches(self, size: int) -> AsyncIterator[list[Record]]:
        """The rows as ``Record`` lists of up to ``size`` (rows numbered from 1)."""
        if self.table is not None:
            async for batch in record_batches(self.table, size):
                yield batch
            return
        rows = self.rows or []
        for start in range(0, len(rows), size):
            yield [_inline_record(start + offset + 1, row) for offset, row in enumerate(rows[start : start + size])]

    async def check_each(
        self, ctx: ToolContext, size: int, check: Callable[[Record], object], *, argument: str, nothing_to: str
    ) -> None:
        """Pass every row to ``check``, in batches of ``size``, reporting progress after each batch.

        Raises:
            ToolError: there are no rows (the message names ``argument`` and what there is ``nothing_to`` do).
        """
        rows = 0
        async for batch in self.batches(size):
            for record in batch:
                check(record)
            rows += len(batch)
            await ctx.report_progress(rows, None, f"checked {rows:,} rows")
        if rows == 0:
            raise ToolError(f"{argument}: no rows found in {self.describe()} — nothing to {nothing_to}")


def _inline_record(number: int, row: Mapping[str, Any]) -> Record:
    return Record(number, {str(k): plain_value(v) for k, v in row.items()})


def similar_columns(columns: Iterable[str]) -> list[str]:
    """Notes for column names that differ only in case, spaces, ``-`` or ``_`` (a misspelt column is a new one)."""
    groups: dict[str, list[str]] = {}
    for column in columns:
        groups.setdefault(re.sub(r"[\s_\-]", "", column.lower()), []).append(column)
    return [
        "columns " + ", ".join(repr(c) for c in sorted(names)) + " differ only in case or separators; each is a "
        "separate column — rename them to one spelling if they hold the same thing"
        for names in groups.values()
        if len(names) > 1
    ]


# --- create_dataset ---------------------------------------------------------------------------------------------


class DatasetColumn(BaseModel):
    """A column of the new dataset and how well it is filled."""

    name: str = Field(description="The column name.")
    rows: int = Field(description="How many examples have a value in it.")
    source: str | None = Field(default=None, description="The span column spec it was read from (from spans).")
    missing: int | None = Field(default=None, description="Spans read that had no value for it (from spans).")
    missing_on: list[str] | None = Field(
        default=None, description="Up to 5 of those spans (look at one with get_trace)."
    )


class CreateDatasetResult(ToolResult):
    """The dataset created, its first version and what went into it."""

    dataset: Ref = Field(description="The new dataset.")
    space: Ref = Field(description="The space it is in.")
    version: Ref | None = Field(description="The dataset version the examples were written to.")
    example_count: int = Field(description="How many examples were written.")
    columns: list[DatasetColumn] = Field(description="The columns (the first, if many), with how full they are.")
    source: str = Field(description="Where the examples came from.")
    project: Ref | None = Field(default=None, description="The project the spans came from (from spans).")
    window: TimeWindow | None = Field(default=None, description="The window spans were read from (from spans).")
    spans_read: int | None = Field(default=None, description="How many spans matched and were read (from spans).")
    skipped_spans: int | None = Field(default=None, description="Spans left out by skip_incomplete (from spans).")
    span_ids_not_found: list[str] | None = Field(default=None, description="span_ids not found (first 50).")
    notes: list[str] = Field(description="What to check: sparse or near-duplicate columns, paths with no value.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was created, from what, and the columns that came out empty."""
        head = f"Created dataset '{self.dataset.name}' (id {self.dataset.id}): {self.example_count:,} examples"
        if self.project is None:
            return f"{head} from {self.source}.", None
        parts = [f"{head} from {self.spans_read:,} spans of project '{self.project.name}'"]
        if self.skipped_spans:
            parts.append(f"{self.skipped_spans:,} skipped as incomplete")
        missing = [f"'{c.name}' missing on {c.missing:,}" for c in self.columns if c.missing]
        if missing:
            parts.append(", ".join(missing))
        return "; ".join(parts) + ".", None


@dataclass
class _ExampleCheck:
    problems: RowProblems = field(default_factory=RowProblems)
    columns: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    flagged: set[str] = field(default_factory=set)

    def check(self, record: Record) -> dict[str, Any] | None:
        self.rows += 1
        if record.problem is not None:
            self.problems.add(record.row, None, record.problem)
            return None
        values = record.values
        if not values or all(v is None for v in values.values()):
            self.problems.add(record.row, None, "is empty: an example needs at least one value")
            return None
        bad = False
        for column in values:
            if column in SYSTEM_COLUMNS:
                bad = True
                if column not in self.flagged:
                    self.flagged.add(column)
                    self.problems.add(
                        record.row,
                        column,
                        "id, created_at and updated_at are assigned by the server — rename the column (for example "
                        f"source_{column})",
                    )
            self.columns[column] = self.columns.get(column, 0) + 1
        return None if bad else values

    def notes(self) -> list[str]:
        notes = []
        sparse = [(name, count) for name, count in self.columns.items() if count < self.rows]
        for name, count in sparse[:10]:
            notes.append(f"column {name!r} is empty in {self.rows - count:,} of {self.rows:,} rows")
        if len(sparse) > 10:
            notes.append(f"…and {len(sparse) - 10} more columns are empty in some rows")
        return notes + similar_columns(self.columns)


async def _check_examples(ctx: ToolContext, source: RowSource) -> _ExampleCheck:
    checker = _ExampleCheck()
    argument = "file" if source.table else "rows"
    await source.check_each(ctx, MAX_EXAMPLES_PER_REQUEST, checker.check, argument=argument, nothing_to="add")
    if checker.problems:
        raise checker.problems.refusal(
            f"nothing was written: {checker.problems.bad_rows:,} of {checker.rows:,} rows have problems"
        )
    return checker


INCOMPLETE_MARK = " (incomplete import "
"""A dataset written in several requests is named ``<name> (incomplete import <8 hex>)`` until the last one lands."""


def _marked_prefix(name: str) -> str:
    # The mark must fit in a name: a long name is cut so that the marked one stays within NAME_MAX_LENGTH.
    return name[: NAME_MAX_LENGTH - len(INCOMPLETE_MARK) - 9] + INCOMPLETE_MARK


def incomplete_name(name: str) -> str:
    """A fresh marked name for a multi-request import of dataset ``name``."""
    return f"{_marked_prefix(name)}{secrets.token_hex(4)})"


async def remove_incomplete_imports(client: AsyncArizeClient, name: str, space: Ref) -> list[str]:
    """Delete the datasets an earlier, interrupted import of ``name`` left behind; notes saying which."""
    prefix = _marked_prefix(name)
    marked = re.compile(re.escape(prefix) + r"[0-9a-f]{8}\)")
    notes = []
    async for dataset in client.datasets.list(space=space.id, name=prefix, limit=100):
        if marked.fullmatch(dataset.name):
            await client.datasets.delete(dataset.id)
            notes.append(
                f"deleted '{dataset.name}' ({dataset.id}), left by an earlier import of '{name}' that was "
                "interrupted; this call wrote the dataset again from the start"
            )
    return notes


async def write_examples(
    ctx: ToolContext,
    client: AsyncArizeClient,
    name: str,
    space: Ref,
    batches: Callable[[], AsyncIterator[list[dict[str, Any]]]],
    total: int,
) -> tuple[Dataset, str, int, list[str]]:
    """Create dataset ``name`` from the batches, all or nothing; returns the dataset, the version ID, how many
    examples were written and notes.

    One request is atomic. Above ``MAX_EXAMPLES_PER_REQUEST`` the dataset is created under a marked name
    (``incomplete_name``), the rest appended to its first version, and it is renamed to ``name`` last: a killed
    import leaves only a marked dataset, which the same call retried deletes first (``remove_incomplete_imports``).

    Raises:
        ToolError: a request failed; a partial dataset is deleted first (the error says so, or names it).
    """
    notes = await remove_incomplete_imports(client, name, space) if total > MAX_EXAMPLES_PER_REQUEST else []
    creating = name if total <= MAX_EXAMPLES_PER_REQUEST else incomplete_name(name)
    dataset: Dataset | None = None
    version_id = ""
    written = 0

    def stopped(exc: Exception) -> str:
        return f"writing dataset '{name}' stopped after {written:,} of {total:,} examples: {exc} — "

    # A marked partial dataset that could not be deleted is found and removed by the same call, retried.
    async with discarded_on_failure("dataset", lambda: dataset, client.datasets.delete, stopped):
        async for batch in batches():
            if not batch:
                continue
            if dataset is None:
                dataset = await client.datasets.create(creating, batch, space=space.id)
                if not dataset.versions:
                    dataset = await client.datasets.get(dataset.id)
                version_id = dataset.versions[0].id if dataset.versions else ""
            else:
                appended = await client.datasets.append_examples(dataset.id, batch, version=version_id or None)
                version_id = appended.dataset_version_id
            written += len(batch)
            await ctx.report_progress(written, total, f"wrote {written:,} of {total:,} examples")
        if dataset is not None and dataset.name != name:
            dataset = await client.datasets.update(dataset.id, name=name)
    if dataset is None:
        raise ToolError("rows: no examples to write")
    return dataset, version_id, written, notes


async def _version_ref(client: AsyncArizeClient, dataset: Dataset, version_id: str) -> Ref:
    versions = dataset.versions if dataset.versions is not None else (await client.datasets.get(dataset.id)).versions
    for version in versions or []:
        if version.id == version_id:
            return Ref(id=version.id, name=version.name)
    return Ref(id=version_id, name=version_id)


@dataclass(frozen=True)
class _SpanColumn:
    """A dataset column read from spans: ``path`` on the span itself, or on the one other span of its trace that
    matches ``sibling`` (a span filter)."""

    name: str
    spec: str
    path: str
    sibling: str | None = None


def _span_columns(columns: Mapping[str, str]) -> list[_SpanColumn]:
    parsed = []
    for column, spec in columns.items():
        if column in (*SYSTEM_COLUMNS, "span_id", "trace_id"):
            raise ToolError(
                f"columns: {column!r} cannot be a mapped column — id, created_at and updated_at are assigned by the "
                "server, and span_id / trace_id are added to every example from its span; rename it"
            )
        sibling, arrow, path = spec.rpartition(SIBLING_ARROW)
        if not column.strip() or not path.strip() or (arrow and not sibling.strip()):
            raise ToolError(
                f"columns[{column!r}]: {spec!r} — write a span path ('attributes.input.value'), or 'FILTER -> path' "
                "to read the path on the one other span of the same trace that FILTER matches "
                "(\"span_kind = 'RETRIEVER' -> attributes.retrieval.documents\"); no part may be empty"
            )
        parsed.append(_SpanColumn(column, spec, path.strip(), sibling.strip() if arrow else None))
    return parsed


def _fitting(columns: list[DatasetColumn]) -> list[DatasetColumn]:
    """The first columns, up to ``RESULT_COLUMN_CHARS`` of them as JSON."""
    kept: list[DatasetColumn] = []
    room = RESULT_COLUMN_CHARS
    for column in columns:
        room -= json_size(column)
        if room < 0:
            break
        kept.append(column)
    return kept


def _span_filters(filter: str | None, span_ids: Sequence[str] | None) -> list[str | None]:
    if not span_ids:
        return [filter]
    filters: list[str | None] = []
    for chunk in chunked(span_ids, _IDS_PER_FILTER):
        ids = any_of("context.span_id", chunk)
        filters.append(f"({filter}) AND ({ids})" if filter else ids)
    return filters


async def _sibling_spans(
    client: AsyncArizeClient,
    project_id: str,
    space_id: str,
    window: tuple[datetime, datetime],
    column: _SpanColumn,
    views: Sequence[SpanView],
) -> dict[str, list[SpanView]]:
    """The spans of the traces of ``views`` that ``column``'s sibling filter matches, by trace ID.

    Raises:
        ToolError: the backend refused the filter (named as the column's), or a span has several such others.
    """
    assert column.sibling is not None
    traces = list(dict.fromkeys(view.trace_id for view in views))
    found: dict[str, list[SpanView]] = {}
    # A trace's other spans may start a little before or after the window its chosen span is in.
    start, end = window[0] - SIBLING_MARGIN, window[1] + SIBLING_MARGIN
    for chunk in chunked(traces, _IDS_PER_FILTER):
        ids = any_of("context.trace_id", chunk)
        listing = client.spans.list(
            project_id,
            space=space_id,
            start_time=start,
            end_time=end,
            filter=f"({column.sibling}) AND ({ids})",
            limit=SPAN_PAGE,
        )
        try:
            async for span in listing:
                view = span_view_of(span)
                found.setdefault(view.trace_id, []).append(view)
        except (BadRequestError, UnprocessableEntityError) as exc:
            raise ToolError(
                f"columns[{column.name!r}]: the backend refused the filter {column.sibling!r}: {exc.detail or exc}"
                " — fix the part before '->' (the filter syntax of search_spans)"
            ) from None
    for view in views:
        others = [s for s in found.get(view.trace_id, []) if s.span_id != view.span_id]
        if len(others) > 1:
            listed = ", ".join(f"{s.span_id} '{s.name}'" for s in others[:5])
            raise ToolError(
                f"nothing was created: columns[{column.name!r}] ({column.spec!r}): in trace {view.trace_id}, "
                f"{len(others)} spans other than span {view.span_id} match {column.sibling!r}: {listed} — the "
                "filter before '->' must match at most one other span per trace; narrow it (e.g. add "
                f"AND name = '{others[0].name}'). Where none matches, the column is left empty on that example"
            )
    return found


async def _read_spans(
    ctx: ToolContext,
    client: AsyncArizeClient,
    project_id: str,
    space_id: str,
    window: tuple[datetime, datetime],
    filters: list[str | None],
    max_spans: int,
) -> tuple[list[SpanView], bool]:
    """The spans the filters choose, newest first, at most ``max_spans``; and whether more matched."""
    views: list[SpanView] = []
    seen: set[str] = set()
    for span_filter in filters:
        spans = client.spans.list(
            project_id, space=space_id, start_time=window[0], end_time=window[1], filter=span_filter, limit=SPAN_PAGE
        )
        async for span in spans:
            if span.context.span_id in seen:
                continue
            if len(views) >= max_spans:
                return views, True
            seen.add(span.context.span_id)
            views.append(span_view_of(span))
        await ctx.report_progress(len(views), None, f"read {len(views):,} spans")
    return views, False


@dataclass
class _FromSpans:
    """The examples built from spans, and how each column fared."""

    records: list[dict[str, Any]]
    columns: list[DatasetColumn]
    skipped: int
    notes: list[str]


def _span_examples(
    views: Sequence[SpanView],
    columns: Sequence[_SpanColumn],
    siblings: Mapping[str, Mapping[str, list[SpanView]]],
    skip_incomplete: bool,
) -> _FromSpans:
    records: list[dict[str, Any]] = []
    filled = dict.fromkeys((c.name for c in columns), 0)
    missing: dict[str, list[str]] = {c.name: [] for c in columns}
    alone: dict[str, int] = dict.fromkeys((c.name for c in columns), 0)
    skipped = 0
    for view in views:
        example: dict[str, Any] = {}
        for column in columns:
            source: SpanView | None = view
            if column.sibling is not None:
                others = [s for s in siblings[column.sibling].get(view.trace_id, []) if s.span_id != view.span_id]
                source = others[0] if others else None
                if source is None:
                    alone[column.name] += 1
            value = span_value(source, column.path) if source is not None else MISSING
            if value is MISSING:
                missing[column.name].append(view.span_id)
            else:
                example[column.name] = plain_value(value)
        if skip_incomplete and len(example) < len(columns):
            skipped += 1
            continue
        for name in example:
            filled[name] += 1
        records.append({**example, "span_id": view.span_id, "trace_id": view.trace_id})
    notes = []
    for column in columns:
        pathless = len(missing[column.name]) - alone[column.name]
        if alone[column.name]:
            without = f", and on {pathless:,} more the matching span has no value at {column.path}" if pathless else ""
            notes.append(
                f"column {column.name!r}: {alone[column.name]:,} spans have no other span in their trace matching "
                f"{column.sibling!r}; the column is empty on them{without}"
            )
        elif len(missing[column.name]) == len(views):
            notes.append(
                f"no span had a value at {column.path} (column {column.name!r}) — look at a span with get_trace to "
                "find the right path"
            )
    described = [
        DatasetColumn(
            name=c.name,
            rows=filled[c.name],
            source=c.spec,
            missing=len(missing[c.name]) or None,
            missing_on=missing[c.name][:5] or None,
        )
        for c in columns
    ]
    described += [
        DatasetColumn(name=key, rows=len(records), source=f"context.{key}") for key in ("span_id", "trace_id")
    ]
    return _FromSpans(records, described, skipped, notes)


_SPAN_ARGUMENTS = ("filter", "span_ids", "columns", "start_time", "end_time", "max_spans", "skip_incomplete")


@tool_errors
async def create_dataset(
    ctx: ToolContext,
    name: DatasetName,
    rows: Rows = None,
    file: FilePath = None,
    project: Annotated[str | None, Field(min_length=1, max_length=512, description="Build from its spans.")] = None,
    filter: Annotated[str | None, Field(min_length=1, max_length=2000, description="Span filter.")] = None,
    span_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(min_length=1, max_length=1000, description="Hex span IDs."),
    ] = None,
    columns: Annotated[
        dict[str, str] | None,
        Field(description="Column → span path, or 'FILTER -> path' on the trace's one other span FILTER matches."),
    ] = None,
    start_time: Annotated[
        str | None, Field(min_length=1, max_length=64, description="ISO 8601, 'now' or '-7d' (default).")
    ] = None,
    end_time: Annotated[str | None, Field(min_length=1, max_length=64, description="Default now.")] = None,
    max_spans: Annotated[int, Field(ge=1, le=10_000, description="Newest first.")] = 1000,
    skip_incomplete: Annotated[bool, Field(description="Drop spans missing a column.")] = False,
) -> CreateDatasetResult:
    """Create a dataset from rows, a file or a project's spans (one example each, last 7 days by default)."""
    state = app_state(ctx)
    given = [arg for arg, value in (("rows", rows), ("file", file), ("project", project)) if value is not None]
    if len(given) != 1:
        raise ToolError(
            "rows, file, project: give exactly one — rows=[{...}] inline, file='data.csv' (CSV, JSON, JSONL or "
            "Parquet), or project='…' to build the dataset from its spans"
        )
    if project is not None:
        return await _create_from_spans(
            ctx, name, project, filter, span_ids, columns, start_time, end_time, max_spans, skip_incomplete
        )
    defaults = {"max_spans": 1000, "skip_incomplete": False}
    stray = [
        arg
        for arg, value in zip(
            _SPAN_ARGUMENTS, (filter, span_ids, columns, start_time, end_time, max_spans, skip_incomplete), strict=True
        )
        if value is not None and value != defaults.get(arg)
    ]
    if stray:
        verb = "applies" if len(stray) == 1 else "apply"
        raise ToolError(f"{', '.join(stray)}: {verb} only with project= (a dataset built from spans); drop it")
    source = RowSource.of(rows, file, None)
    where = await space_ref(state)
    await ensure_dataset_name_free(state.client, name, where)
    checker = await _check_examples(ctx, source)

    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        async for batch in source.batches(MAX_EXAMPLES_PER_REQUEST):
            yield [record.values for record in batch]

    dataset, version_id, written, cleaned = await write_examples(ctx, state.client, name, where, batches, checker.rows)
    counted = sorted(checker.columns.items(), key=lambda item: (-item[1], item[0]))
    return CreateDatasetResult(
        dataset=Ref(id=dataset.id, name=dataset.name),
        space=where,
        version=await _version_ref(state.client, dataset, version_id),
        example_count=written,
        columns=_fitting([DatasetColumn(name=n, rows=c) for n, c in counted]),
        source=source.describe(),
        notes=cleaned + checker.notes(),
    )


async def _create_from_spans(
    ctx: ToolContext,
    name: str,
    project: str,
    filter: str | None,
    span_ids: list[str] | None,
    columns: dict[str, str] | None,
    start_time: str | None,
    end_time: str | None,
    max_spans: int,
    skip_incomplete: bool,
) -> CreateDatasetResult:
    state = app_state(ctx)
    client = state.client
    mapping = dict(columns) if columns is not None else dict(DEFAULT_SPAN_COLUMNS)
    if not mapping:
        raise ToolError("columns: map at least one column, e.g. {'input': 'attributes.input.value'}")
    specs = _span_columns(mapping)
    wanted = list(dict.fromkeys(s.lower() for s in span_ids)) if span_ids else None
    for span_id in wanted or []:
        if not _SPAN_ID.match(span_id):
            raise ToolError(f"span_ids: {span_id!r} is not a span ID (hex digits, as search_spans shows them)")
    now = state.clock()
    start = parse_time(start_time or "-7d", "start_time", now=now)
    end = parse_time(end_time, "end_time", now=now) if end_time else now
    if start >= end:
        raise ToolError("start_time: must be before end_time — widen the window")
    where = await space_ref(state)
    found_project = await client.projects.get(project, space=where.id)
    await ensure_dataset_name_free(client, name, where)

    window = (start, end)
    views, more_available = await _read_spans(
        ctx, client, found_project.id, where.id, window, _span_filters(filter, wanted), max_spans
    )
    shown = f"{iso(start)} to {iso(end)}"
    if not views:
        chosen = []
        if filter:
            chosen.append(f"filter {filter!r}")
        if wanted:
            chosen.append(f"the {len(wanted)} span_ids given")
        what = " and ".join(chosen) or "any span"
        raise ToolError(
            f"nothing was created: no span of project '{found_project.name}' matches {what} between {shown} — "
            "check the filter and window with search_spans, or widen start_time (e.g. '-30d')"
        )
    siblings: dict[str, dict[str, list[SpanView]]] = {}
    for spec in specs:
        if spec.sibling is not None and spec.sibling not in siblings:
            siblings[spec.sibling] = await _sibling_spans(client, found_project.id, where.id, window, spec, views)
    built = _span_examples(views, specs, siblings, skip_incomplete)
    if not built.records:
        raise ToolError(
            f"nothing was created: all {len(views)} spans read lack a value for a mapped column and "
            "skip_incomplete is true — "
            + "; ".join(f"{c.name} ← {c.source}: missing on {c.missing} spans" for c in built.columns if c.missing)
            + " — check the paths on one span with get_trace"
        )
    records = built.records

    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        for chunk in chunked(records, MAX_EXAMPLES_PER_REQUEST):
            yield list(chunk)

    dataset, version_id, _, cleaned = await write_examples(ctx, client, name, where, batches, len(records))
    version = await _version_ref(client, dataset, version_id)
    notes = cleaned + list(built.notes)
    if more_available:
        notes.insert(
            0,
            f"more spans match than max_spans={max_spans}; the newest {max_spans} were taken — raise max_spans or "
            "narrow the filter or window",
        )
    seen = {view.span_id for view in views}
    described = f"spans of project '{found_project.name}'" + (f" matching {filter!r}" if filter else "")
    return CreateDatasetResult(
        dataset=Ref(id=dataset.id, name=dataset.name),
        space=where,
        version=version,
        example_count=len(built.records),
        columns=_fitting(built.columns),
        source=described,
        project=Ref(id=found_project.id, name=found_project.name),
        window=TimeWindow(start=iso(start), end=iso(end)),
        spans_read=len(views),
        skipped_spans=built.skipped,
        span_ids_not_found=[s for s in wanted or [] if s not in seen][:50] or None,
        notes=notes,
    )


# --- get_dataset_examples ---------------------------------------------------------------------------------------


class ExampleRow(BaseModel):
    """One dataset example: its ID and its (projected, compacted) values."""

    id: str = Field(description="The example's ID (the example_id of experiment runs).")
    values: dict[str, Any] = Field(description="The example's columns; long strings are cut with a marker.")
    annotations: list[dict[str, Any]] | None = Field(
        default=None, description="Human annotations on the example (name, label, score, text), when there are any."
    )


class DatasetExamplesResult(ListResult):
    """A page of a dataset's examples."""

    dataset: Ref = Field(description="The dataset.")
    version: Ref = Field(description="The dataset version read.")
    items: list[ExampleRow] = Field(description="The examples, in dataset order.")
    columns: list[str] = Field(description="The columns seen on the examples returned (the first ones).")
    fields_not_found: list[str] = Field(description="Requested fields no returned example has.")
    note: str | None = Field(default=None, description="What to do next when the page is empty or was cut short.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many examples of which dataset, and whether more follow (or why there are none)."""
        if not self.items and self.note:
            return self.note[0].upper() + self.note[1:] + ".", "note"
        count = len(self.items)
        more = "; more follow: call again with cursor=next_cursor" if self.has_more else ""
        return (
            f"{count} example{'' if count == 1 else 's'} of dataset '{self.dataset.name}' "
            f"(version '{self.version.name}'){more}.",
            None,
        )


def _first(names: list[str], chars: int) -> list[str]:
    """The first of ``names`` that fit in ``chars`` characters."""
    kept: list[str] = []
    for name in names:
        chars -= len(name) + 3
        if chars < 0:
            break
        kept.append(name)
    return kept


def _latest_version(dataset: Dataset) -> Ref:
    if not dataset.versions:
        raise ToolError(f"dataset '{dataset.name}' has no version yet — add examples with create_dataset")
    return Ref(id=dataset.versions[0].id, name=dataset.versions[0].name)


@tool_errors
async def get_dataset_examples(
    ctx: ToolContext,
    dataset: DatasetRef,
    filter: Annotated[
        str | None,
        Field(min_length=1, max_length=2000, description="Over columns, e.g. \"topic = 'math'\"."),
    ] = None,
    fields: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]] | None,
        Field(min_length=1, max_length=50, description="Columns to show."),
    ] = None,
    cursor: Cursor = None,
) -> DatasetExamplesResult:
    """Read a dataset's examples: IDs and values (long ones cut), filtered or projected."""
    state = app_state(ctx)
    client = state.client
    found = await client.datasets.get(dataset)
    chosen = _latest_version(found)
    # Projected fields are shown longer: a page has room for EXAMPLE_CHARS of each example.
    max_chars = max(VALUE_CHARS, EXAMPLE_CHARS // len(fields) - 100) if fields else VALUE_CHARS
    fetch: Callable[[str | None], Awaitable[Page[DatasetExample]]]
    if filter is not None:
        fetch = client.datasets.search_examples(found.id, filter=filter, version=chosen.id, limit=EXAMPLE_PAGE).page
    else:
        fetch = client.datasets.list_examples(found.id, version=chosen.id, limit=EXAMPLE_PAGE).page
    columns: dict[str, None] = {}
    present: set[str] = set()

    def how(path: str) -> str:
        column = path.split("[")[0].split(".")[0]
        if fields is not None and len(fields) == 1:
            return "longer values are not shown"
        return f"call get_dataset_examples(dataset='{found.name}', fields=['{column}']) for more"

    def short_how(path: str) -> str:
        return "not shown" if fields is not None and len(fields) == 1 else f"fields=['{path.split('.')[0]}']"

    def row(example: DatasetExample) -> ExampleRow:
        values = example.fields
        columns.update(dict.fromkeys(values))
        if fields is not None:
            projected = {}
            for name in fields:
                value = record_value(values, name)
                if value is not MISSING:
                    projected[name] = value
                    present.add(name)
            values = projected
        annotations = [a.model_dump(mode="json", exclude_none=True) for a in example.annotations or []]
        chars, marker = max_chars, how
        while True:
            shown = ExampleRow(
                id=example.id,
                values=compact(values, max_chars=chars, how=marker),
                annotations=compact(annotations, max_chars=chars) or None,
            )
            size = json_size(shown)
            # A wide example is cut shorter (with shorter markers), so that a page always has room for it.
            if size <= EXAMPLE_CHARS or chars <= 20:
                return shown
            chars, marker = max(20, chars * EXAMPLE_CHARS // size - 10), short_how

    scope = scope_of("get_dataset_examples", found.id, chosen.id, filter, fields)
    collected = await collect(
        fetch, scope=scope, cursor=cursor, limit=EXAMPLE_ROWS, row=row, budget_chars=EXAMPLES_BUDGET
    )
    note = None
    if not collected.rows and cursor is None:
        note = (
            f"no example matches filter {filter!r}; call without filter to see the columns"
            if filter
            else f"dataset '{found.name}' (version '{chosen.name}') has no examples"
        )
    elif collected.stopped_for_budget:
        note = "stopped early to keep the answer short; call again with cursor=next_cursor, or pass fields= to project"
    return DatasetExamplesResult(
        dataset=Ref(id=found.id, name=found.name),
        version=chosen,
        items=collected.rows,
        columns=_first(list(columns), COLUMN_CHARS),
        fields_not_found=[f for f in fields or [] if f not in present] if collected.rows else [],
        has_more=collected.has_more,
        next_cursor=collected.next_cursor,
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register the dataset tools."""
    register_tool(server, create_dataset, title="Create a dataset", kind="create")
    register_tool(server, get_dataset_examples, title="Read dataset examples", kind="read")
