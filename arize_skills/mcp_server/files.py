"""Rows out of CSV, JSON (an array of objects), JSONL and Parquet files, streamed, for uploads of any size.

``open_table(path, format)`` checks the file and settles its format (from ``format``, else the suffix);
``iter_records(table)`` yields one ``Record`` per row without loading the file whole, and ``record_batches``
does the same in batches read on a worker thread, so a large file never blocks the event loop::

    table = open_table("runs.csv", None)
    async for batch in record_batches(table, 1000):
        for record in batch:
            record.row, record.values, record.problem

Rows are numbered from 1: the CSV header is not a row; a JSON array's first element is row 1; in JSONL the row
is the line number (blank lines are skipped but still counted, so the number is the line an editor shows);
Parquet rows count from the first row group. A row that cannot be read (a JSONL line that is not JSON, a
JSON element that is not an object, a CSV line with more values than the header has columns) comes back with
``problem`` set and ``values`` empty, so a caller can report every bad row; a file whose structure is broken
beyond one row (not JSON at all, a duplicate CSV column) raises ``ToolError``.

Values are plain JSON data. CSV cells stay text — ``"007"`` and ``"4"`` are kept as written, never turned into
numbers (AX refuses a numeric ``output`` or ``example_id``, the pitfall of pandas' type guessing) — and an empty
cell is an absent value, as pandas reads it. JSON keeps its types. Parquet values become their JSON form
(timestamps as ISO text, decimals as numbers, NaN as null). Parquet needs ``pyarrow``, an optional dependency
(``pip install 'arize-skills[parquet]'``); without it, reading a Parquet file is a ``ToolError`` saying so.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import sys
from collections.abc import AsyncIterator, Generator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import anyio
from mcp.server.mcpserver.exceptions import ToolError

__all__ = [
    "FileFormat",
    "Record",
    "RowProblems",
    "TableFile",
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


@dataclass(frozen=True)
class TableFile:
    """A readable file of rows: where it is, its format, its size."""

    path: Path
    format: FileFormat
    size_bytes: int


@dataclass
class Record:
    """One row: its number, its values (column → plain JSON value) and, when it could not be read, why."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def open_table(path_text: str, file_format: FileFormat | None, *, argument: str = "file") -> TableFile:
    """The file at ``path_text`` (``~`` expanded; relative to the server's working directory), checked.

    Raises:
        ToolError: naming ``argument``: no such file, a directory, or a format that cannot be told or read.
    """
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.exists():
        raise ToolError(
            f"{argument}: {path} does not exist (relative paths are read from the MCP server's working directory "
            f"{Path.cwd()}) — pass the file's absolute path"
        )
    if not path.is_file():
        raise ToolError(f"{argument}: {path} is not a file — pass the path of a CSV, JSON, JSONL or Parquet file")
    chosen = file_format or SUFFIXES.get(path.suffix.lower())
    if chosen is None:
        raise ToolError(
            f"{argument}: cannot tell the format of {path.name} from its suffix — name it .csv, .json, .jsonl or "
            ".parquet, or pass file_format (one of csv, json, jsonl, parquet)"
        )
    if chosen == "parquet":
        _pyarrow_parquet(argument)
    return TableFile(path=path, format=chosen, size_bytes=path.stat().st_size)


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
        return _csv_records(table.path)
    if table.format == "jsonl":
        return _jsonl_records(table.path)
    if table.format == "json":
        return _json_array_records(table.path)
    return _parquet_records(table.path)


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
                f"file: {table.path.name} is not UTF-8 text ({exc.reason} at byte {exc.start:,} of a block) — save "
                "it as UTF-8 and call again"
            ) from None
        except OSError as exc:
            raise ToolError(f"file: {table.path} cannot be read: {exc.strerror or exc}") from None
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
            example = f" (e.g. {', '.join(group.examples)})" if group.examples else ""
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


def _csv_records(path: Path) -> Generator[Record, None, None]:
    # A cell may hold a whole transcript; the csv module's default limit (128 KiB) would refuse it.
    csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 2**31 - 1)))
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ToolError(f"file: {path.name} is not readable CSV (line {reader.line_num}): {exc}") from None
        if header is None:
            return
        _check_header(path, header)
        row = 0
        while True:
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                raise ToolError(
                    f"file: {path.name} is not readable CSV after row {row} (line {reader.line_num}): {exc} — fix "
                    "the quoting there"
                ) from None
            if cells is None:
                return
            if not cells:
                continue
            row += 1
            if len(cells) > len(header):
                yield Record(
                    row,
                    problem=f"has {len(cells)} values but the header has {len(header)} columns (an unquoted comma?)",
                )
                continue
            yield Record(row, {name: cell for name, cell in zip(header, cells, strict=False) if cell != ""})


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise ToolError(
                f"file: column {position} of {path.name} has no name (a pandas index written with to_csv? write with "
                "index=False) — give every column a name in the header line"
            )
        if name in seen:
            raise ToolError(f"file: {path.name} has two columns named {name!r} — rename one in the header line")
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
    """Text of a file read in slices, with a position; only the unread tail is kept."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0

    def fill(self) -> bool:
        if self.eof:
            return False
        if self.pos:
            self.consumed += self.pos
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

    def where(self) -> str:
        return f"character {self.consumed + self.pos + 1}"


def _json_array_records(path: Path) -> Generator[Record, None, None]:
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8-sig") as handle:
        buffer = _Buffer(handle)
        first = buffer.skip_space()
        if first != "[":
            hint = " (one object per line is JSONL: name the file .jsonl or pass file_format='jsonl')" if first else ""
            raise ToolError(f"file: {path.name} is not a JSON array of objects{hint} — it must start with '['")
        buffer.pos += 1
        row = 0
        if buffer.skip_space() == "]":
            buffer.pos += 1
            _expect_end(path, buffer)
            return
        while True:
            if buffer.skip_space() is None:
                raise ToolError(f"file: {path.name} ends inside the JSON array — it is cut short or missing ']'")
            value = _decode_next(path, decoder, buffer)
            row += 1
            yield _object_record(row, value, "array element")
            following = buffer.skip_space()
            if following == ",":
                buffer.pos += 1
                continue
            if following == "]":
                buffer.pos += 1
                _expect_end(path, buffer)
                return
            if following is None:
                raise ToolError(
                    f"file: {path.name} ends inside the JSON array after element {row} — it is cut short or missing ']'"
                )
            raise ToolError(
                f"file: {path.name} is not valid JSON after element {row} ({buffer.where()}): expected ',' or ']' "
                f"but found {following!r}"
            )


def _decode_next(path: Path, decoder: json.JSONDecoder, buffer: _Buffer) -> Any:
    while True:
        try:
            value, end = decoder.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError as exc:
            if buffer.fill():
                continue
            raise ToolError(f"file: {path.name} is not valid JSON ({exc.msg} at {buffer.where()})") from None
        # A number (or literal) that reaches the end of what was read may go on in the next slice.
        if end == len(buffer.text) and not buffer.eof and buffer.fill():
            continue
        buffer.pos = end
        return value


def _expect_end(path: Path, buffer: _Buffer) -> None:
    if buffer.skip_space() is not None:
        raise ToolError(f"file: {path.name} has more text after the JSON array ends ({buffer.where()}) — remove it")


# --- Parquet ------------------------------------------------------------------------------------------------------


def _parquet_records(path: Path) -> Generator[Record, None, None]:
    parquet = _pyarrow_parquet("file")
    try:
        reader = parquet.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError family for unreadable files.
        raise ToolError(f"file: {path.name} is not a readable Parquet file: {exc}") from None
    row = 0
    with reader:
        for batch in reader.iter_batches(batch_size=_PARQUET_BATCH):
            for values in batch.to_pylist():
                row += 1
                plain = {str(k): plain_value(v) for k, v in values.items()}
                yield Record(row, {k: v for k, v in plain.items() if v is not None})
