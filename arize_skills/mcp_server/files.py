"""Rows out of CSV, JSON (an array of objects), JSONL and Parquet files, streamed, for uploads of any size.

``open_table(path, format)`` checks the file and settles its format (from ``format``, else the suffix, else
the file's first bytes);
``iter_records(table)`` yields one ``Record`` per row without loading the file whole, and ``record_batches``
does the same in batches read on a worker thread, so a large file never blocks the event loop::

    table = open_table("runs.csv", None)
    async for batch in record_batches(table, 1000):
        for record in batch:
            record.row, record.values, record.problem

Rows are numbered from 1: the CSV header is not a row; a JSON array's first element is row 1; in JSONL the row
is the line number (blank lines are skipped but still counted, so the number is the line an editor shows);
Parquet rows count from the first row group. No row is ever skipped: a row that cannot be read (a JSONL line
that is not JSON, a JSON element that is not an object, a CSV line with more or fewer values than the header has
columns) comes back with ``problem`` set and ``values`` empty, so a caller can report every bad row; a file whose
structure is broken beyond one row raises ``ToolError`` naming the row and line where it broke (a CSV quote never
closed, which would otherwise swallow every row after it; JSON that does not parse; a Parquet row group that
cannot be read; a duplicate CSV column). Messages name the tool argument that gave the file.

Values are plain JSON data. CSV cells stay text — ``"007"`` and ``"4"`` are kept as written, never turned into
numbers (AX refuses a numeric ``output`` or ``example_id``, the pitfall of pandas' type guessing) — and an empty
cell is an absent value, as pandas reads it. JSON keeps its types. Parquet values become their JSON form
(timestamps as ISO text, decimals as numbers, NaN as null). Parquet needs ``pyarrow``, an optional dependency
(``pip install 'arize-skills[parquet]'``); without it, reading a Parquet file is a ``ToolError`` saying so.

Confinement: a server whose ``AppState.files_root`` is set (the HTTP transport: ``--files-root``, default the
folder it started in) reads files only under that folder. ``FilesRootMiddleware`` makes the running server's
folder the one ``open_table`` checks for the length of each request; relative paths are read from it, and a path
that leads out of it (``..``, ``~``, an absolute path, a symlink) is refused before anything is read, so even
whether such a file exists stays unknown. Without a folder (stdio: the agent already has the user's shell), any
file the server's user can read is read.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import sys
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError

__all__ = [
    "FileFormat",
    "FilesRootMiddleware",
    "Record",
    "RowProblems",
    "TableFile",
    "files_confined_to",
    "iter_records",
    "open_table",
    "plain_value",
    "record_batches",
]

FileFormat = Literal["csv", "json", "jsonl", "parquet"]
"""The formats a tool reads rows from."""

FORMATS: tuple[str, ...] = get_args(FileFormat)

SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_READ_CHARS = 1 << 20
_PARQUET_BATCH = 1000

_files_root: ContextVar[Path | None] = ContextVar("arize_skills_files_root", default=None)


@contextmanager
def files_confined_to(root: Path | None) -> Iterator[None]:
    """Within the block, ``open_table`` reads only under ``root`` (a resolved folder); ``None``: anywhere."""
    reset = _files_root.set(root)
    try:
        yield
    finally:
        _files_root.reset(reset)


class FilesRootMiddleware:
    """Confines every request's file reads to the running server's ``files_root`` (see the module docstring)."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        with files_confined_to(getattr(ctx.lifespan_context, "files_root", None)):
            return await call_next(ctx)


@dataclass(frozen=True)
class TableFile:
    """A readable file of rows: where it is, its format, its size, and the tool argument that named it."""

    path: Path
    format: FileFormat
    size_bytes: int
    argument: str = "file"


@dataclass
class Record:
    """One row: its number, its values (column → plain JSON value) and, when it could not be read, why."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def open_table(path_text: str, file_format: FileFormat | None, *, argument: str = "file") -> TableFile:
    """The file at ``path_text`` (``~`` expanded; relative to the served folder, else the server's working
    directory), checked.

    Its format is ``file_format``, else its suffix's, else what its first bytes look like (Parquet's magic
    number, a JSON array's ``[``, a JSON Lines object's ``{``, otherwise CSV).

    Raises:
        ToolError: naming ``argument``: outside the served folder, no such file, a directory, or Parquet without
            pyarrow.
    """
    root = _files_root.get()
    base = root or Path.cwd()
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = base / path
    if root is not None:
        # Resolved once here and read from then on, so a symlink is judged by where it leads.
        path = path.resolve()
        if not path.is_relative_to(root):
            raise ToolError(
                f"{argument}: {path_text!r} is outside the served folder {root}, the only folder this MCP server "
                "reads files from over HTTP — copy the file there (and pass its path relative to that folder), or "
                "ask the user to restart the server with --files-root naming a folder that holds it"
            )
    if not path.exists():
        where = "the served folder" if root is not None else "the MCP server's working directory"
        raise ToolError(
            f"{argument}: {path} does not exist (relative paths are read from {where} {base}) — pass the file's "
            "absolute path"
        )
    if not path.is_file():
        raise ToolError(f"{argument}: {path} is not a file — pass the path of a CSV, JSON, JSONL or Parquet file")
    chosen = file_format or SUFFIXES.get(path.suffix.lower()) or _sniff(path)
    if chosen == "parquet":
        _pyarrow_parquet(argument)
    return TableFile(path=path, format=chosen, size_bytes=path.stat().st_size, argument=argument)


def _sniff(path: Path) -> FileFormat:
    with path.open("rb") as handle:
        start = handle.read(4096)
    if start.startswith(b"PAR1"):
        return "parquet"
    text = start.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    return "jsonl" if text.startswith("{") else "csv"


def _pyarrow_parquet(argument: str) -> Any:
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ToolError(
            f"{argument}: reading Parquet needs the pyarrow package, which is not installed where the MCP server "
            "runs — install it (pip install pyarrow, or pip install 'arize-skills[parquet]') and restart the "
            "server, or convert the file to CSV or JSONL"
        ) from None


def plain_value(value: Any) -> Any:
    """``value`` as plain JSON data: datetimes as ISO text, decimals as numbers, NaN and ±Inf as None, bytes as
    text, tuples and NumPy values as lists and Python scalars."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return plain_value(float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if type(value).__module__.split(".")[0] == "numpy":
        if hasattr(value, "tolist"):
            return plain_value(value.tolist())
        if hasattr(value, "item"):
            return plain_value(value.item())
    return str(value)


def iter_records(table: TableFile) -> Generator[Record, None, None]:
    """Every row of ``table``, in order, read as the file goes (see the module docstring).

    Raises:
        ToolError: the file's structure is broken beyond one row; the message names the file and the place.
    """
    if table.format == "csv":
        return _csv_records(table)
    if table.format == "jsonl":
        return _jsonl_records(table.path)
    if table.format == "json":
        return _json_array_records(table)
    return _parquet_records(table)


async def record_batches(table: TableFile, size: int = 1000) -> AsyncIterator[list[Record]]:
    """The rows of ``table`` in lists of up to ``size``, each list read on a worker thread."""
    records = iter_records(table)

    def next_batch() -> list[Record]:
        batch: list[Record] = []
        try:
            for record in records:
                batch.append(record)
                if len(batch) >= size:
                    break
        except UnicodeDecodeError as exc:
            raise ToolError(
                f"{table.argument}: {table.path.name} is not UTF-8 text ({exc.reason} at byte {exc.start:,} of a "
                "block) — save it as UTF-8 and call again"
            ) from None
        except OSError as exc:
            raise ToolError(f"{table.argument}: {table.path} cannot be read: {exc.strerror or exc}") from None
        return batch

    try:
        while True:
            batch = await anyio.to_thread.run_sync(next_batch)
            if not batch:
                return
            yield batch
    finally:
        records.close()


# --- bad rows -----------------------------------------------------------------------------------------------------


@dataclass
class _ProblemGroup:
    column: str | None
    problem: str
    rows: list[int] = field(default_factory=list)
    row_count: int = 0
    examples: list[str] = field(default_factory=list)


class RowProblems:
    """Problems found while checking rows, grouped by column and kind, for one report that names every bad row.

    ``add(row, column, problem, value=...)``: ``problem`` must not contain the value (so that rows with the same
    problem group together); up to three distinct ``value`` examples are quoted per group.
    """

    MAX_ROWS_KEPT = 2000
    MAX_MESSAGE = 3600

    def __init__(self) -> None:
        self._groups: dict[tuple[str | None, str], _ProblemGroup] = {}
        self._bad_rows: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._groups)

    @property
    def bad_rows(self) -> int:
        """How many distinct rows have at least one problem."""
        return len(self._bad_rows)

    def add(self, row: int | None, column: str | None, problem: str, *, value: Any = None) -> None:
        """Record ``problem`` for ``row`` (None: the whole file) in ``column`` (None: the whole row)."""
        group = self._groups.setdefault((column, problem), _ProblemGroup(column, problem))
        if row is not None:
            self._bad_rows.add(row)
            group.row_count += 1
            if len(group.rows) < self.MAX_ROWS_KEPT:
                group.rows.append(row)
        if value is not None and len(group.examples) < 3:
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            shown = repr(shown[:60] + ("…" if len(shown) > 60 else ""))
            if shown not in group.examples:
                group.examples.append(shown)

    def refusal(self, head: str) -> ToolError:
        """The error that refuses the whole input: ``head``, how rows are numbered, then ``report``'s lines."""
        return ToolError(self.report(f"{head} (rows are numbered from 1; a CSV header is not a row):"))

    def report(self, intro: str) -> str:
        """``intro`` then one line per problem: the column, the rows (as ranges) and what is wrong."""
        lines = [intro]
        for group in self._groups.values():
            where = f"column {group.column!r}" if group.column is not None else "the row"
            if group.rows:
                rows = _ranges(group.rows)
                more = group.row_count - len(group.rows)
                rows += f" and {more:,} more" if more > 0 else ""
                noun = "row" if group.row_count == 1 else "rows"
                where = f"{noun} {rows}" + (f" ({group.row_count:,} rows)" if group.row_count > 3 else "")
                where += f", column {group.column!r}" if group.column is not None else ""
            example = f" (got {', '.join(group.examples)})" if group.examples else ""
            lines.append(f"- {where}: {group.problem}{example}")
        text = "\n".join(lines)
        if len(text) > self.MAX_MESSAGE:
            kept = text[: self.MAX_MESSAGE].rsplit("\n", 1)[0]
            text = f"{kept}\n- …and more problems of the same kinds; fix these and call again to see the rest"
        return text


def _ranges(rows: list[int]) -> str:
    ordered = sorted(set(rows))
    parts: list[str] = []
    start = previous = ordered[0]
    for row in ordered[1:]:
        if row == previous + 1:
            previous = row
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = row
    parts.append(str(start) if start == previous else f"{start}-{previous}")
    if len(parts) > 40:
        return ", ".join(parts[:40]) + ", …"
    return ", ".join(parts)


# --- CSV ----------------------------------------------------------------------------------------------------------


def _csv_records(table: TableFile) -> Generator[Record, None, None]:
    # A cell may hold a whole transcript; the csv module's default limit (128 KiB) would refuse it.
    csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 2**31 - 1)))
    path = table.path
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        # strict: an unclosed quote is an error, not a cell that swallows every row after it.
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ToolError(
                f"{table.argument}: {path.name} is not readable CSV (line {reader.line_num}): {exc}"
            ) from None
        if header is None:
            return
        _check_header(table, header)
        row = 0
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                raise ToolError(_csv_problem(table, row + 1, line, exc)) from None
            if cells is None:
                return
            if not cells:
                continue
            row += 1
            if len(cells) != len(header):
                hint = "an unquoted comma?" if len(cells) > len(header) else "a missing value or comma?"
                yield Record(row, problem=f"has {len(cells)} values but the header has {len(header)} columns ({hint})")
                continue
            yield Record(row, {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""})


def _csv_problem(table: TableFile, row: int, line: int, exc: csv.Error) -> str:
    where = f"{table.argument}: {table.path.name} row {row} (line {line})"
    if "NUL" in str(exc):
        return f"{where} holds a NUL byte — is it a CSV text file? ({exc})"
    return (
        f"{where} has a quote that is never closed, or text after a closing quote ({exc}) — quote the whole value "
        'and double each quote inside it (""), then call again'
    )


def _check_header(table: TableFile, header: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise ToolError(
                f"{table.argument}: column {position} of {table.path.name} has no name (a pandas index written with "
                "to_csv? write with index=False) — give every column a name in the header line"
            )
        if name in seen:
            raise ToolError(
                f"{table.argument}: {table.path.name} has two columns named {name!r} — rename one in the header line"
            )
        seen.add(name)


# --- JSON Lines ---------------------------------------------------------------------------------------------------


def _jsonl_records(path: Path) -> Generator[Record, None, None]:
    with path.open("r", encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Record(line_number, problem=f"is not JSON ({exc.msg} at character {exc.colno})")
                continue
            yield _object_record(line_number, value, "line")


def _object_record(row: int, value: Any, what: str) -> Record:
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else type(value).__name__
        return Record(row, problem=f"is {kind}, not an object of column names to values (one object per {what})")
    return Record(row, {str(k): plain_value(v) for k, v in value.items()})


# --- JSON array ---------------------------------------------------------------------------------------------------


class _Buffer:
    """Text of a file read in slices, with a position; only the unread tail is kept (and how many lines went)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0

    def fill(self) -> bool:
        if self.eof:
            return False
        if self.pos:
            self.lines_before += self.text.count("\n", 0, self.pos)
            self.text, self.pos = self.text[self.pos :], 0
        more = self.handle.read(_READ_CHARS)
        if not more:
            self.eof = True
            return False
        self.text += more
        return True

    def skip_space(self) -> str | None:
        """The next non-space character (not consumed), or None at the end of the file."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return None

    def line(self, pos: int | None = None) -> int:
        """The line number (from 1) of ``pos`` in the kept text (default: the position)."""
        at = self.pos if pos is None else pos
        return self.lines_before + self.text.count("\n", 0, at) + 1


def _json_array_records(table: TableFile) -> Generator[Record, None, None]:
    decoder = json.JSONDecoder()
    name = f"{table.argument}: {table.path.name}"
    with table.path.open("r", encoding="utf-8-sig") as handle:
        buffer = _Buffer(handle)
        first = buffer.skip_space()
        if first != "[":
            hint = " (one object per line is JSONL: name the file .jsonl)" if first else ""
            raise ToolError(f"{name} is not a JSON array of objects{hint} — it must start with '['")
        buffer.pos += 1
        row = 0
        if buffer.skip_space() == "]":
            buffer.pos += 1
            _expect_end(name, buffer)
            return
        while True:
            if buffer.skip_space() is None:
                raise ToolError(f"{name} ends inside the JSON array — it is cut short or missing ']'")
            value = _decode_next(name, row + 1, decoder, buffer)
            row += 1
            yield _object_record(row, value, "array element")
            following = buffer.skip_space()
            if following == ",":
                buffer.pos += 1
                continue
            if following == "]":
                buffer.pos += 1
                _expect_end(name, buffer)
                return
            if following is None:
                raise ToolError(
                    f"{name} ends inside the JSON array after element {row} — it is cut short or missing ']'"
                )
            raise ToolError(
                f"{name} is not valid JSON after element {row} (line {buffer.line()}): expected ',' or ']' but found "
                f"{following!r}"
            )


def _decode_next(name: str, element: int, decoder: json.JSONDecoder, buffer: _Buffer) -> Any:
    while True:
        try:
            value, end = decoder.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError as exc:
            line = buffer.line(exc.pos)
            if buffer.fill():
                continue
            raise ToolError(
                f"{name} element {element} (line {line}) is not valid JSON: {exc.msg} — fix it and call again"
            ) from None
        # A number (or literal) that reaches the end of what was read may go on in the next slice.
        if end == len(buffer.text) and not buffer.eof and buffer.fill():
            continue
        buffer.pos = end
        return value


def _expect_end(name: str, buffer: _Buffer) -> None:
    if buffer.skip_space() is not None:
        raise ToolError(f"{name} has more text after the JSON array ends (line {buffer.line()}) — remove it")


# --- Parquet ------------------------------------------------------------------------------------------------------


def _parquet_records(table: TableFile) -> Generator[Record, None, None]:
    parquet = _pyarrow_parquet(table.argument)
    name = f"{table.argument}: {table.path.name}"
    # pyarrow raises its own ArrowInvalid / OSError family for a file, or a row group, it cannot read.
    try:
        reader = parquet.ParquetFile(str(table.path))
    except Exception as exc:
        raise ToolError(f"{name} is not a readable Parquet file: {exc}") from None
    row = 0
    pool = importlib.import_module("pyarrow").default_memory_pool()
    with reader:
        # One thread: a batch of a thousand rows gains nothing from more, and each would hold buffers of its own.
        batches = reader.iter_batches(batch_size=_PARQUET_BATCH, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:
                raise ToolError(f"{name} cannot be read after row {row:,}: {exc} — nothing after it was read") from None
            if batch is None:
                return
            # Text, integer and boolean columns come out of Arrow as plain values already; only the others are
            # converted, cell by cell.
            converted = [f.name for f in batch.schema if not _plain_arrow_type(f.type)]
            rows = batch.to_pylist()
            del batch
            # Arrow's allocator keeps what it freed for later; handing it back each batch keeps a large file's
            # peak memory to about one batch (and the row group being decoded).
            pool.release_unused()
            for values in rows:
                row += 1
                for column in converted:
                    values[column] = plain_value(values[column])
                if None in values.values():
                    values = {k: v for k, v in values.items() if v is not None}
                yield Record(row, values)


def _plain_arrow_type(arrow_type: Any) -> bool:
    """Whether Arrow gives the values of ``arrow_type`` as Python ``str``, ``int``, ``bool`` or None."""
    types = importlib.import_module("pyarrow.types")
    return bool(
        types.is_string(arrow_type)
        or types.is_large_string(arrow_type)
        or types.is_integer(arrow_type)
        or types.is_boolean(arrow_type)
    )
