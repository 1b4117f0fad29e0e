"""``create_dataset``, ``create_dataset_from_spans`` and ``get_dataset_examples``: datasets in, examples out.

Every write is checked whole before anything is sent: a bad row is reported by number and column and nothing
is created. Files of any size are read as a stream (``files.py``) and written in requests of at most 1000
examples through the client, the first creating the dataset and the rest appended to its first version.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...client import AsyncArizeClient, Page
from ...errors import ArizeSkillsError, NameNotFoundError
from ...evals.mapping import MISSING, record_value, span_value, span_view_of
from ...models._base import iso
from ...models.datasets import MAX_EXAMPLES_PER_REQUEST, Dataset, DatasetExample
from ..budget import DEFAULT_BUDGET_CHARS, collect, compact, scope_of
from ..errors import tool_errors
from ..files import FileFormat, Record, RowProblems, TableFile, open_table, plain_value, record_batches
from ..state import AppState, app_state
from ..types import (
    Cursor,
    DatasetRef,
    EndTime,
    Limit,
    ListResult,
    ProjectRef,
    Ref,
    SpaceArg,
    StartTime,
    ToolContext,
    ToolResult,
    parse_time,
)
from . import register_tool

__all__ = [
    "CreateDatasetFromSpansResult",
    "CreateDatasetResult",
    "DatasetExamplesResult",
    "RowSource",
    "create_dataset",
    "create_dataset_from_spans",
    "get_dataset_examples",
    "register",
    "space_ref",
]

SYSTEM_COLUMNS = ("id", "created_at", "updated_at")
MAX_INLINE_ROWS = 5000
SPAN_PAGE = 500
EXAMPLE_PAGE = 100
"""Backend page size of ``get_dataset_examples``; fixed so cursors stay valid."""

DEFAULT_SPAN_COLUMNS = {"input": "attributes.input.value", "output": "attributes.output.value"}
_SPAN_ID = re.compile(r"^[0-9a-fA-F]{1,64}$")
_IDS_PER_FILTER = 50

DatasetName = Annotated[
    str,
    Field(min_length=1, max_length=255, description="The new dataset's name (unique in the space)."),
]
Rows = Annotated[
    list[dict[str, Any]] | None,
    Field(
        min_length=1,
        max_length=MAX_INLINE_ROWS,
        description=f"The examples as a list of objects (column → value), at most {MAX_INLINE_ROWS:,}; for more, "
        "write them to a file and pass file=. Give either rows or file.",
    ),
]
FilePath = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=4096,
        description="Path of a CSV, JSON (array of objects), JSONL or Parquet file on the machine the MCP server "
        "runs on (absolute, or relative to its working directory), of any size. Give either rows or file.",
    ),
]
FileFormatArg = Annotated[
    FileFormat | None,
    Field(description="The file's format when its suffix does not say it (.csv, .json, .jsonl, .parquet/.pq)."),
]


# --- shared helpers ---------------------------------------------------------------------------------------------


async def space_ref(state: AppState, space: str | None) -> Ref:
    """The space a tool works in (the default one when ``space`` is None), by name and ID."""
    if space is None:
        default = await state.require_space()
        return Ref(id=default.id, name=default.name)
    found = await state.client.spaces.get(space)
    return Ref(id=found.id, name=found.name)


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


class ColumnCount(BaseModel):
    """A column and how many rows have a value in it."""

    name: str = Field(description="The column name.")
    rows: int = Field(description="How many rows have a value in this column.")


class CreateDatasetResult(ToolResult):
    """The dataset created, its first version and what went into it."""

    dataset: Ref = Field(description="The new dataset.")
    space: Ref = Field(description="The space it is in.")
    version: Ref = Field(description="The dataset version the examples were written to.")
    example_count: int = Field(description="How many examples were written.")
    columns: list[ColumnCount] = Field(description="Every column (first 100), with how many rows fill it.")
    source: str = Field(description="Where the rows came from.")
    notes: list[str] = Field(description="Things worth checking: sparse or near-duplicate columns.")


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
    async for batch in source.batches(MAX_EXAMPLES_PER_REQUEST):
        for record in batch:
            checker.check(record)
        await ctx.report_progress(checker.rows, None, f"checked {checker.rows:,} rows")
    if checker.rows == 0:
        raise ToolError(f"{'file' if source.table else 'rows'}: no rows found in {source.describe()} — nothing to add")
    if checker.problems:
        raise ToolError(
            checker.problems.report(
                f"nothing was written: {checker.problems.bad_rows:,} of {checker.rows:,} rows have problems "
                "(rows are numbered from 1; a CSV header is not a row):"
            )
        )
    return checker


async def write_examples(
    ctx: ToolContext,
    client: AsyncArizeClient,
    name: str,
    space: Ref,
    batches: Callable[[], AsyncIterator[list[dict[str, Any]]]],
    total: int,
) -> tuple[Dataset, str, int]:
    """Create dataset ``name`` from the first batch and append the rest to its first version; returns the
    dataset, the version ID and how many examples were written.

    Raises:
        ToolError: a request failed after the dataset was created (it then holds the examples sent so far).
    """
    dataset: Dataset | None = None
    version_id = ""
    written = 0
    try:
        async for batch in batches():
            if not batch:
                continue
            if dataset is None:
                dataset = await client.datasets.create(name, batch, space=space.id)
                if not dataset.versions:
                    dataset = await client.datasets.get(dataset.id)
                version_id = dataset.versions[0].id if dataset.versions else ""
            else:
                appended = await client.datasets.append_examples(dataset.id, batch, version=version_id or None)
                version_id = appended.dataset_version_id
            written += len(batch)
            await ctx.report_progress(written, total, f"wrote {written:,} of {total:,} examples")
    except ArizeSkillsError as exc:
        if dataset is None:
            raise
        raise ToolError(
            f"dataset '{name}' ({dataset.id}) was created but writing stopped after {written:,} of {total:,} "
            f"examples: {exc} — it holds the examples written so far; delete it and call again to start over"
        ) from None
    if dataset is None:
        raise ToolError("rows: no examples to write")
    return dataset, version_id, written


async def _version_ref(client: AsyncArizeClient, dataset: Dataset, version_id: str) -> Ref:
    versions = dataset.versions if dataset.versions is not None else (await client.datasets.get(dataset.id)).versions
    for version in versions or []:
        if version.id == version_id:
            return Ref(id=version.id, name=version.name)
    return Ref(id=version_id, name=version_id)


@tool_errors
async def create_dataset(
    ctx: ToolContext,
    name: DatasetName,
    rows: Rows = None,
    file: FilePath = None,
    file_format: FileFormatArg = None,
    space: SpaceArg = None,
) -> CreateDatasetResult:
    """Create a dataset from examples given inline (rows=[{...}]) or in a CSV, JSON, JSONL or Parquet file of any
    size. Every row is checked before anything is written: an empty row, or an id / created_at / updated_at
    column (assigned by the server), is reported by row number and column and nothing is created. Examples are
    free-form objects; CSV cells stay text. Returns the dataset's name and ID, its version, the example count and
    the columns (with notes on sparse or near-duplicate columns). Use create_dataset_from_spans to build one from
    traced spans, and get_dataset_examples to read it back."""
    state = app_state(ctx)
    source = RowSource.of(rows, file, file_format)
    where = await space_ref(state, space)
    await ensure_dataset_name_free(state.client, name, where)
    checker = await _check_examples(ctx, source)

    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        async for batch in source.batches(MAX_EXAMPLES_PER_REQUEST):
            yield [record.values for record in batch]

    dataset, version_id, written = await write_examples(ctx, state.client, name, where, batches, checker.rows)
    columns = sorted(checker.columns.items(), key=lambda item: (-item[1], item[0]))
    return CreateDatasetResult(
        dataset=Ref(id=dataset.id, name=dataset.name),
        space=where,
        version=await _version_ref(state.client, dataset, version_id),
        example_count=written,
        columns=[ColumnCount(name=n, rows=c) for n, c in columns[:100]],
        source=source.describe(),
        notes=checker.notes(),
    )


# --- create_dataset_from_spans ----------------------------------------------------------------------------------


class MissingField(BaseModel):
    """A mapped column some spans had no value for."""

    column: str = Field(description="The dataset column.")
    path: str = Field(description="The span path it is read from.")
    spans: int = Field(description="How many of the spans read have no value at this path.")
    sample_span_ids: list[str] = Field(description="Up to 5 of those spans (look at one with get_trace).")


class CreateDatasetFromSpansResult(ToolResult):
    """The dataset built from spans, and how each mapped column fared."""

    dataset: Ref = Field(description="The new dataset.")
    project: Ref = Field(description="The project the spans came from.")
    space: Ref = Field(description="The space.")
    version: Ref | None = Field(description="The dataset version the examples were written to.")
    example_count: int = Field(description="How many examples were written (one per span).")
    spans_read: int = Field(description="How many spans matched and were read.")
    skipped_spans: int = Field(description="Spans left out because a mapped column had no value (skip_incomplete).")
    columns: dict[str, str] = Field(
        description="Each dataset column and the span path it was read from; every example also has span_id and "
        "trace_id, the span it came from."
    )
    missing: list[MissingField] = Field(description="Mapped columns some spans had no value for.")
    span_ids_not_found: list[str] = Field(description="Requested span IDs not found in the window (first 50).")
    window_start: str = Field(description="Start of the time window searched (UTC).")
    window_end: str = Field(description="End of the time window searched (UTC).")
    notes: list[str] = Field(description="What else to know: more spans than max_spans, values not found.")


def _span_filters(filter: str | None, span_ids: Sequence[str] | None) -> list[str | None]:
    if not span_ids:
        return [filter]
    filters: list[str | None] = []
    for start in range(0, len(span_ids), _IDS_PER_FILTER):
        chunk = span_ids[start : start + _IDS_PER_FILTER]
        ids = " OR ".join(f"context.span_id = '{span_id}'" for span_id in chunk)
        filters.append(f"({filter}) AND ({ids})" if filter else ids)
    return filters


def _check_span_columns(columns: Mapping[str, str]) -> None:
    for column, path in columns.items():
        if column in (*SYSTEM_COLUMNS, "span_id", "trace_id"):
            raise ToolError(
                f"columns: {column!r} cannot be a mapped column — id, created_at and updated_at are assigned by the "
                "server, and span_id / trace_id are added to every example from its span; rename it"
            )
        if not column.strip() or not path.strip():
            raise ToolError(
                "columns: every entry maps a column name to a span path, such as "
                "{'input': 'attributes.input.value'}; neither may be empty"
            )


@tool_errors
async def create_dataset_from_spans(
    ctx: ToolContext,
    name: DatasetName,
    project: ProjectRef,
    filter: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2000,
            description="Span filter choosing the spans, e.g. \"span_kind = 'LLM' AND eval.correctness.label = "
            "'incorrect'\" (strings in single quotes). Omit to take every span in the window (up to max_spans).",
        ),
    ] = None,
    span_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(
            min_length=1,
            max_length=1000,
            description="Exact span IDs (hex) to take, e.g. from search_spans; combined with filter when both are "
            "given. IDs not found in the window are listed in the result.",
        ),
    ] = None,
    columns: Annotated[
        dict[str, str] | None,
        Field(
            description="Dataset column → span path it is read from, e.g. {'input': 'attributes.input.value', "
            "'output': 'attributes.output.value', 'model': 'attributes.llm.model_name', 'user': "
            "'attributes.metadata.user_id'}. Default: input ← attributes.input.value, output ← "
            "attributes.output.value. span_id and trace_id are always added."
        ),
    ] = None,
    start_time: StartTime = None,
    end_time: EndTime = None,
    max_spans: Annotated[
        int, Field(ge=1, le=10_000, description="Most spans to take (the newest first), 1-10,000.")
    ] = 1000,
    skip_incomplete: Annotated[
        bool,
        Field(
            description="Leave out spans missing a value for any mapped column (default false: keep them, without "
            "that column)."
        ),
    ] = False,
    space: SpaceArg = None,
) -> CreateDatasetFromSpansResult:
    """Create a dataset from traced spans: each span matching the filter (or listed in span_ids) in the time window
    becomes one example, its columns read from span paths (default input ← attributes.input.value, output ←
    attributes.output.value), with the source span_id and trace_id kept on every example. Reports, per column,
    the spans that had no value at its path (check the paths with search_spans first), and the span IDs not found.
    Nothing is created when no span matches. The window defaults to the last 7 days. Use it to turn production
    traffic (failures, low scores, a sample) into a test set for experiments."""
    state = app_state(ctx)
    client = state.client
    mapping = dict(columns) if columns is not None else dict(DEFAULT_SPAN_COLUMNS)
    if not mapping:
        raise ToolError("columns: map at least one column, e.g. {'input': 'attributes.input.value'}")
    _check_span_columns(mapping)
    wanted = list(dict.fromkeys(s.lower() for s in span_ids)) if span_ids else None
    for span_id in wanted or []:
        if not _SPAN_ID.match(span_id):
            raise ToolError(f"span_ids: {span_id!r} is not a span ID (hex digits, as search_spans shows them)")
    now = state.clock()
    start = parse_time(start_time or "-7d", "start_time", now=now)
    end = parse_time(end_time, "end_time", now=now) if end_time else now
    if start >= end:
        raise ToolError("start_time: must be before end_time — widen the window")
    where = await space_ref(state, space)
    found_project = await client.projects.get(project, space=where.id)
    await ensure_dataset_name_free(client, name, where)

    records: list[dict[str, Any]] = []
    missing: dict[str, MissingField] = {}
    seen: set[str] = set()
    spans_read = skipped = 0
    more_available = False
    for span_filter in _span_filters(filter, wanted):
        spans = client.spans.list(
            found_project.id, space=where.id, start_time=start, end_time=end, filter=span_filter, limit=SPAN_PAGE
        )
        async for span in spans:
            if span.context.span_id in seen:
                continue
            if spans_read >= max_spans:
                more_available = True
                break
            seen.add(span.context.span_id)
            spans_read += 1
            view = span_view_of(span)
            example: dict[str, Any] = {}
            incomplete = False
            for column, path in mapping.items():
                value = span_value(view, path)
                if value is MISSING:
                    incomplete = True
                    entry = missing.setdefault(
                        column, MissingField(column=column, path=path, spans=0, sample_span_ids=[])
                    )
                    entry.spans += 1
                    if len(entry.sample_span_ids) < 5:
                        entry.sample_span_ids.append(view.span_id)
                    continue
                example[column] = plain_value(value)
            if incomplete and skip_incomplete:
                skipped += 1
                continue
            example["span_id"] = view.span_id
            example["trace_id"] = view.trace_id
            records.append(example)
        if more_available:
            break
        await ctx.report_progress(spans_read, None, f"read {spans_read:,} spans")

    window = f"{iso(start)} to {iso(end)}"
    not_found = [s for s in wanted or [] if s not in seen]
    if spans_read == 0:
        chosen = []
        if filter:
            chosen.append(f"filter {filter!r}")
        if wanted:
            chosen.append(f"the {len(wanted)} span_ids given")
        what = " and ".join(chosen) or "any span"
        raise ToolError(
            f"nothing was created: no span of project '{found_project.name}' matches {what} between {window} — "
            "check the filter and window with search_spans, or widen start_time (e.g. '-30d')"
        )
    if not records:
        raise ToolError(
            f"nothing was created: all {spans_read} spans read lack a value for a mapped column and "
            "skip_incomplete is true — "
            + "; ".join(f"{m.column} ← {m.path}: missing on {m.spans} spans" for m in missing.values())
            + " — check the paths on one span with get_trace"
        )
    dataset = await client.datasets.create(name, records, space=where.id)
    if not dataset.versions:
        dataset = await client.datasets.get(dataset.id)
    version = dataset.versions[0] if dataset.versions else None
    notes = []
    if more_available:
        notes.append(
            f"more spans match than max_spans={max_spans}; the newest {max_spans} were taken — raise max_spans or "
            "narrow the filter or window"
        )
    for entry in missing.values():
        if entry.spans == spans_read:
            notes.append(
                f"no span had a value at {entry.path} (column {entry.column!r}) — look at a span with get_trace to "
                "find the right path"
            )
    return CreateDatasetFromSpansResult(
        dataset=Ref(id=dataset.id, name=dataset.name),
        project=Ref(id=found_project.id, name=found_project.name),
        space=where,
        version=Ref(id=version.id, name=version.name) if version else None,
        example_count=len(records),
        spans_read=spans_read,
        skipped_spans=skipped,
        columns=mapping,
        missing=list(missing.values()),
        span_ids_not_found=not_found[:50],
        window_start=iso(start),
        window_end=iso(end),
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
    columns: list[str] = Field(description="The columns seen on the examples returned.")
    fields_not_found: list[str] = Field(description="Requested fields no returned example has.")
    note: str | None = Field(default=None, description="What to do next when the page is empty or was cut short.")


def _version_of(dataset: Dataset, version: str | None) -> Ref:
    versions = dataset.versions or []
    if version is None:
        if not versions:
            raise ToolError(f"dataset '{dataset.name}' has no version yet — add examples with create_dataset")
        return Ref(id=versions[0].id, name=versions[0].name)
    for candidate in versions:
        if version in (candidate.id, candidate.name):
            return Ref(id=candidate.id, name=candidate.name)
    listed = ", ".join(f"{v.name} ({v.id})" for v in versions[:10])
    raise ToolError(f"version: dataset '{dataset.name}' has no version {version!r} — its versions: {listed}")


@tool_errors
async def get_dataset_examples(
    ctx: ToolContext,
    dataset: DatasetRef,
    filter: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2000,
            description="Keep examples matching this filter over their columns, e.g. \"topic = 'math'\" or "
            "\"annotation.quality.label = 'bad'\" (strings in single quotes). Omit for every example.",
        ),
    ] = None,
    fields: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]] | None,
        Field(
            min_length=1,
            max_length=50,
            description="Return only these columns (dotted paths read into JSON values, e.g. 'input.question'); "
            "omit for all columns.",
        ),
    ] = None,
    version: Annotated[
        str | None,
        Field(min_length=1, max_length=512, description="A dataset version's ID or name; omit for the latest."),
    ] = None,
    max_chars: Annotated[
        int,
        Field(ge=20, le=20_000, description="Longest string shown per value before it is cut with a marker."),
    ] = 300,
    limit: Limit = 20,
    cursor: Cursor = None,
    space: SpaceArg = None,
) -> DatasetExamplesResult:
    """Read a dataset's examples, compactly: IDs and values (long strings cut with a marker saying how to get
    them whole), optionally filtered and projected to some fields, paged with cursor=next_cursor. Use it to look
    at a dataset before running or uploading an experiment (experiment runs need these example IDs), to check
    the columns a prompt's variables must match, or to find examples by content. Read-only."""
    state = app_state(ctx)
    client = state.client
    found = await client.datasets.get(dataset, space=space)
    chosen = _version_of(found, version)
    fetch: Callable[[str | None], Awaitable[Page[DatasetExample]]]
    if filter is not None:
        fetch = client.datasets.search_examples(found.id, filter=filter, version=chosen.id, limit=EXAMPLE_PAGE).page
    else:
        fetch = client.datasets.list_examples(found.id, version=chosen.id, limit=EXAMPLE_PAGE).page
    columns: dict[str, None] = {}
    present: set[str] = set()

    def how(path: str) -> str:
        column = path.split("[")[0].split(".")[0]
        return f"call get_dataset_examples(dataset='{found.name}', fields=['{column}'], max_chars=20000)"

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
        return ExampleRow(
            id=example.id,
            values=compact(values, max_chars=max_chars, how=how),
            annotations=compact(annotations, max_chars=max_chars) or None,
        )

    scope = scope_of("get_dataset_examples", found.id, chosen.id, filter, fields, max_chars)
    collected = await collect(
        fetch, scope=scope, cursor=cursor, limit=limit, row=row, budget_chars=DEFAULT_BUDGET_CHARS
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
        columns=list(columns),
        fields_not_found=[f for f in fields or [] if f not in present] if collected.rows else [],
        has_more=collected.has_more,
        next_cursor=collected.next_cursor,
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register the dataset tools."""
    register_tool(server, create_dataset, title="Create a dataset", kind="create")
    register_tool(server, create_dataset_from_spans, title="Create a dataset from spans", kind="create")
    register_tool(server, get_dataset_examples, title="Read dataset examples", kind="read")
