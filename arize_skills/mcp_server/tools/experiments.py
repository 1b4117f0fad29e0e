"""``upload_experiment``, ``run_experiment``, ``get_experiment`` and ``compare_experiments``.

Uploads are all or nothing, and every bad row is named by number and column. A file is read and checked once,
as a stream, and its runs are sent while it is read, in requests of at most 1000 through the client: the first
creates the experiment, the rest are appended one at a time, so that the runs keep the file's order. The
dataset's example IDs are paged meanwhile; a request may go before every ID in it has turned up, but a miss, like
any bad row found further on, stops the writes, the rest of the file is still checked, and the partial experiment
is deleted before the error lists every bad row (on any other error seen after the create it is deleted too
before the error is reported). One that a killed upload left — whole requests of these same runs, in order,
fewer than all — is replaced by the same call retried (that call checks the whole file first, its runs waiting
in a spool, memory then a temporary file), and any other experiment of the name is refused. Memory stays bounded
whatever the file's size. ``eval.<name>.score / .label / .explanation /
.metadata.<key>`` columns become evaluation results, and the result lists them (a task evaluator of the same
name later skips those runs unless overridden); a column that looks like one but is not (``eval.x.scores``, a
nested ``evaluations`` column) stops the upload instead of passing through unseen. ``run_experiment`` runs a
prompt over a dataset on the server through a ``RUN_EXPERIMENT`` task and returns at once.

The two readers summarise runs (scores, labels, errors) and compare experiments example by example. A
comparison counts an example as changed only when every experiment has a value there and they differ; an
example some experiment has no run or no value for is counted apart, as missing. Every result's text stays
under ``surface.MAX_RESULT_CHARS``: sample runs are left out (and said so), changed examples page on with a
cursor.

Names resolve in the default space (``status`` shows it); an ID reaches a resource in any space.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import AfterValidator, BaseModel, Field

from ...client import AsyncArizeClient
from ...errors import APIStatusError, NameNotFoundError, TemplateSyntaxError
from ...evals.judge import mustache_variables, template_variables
from ...evals.mapping import MISSING, record_value
from ...models.evaluators import EVAL_NAME_PATTERN
from ...models.experiments import MAX_RUNS_PER_REQUEST, EvalKey, Experiment, ExperimentRun, parse_eval_key
from ...models.tasks import LlmGenerationRunConfig, Task
from ..budget import Position, compact, cut, decode_cursor, encode_cursor, json_size, scope_of
from ..errors import tool_errors
from ..files import Record, RowProblems, open_table
from ..partial import discard, discarded_on_failure
from ..state import app_state
from ..surface import MAX_RESULT_CHARS, result_text
from ..types import AiIntegrationRef, DatasetRef, ExperimentRef, Ref, ToolContext, ToolResult
from . import register_tool
from .datasets import RowSource, similar_columns, space_ref
from .task_runs import tool_terms

__all__ = [
    "CompareExperimentsResult",
    "GetExperimentResult",
    "RunExperimentResult",
    "UploadExperimentResult",
    "compare_experiments",
    "get_experiment",
    "register",
    "run_experiment",
    "upload_experiment",
]

MAX_INLINE_RUNS = 5000
RUN_PAGE = 500
SAMPLE_CHARS = 200
"""get_experiment cuts each value of its sample runs to this many characters."""
COMPARE_CHARS = 200
"""compare_experiments cuts each output, error and example value to this many characters."""
COMPARE_PAGE = 10
"""compare_experiments shows at most this many changed examples a call (fewer when they are long)."""
SUMMARY_EVAL_COLUMNS = 20
"""upload_experiment's summary line names at most this many evaluation columns."""
MAX_COMPARED = 10
"""compare_experiments takes at most this many experiments."""
GENERATION_TASKS = 10
"""run_experiment runs at most this many prompts side by side on one dataset (one RUN_EXPERIMENT task each)."""
_SPOOL_MEMORY = 32 << 20
_YIELD_ROWS = 100
LOOKUP_AHEAD = 50
"""upload_experiment sends runs naming at most this many thousand example IDs that the dataset's pages (read
meanwhile) have not shown yet; then it waits for the pages."""
READ_AHEAD = 4
"""upload_experiment reads and checks at most this many requests' worth of runs ahead of the one being sent. The
requests themselves go one at a time: AX stores appended runs in the order the requests arrive, and the runs must
keep the file's order (an interrupted upload leaves whole requests in order, which a retry recognises)."""
RESERVED_RUN_COLUMNS = ("id", "annotations")
NESTED_EVAL_COLUMNS = ("evaluations", "evaluation", "evals", "eval", "eval_results")
PASSTHROUGH_EVAL_SUFFIXES = (".trace.id", ".trace.timestamp")
_EVAL_NAME = re.compile(EVAL_NAME_PATTERN)
_LOOSE_EVAL = re.compile(r"(^|[._])(score|label|explanation)$")
_BAD = object()


def _plain_name(value: str) -> str:
    if '"' in value or "\\" in value:
        raise ValueError('an experiment name may not contain " or \\')
    return value


ExperimentName = Annotated[
    str, Field(min_length=1, max_length=255, description="Unique per dataset."), AfterValidator(_plain_name)
]


# --- checking runs ----------------------------------------------------------------------------------------------

_RUN, _PLAIN, _REFUSED = "run", "plain", "bad"
_RESULT_FIELDS = ("score", "label")


@dataclass
class _RunCheck:
    """Checks upload rows one by one, turning each good one into a run object and remembering every problem.

    What a column is (run field, plain column, evaluation result, refused) is settled the first time it is seen.
    Whether an example ID belongs to the dataset is not checked here but by the caller, which may still be paging
    the dataset's IDs (``not_an_example`` records a miss).
    """

    dataset_name: str | None
    problems: RowProblems = field(default_factory=RowProblems)
    rows: int = 0
    columns: dict[str, None] = field(default_factory=dict)
    converted_outputs: int = 0
    errored_runs: int = 0
    loose: set[str] = field(default_factory=set)
    _kinds: dict[str, EvalKey | str] = field(default_factory=dict)
    _evaluated: dict[tuple[str, ...], int] = field(default_factory=dict)

    def _column_problem(self, row: int, column: str, problem: str) -> str:
        self.problems.add(None, column, f"{problem} (first seen in row {row})")
        return _REFUSED

    def _kind(self, row: int, column: str) -> EvalKey | str:
        """``_RUN`` (output, example_id, error), ``_PLAIN``, ``_REFUSED`` (reported once), or the eval key."""
        if column == "example_id" and self.dataset_name is None:
            return self._column_problem(
                row,
                column,
                "is set but no dataset was given — pass dataset (the one these examples belong to), or drop the "
                "column for an experiment on no dataset",
            )
        if column in ("output", "example_id", "error"):
            return _RUN
        if column in RESERVED_RUN_COLUMNS:
            return self._column_problem(row, column, "is assigned by the server — rename the column")
        if column.lower() in NESTED_EVAL_COLUMNS:
            return self._column_problem(
                row,
                column,
                "evaluation results nested in one column are stored as plain data and never become scores — "
                "give each its own columns: eval.<name>.score, eval.<name>.label, eval.<name>.explanation",
            )
        if column.startswith("eval.") and not column.endswith(PASSTHROUGH_EVAL_SUFFIXES):
            parsed = parse_eval_key(column)
            if parsed is None:
                return self._column_problem(
                    row,
                    column,
                    "is not an evaluation column — name it eval.<name>.score, eval.<name>.label, "
                    "eval.<name>.explanation or eval.<name>.metadata.<key>",
                )
            if not _EVAL_NAME.match(parsed.name):
                return self._column_problem(
                    row,
                    column,
                    f"evaluator name {parsed.name!r} may hold only letters, digits, spaces, _, -, &, ( and ) — "
                    "rename the column",
                )
            return parsed
        if _LOOSE_EVAL.search(column):
            self.loose.add(column)
        # Listed in the order first seen; a column is only ever given a kind once.
        self.columns[column] = None
        return _PLAIN

    def check(self, record: Record) -> tuple[dict[str, Any] | None, str | None]:
        """The run object of ``record`` (None when it has a problem, recorded), and the example ID it names (None
        when it names no usable one), for the caller to look up in the dataset."""
        # Called for every row of a file: the common cases (text and float values) are handled inline, the rest
        # by the methods that also word the problems.
        self.rows += 1
        row = record.row
        if record.problem is not None:
            self.problems.add(row, None, record.problem)
            return None, None
        values = record.values
        if None in values.values():
            values = {k: v for k, v in values.items() if v is not None}
        if not values:
            self.problems.add(row, None, "is empty: a run needs at least an output")
            return None, None
        ok = True
        run: dict[str, Any] = {}
        scored: set[str] | None = None
        unscored: dict[str, None] | None = None
        evaluated: list[str] = []
        kinds = self._kinds
        for column, value in values.items():
            kind = kinds.get(column)
            if kind is None:
                kind = kinds[column] = self._kind(row, column)
            if kind is _RUN:
                continue
            if kind is _PLAIN:
                run[column] = value
                continue
            if kind is _REFUSED:
                ok = False
                continue
            assert isinstance(kind, EvalKey)
            if kind.field == "score" and (value.__class__ is str or value.__class__ is float):
                try:
                    converted: Any = float(value)
                except ValueError:
                    converted = _BAD
                    self.problems.add(row, column, "is not a number (a score must be numeric)", value=value)
                else:
                    if not math.isfinite(converted):
                        converted = None
            elif kind.field == "label" and value.__class__ is str:
                converted = value if value.strip() else None
            else:
                converted = self._eval_value(row, column, kind, value)
            if converted is _BAD:
                ok = False
            elif converted is not None:
                run[column] = converted
                evaluated.append(column)
                if kind.field in _RESULT_FIELDS:
                    if scored is None:
                        scored = set()
                    scored.add(kind.name)
                else:
                    if unscored is None:
                        unscored = {}
                    unscored[kind.name] = None
        if unscored is not None:
            for name in unscored:
                if scored is not None and name in scored:
                    continue
                self.problems.add(
                    row,
                    f"eval.{name}.score",
                    f"eval.{name} has an explanation or metadata but neither a score nor a label — an evaluation "
                    f"result needs eval.{name}.score or eval.{name}.label",
                )
                ok = False
        output = values.get("output")
        error = values.get("error")
        if output.__class__ is str and error is None:
            pass
        else:
            output, error = self._output(row, values)
        example_id = values.get("example_id")
        if example_id.__class__ is not str or not example_id.strip():
            example_id = self._example_id(row, example_id)
        named = example_id if isinstance(example_id, str) else None
        if not ok or output is None or example_id is _BAD:
            return None, named
        if evaluated:
            key = tuple(evaluated)
            self._evaluated[key] = self._evaluated.get(key, 0) + 1
        run["output"] = output
        if example_id is not None:
            run["example_id"] = example_id
        if error is not None:
            run["error"] = error
        return run, named

    @property
    def eval_columns(self) -> dict[str, int]:
        """Evaluation column → good runs with a value in it, in the order first seen."""
        counts: dict[str, int] = {}
        for columns, runs in self._evaluated.items():
            for column in columns:
                counts[column] = counts.get(column, 0) + runs
        return counts

    def not_an_example(self, row: int, value: str) -> None:
        """Record that ``row`` names ``value``, which is no example of the dataset."""
        self.problems.add(
            row,
            "example_id",
            f"is not an example of dataset '{self.dataset_name}' (its latest version) — use the IDs "
            "get_dataset_examples shows",
            value=value,
        )

    def _eval_value(self, row: int, column: str, key: EvalKey, value: Any) -> Any:
        if key.field == "score":
            converted = _score(value)
            if converted is _BAD:
                self.problems.add(row, column, "is not a number (a score must be numeric)", value=value)
            return converted
        if key.field == "metadata":
            return value
        if isinstance(value, dict | list):
            self.problems.add(row, column, f"must be text, not a JSON {type(value).__name__}", value=value)
            return _BAD
        text = value if isinstance(value, str) else str(value)
        return text if text.strip() else None

    def _output(self, row: int, values: Mapping[str, Any]) -> tuple[str | None, str | None]:
        output, error = values.get("output"), values.get("error")
        if error is not None and not isinstance(error, str):
            error = json.dumps(error, ensure_ascii=False)
        if output is None:
            if error:
                self.errored_runs += 1
                return "", error
            self.problems.add(
                row,
                "output",
                "missing — every run needs the task's output (for a run whose task failed, leave output empty and "
                "put the message in an 'error' column)",
            )
            return None, error
        if not isinstance(output, str):
            self.converted_outputs += 1
            output = json.dumps(output, ensure_ascii=False)
        return output, error

    def _example_id(self, row: int, value: Any) -> Any:
        if value is None:
            if self.dataset_name is None:
                return None
            self.problems.add(
                row,
                "example_id",
                "missing — each run of a dataset experiment needs the ID of the example it answers "
                "(get_dataset_examples lists them)",
            )
            return _BAD
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.problems.add(row, "example_id", "must be an example ID (text)", value=value)
            return _BAD
        return value

    def notes(self) -> list[str]:
        notes = []
        if self.converted_outputs:
            notes.append(
                f"{self.converted_outputs:,} outputs were not text (numbers, booleans, objects or lists) and were "
                "stored as their JSON text, since AX takes text outputs only"
            )
        if self.errored_runs:
            notes.append(f"{self.errored_runs:,} runs have an error and no output; they were stored with output ''")
        for column in sorted(self.loose)[:10]:
            notes.append(
                f"column {column!r} was stored as a plain column, not an evaluation result — if it is one, rename it "
                "eval.<name>.score, eval.<name>.label or eval.<name>.explanation"
            )
        if self.eval_columns:
            names = sorted({key.name for key in self._kinds.values() if isinstance(key, EvalKey)})
            notes.append(
                f"a task evaluator named {' or '.join(repr(n) for n in names[:5])} skips these runs unless its "
                "trigger_backfill has override=true (which replaces these uploaded results)"
            )
        else:
            notes.append(
                "no eval.<name>.* columns: the runs carry no evaluation results; score them with an evaluation task "
                "on this experiment, or upload eval.<name>.score / .label / .explanation columns"
            )
        return notes + similar_columns(self.columns)


def _score(value: Any) -> Any:
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return _BAD
    else:
        return _BAD
    return number if math.isfinite(number) else None


def _encode(runs: list[dict[str, Any]]) -> bytes:
    """One request's runs as the JSON array the request carries (the checks leave no NaN or non-JSON value)."""
    # ASCII escapes, as the client's own encoding does: a lone surrogate read from a JSON file stays encodable.
    return json.dumps(runs, allow_nan=False, separators=(",", ":")).encode()


class _Spool:
    """Requests of checked runs (encoded) kept until they can be written — in memory up to ``_SPOOL_MEMORY``
    bytes, then in a temporary file — for the upload that must check a whole file before it replaces an
    interrupted one's partial experiment."""

    def __init__(self) -> None:
        # Closed by close(), which the upload calls once the runs are written.
        self._file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
        self._counts: list[int] = []
        self.count = 0

    def add(self, body: bytes, count: int) -> None:
        self._file.write(body + b"\n")
        self._counts.append(count)
        self.count += count

    def requests(self) -> Iterator[tuple[bytes, int]]:
        """Each request's encoded runs and how many there are, in order."""
        self._file.seek(0)
        for line, count in zip(self._file, self._counts, strict=True):
            yield line.rstrip(b"\n"), count

    def close(self) -> None:
        self._file.close()


class _ExampleIds:
    """The example IDs of the dataset, read a page at a time in the background while the file is read, checked
    and sent, and the IDs that rows named before their page came (``pending``, ID → rows)."""

    def __init__(self, first: Iterable[str]) -> None:
        self.known = set(first)
        self.pending: dict[str, list[int]] = {}
        self.complete = False
        self._grew = anyio.Event()

    async def fill(self, pages: AsyncIterator[tuple[str, ...]]) -> None:
        """Add every page of ``pages``; set ``complete`` once the last has come (not if the paging fails)."""
        async for page in pages:
            self.known.update(page)
            if self.pending:
                for example_id in page:
                    self.pending.pop(example_id, None)
            self._grew.set()
            self._grew = anyio.Event()
        self.complete = True
        self._grew.set()

    def expect(self, named: list[tuple[int, str]]) -> None:
        """Note the (row, ID) pairs of ``named`` whose ID has not turned up yet."""
        known, pending = self.known, self.pending
        for row, example_id in named:
            if example_id not in known:
                pending.setdefault(example_id, []).append(row)

    async def wait_pending(self, most: int) -> None:
        """Wait until at most ``most`` IDs are pending, or every page has come."""
        while len(self.pending) > most and not self.complete:
            await self._grew.wait()

    async def misses(self) -> list[tuple[int, str]]:
        """Once every page has come: the (row, ID) pairs whose ID is no example of the dataset, by row."""
        while not self.complete:
            await self._grew.wait()
        return sorted((row, example_id) for example_id, rows in self.pending.items() for row in rows)


@dataclass
class _Chunk:
    """One request's worth of checked runs, and the (row, example ID) of every row in it that names one (bad
    rows too, so that each of their problems is reported)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    examples: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Upload:
    """One upload's writes: the create, then the appends, one request at a time in the order of the rows."""

    ctx: ToolContext
    client: AsyncArizeClient
    name: str
    dataset: Ref | None
    space: Ref
    experiment: Experiment | None = None
    written: int = 0
    read: int = 0
    read_all: bool = False
    refused: APIStatusError | None = None
    discarded: str | None = None

    async def send(self, runs: bytes, count: int) -> None:
        """Write one request of ``count`` encoded runs: the first creates the experiment."""
        if self.experiment is None:
            if self.dataset is not None:
                self.experiment = await self.client.experiments.create_encoded(
                    self.name, runs, dataset_id=self.dataset.id
                )
            else:
                self.experiment = await self.client.experiments.create_encoded(self.name, runs, space_id=self.space.id)
        else:
            await self.client.experiments.append_encoded(self.experiment.id, runs)
        self.written += count
        total = self.read if self.read_all else None
        await self.ctx.report_progress(self.written, total, f"uploaded {self.written:,} runs")

    async def discard(self) -> None:
        """Delete the partial experiment, if one was created; ``discarded`` says how that went."""
        if self.experiment is not None:
            partial = self.experiment
            self.discarded = await discard("experiment", partial.name, partial.id, self.client.experiments.delete)
            self.experiment = None

    def stopped(self, exc: Exception) -> str:
        """The start of the error for a failure after the experiment was created."""
        so_far = "" if self.read_all else " read so far"
        return f"the upload stopped after {self.written:,} of {self.read:,} runs{so_far}: {exc} — "

    def refusal_head(self, checker: _RunCheck) -> str:
        """The first words of the error that lists the rows' problems."""
        checked = f"{checker.rows:,} rows checked, {checker.problems.bad_rows:,} with problems"
        if self.discarded is None:
            return f"nothing was written: {checked}"
        return f"the upload stopped after {self.written:,} runs had been sent: {checked}; {self.discarded}"


async def _read(source: RowSource, checker: _RunCheck, upload: _Upload, out: MemoryObjectSendStream[_Chunk]) -> None:
    """Check every row once, in file order, passing the runs on in request-sized chunks as they fill."""
    async with out:
        chunk = _Chunk()
        async for batch in source.batches(MAX_RUNS_PER_REQUEST):
            for index, record in enumerate(batch):
                if index % _YIELD_ROWS == 0:
                    # Lets the answer to the request in flight be taken, and the next one sent, without waiting
                    # for the whole batch to be checked: the server is kept busy.
                    await anyio.lowlevel.checkpoint()
                run, example_id = checker.check(record)
                if example_id is not None:
                    chunk.examples.append((record.row, example_id))
                if run is not None and not checker.problems:
                    chunk.runs.append(run)
                    upload.read += 1
                    if len(chunk.runs) == MAX_RUNS_PER_REQUEST:
                        await out.send(chunk)
                        chunk = _Chunk()
            if len(chunk.examples) >= MAX_RUNS_PER_REQUEST:
                # Rows with problems: nothing more is sent, but their example IDs are still looked up.
                await out.send(chunk)
                chunk = _Chunk()
        upload.read_all = True
        if chunk.runs or chunk.examples:
            await out.send(chunk)


async def _write(
    checker: _RunCheck,
    upload: _Upload,
    ids: _ExampleIds | None,
    chunks: MemoryObjectReceiveStream[_Chunk],
    spool: _Spool | None,
) -> None:
    """Send (or spool) each chunk in order, and look up its example IDs; on the first problem found, send nothing
    more and delete what was sent.

    A chunk goes out before the dataset's pages have shown all its example IDs (a miss found later deletes the
    experiment like any other bad row), but at most ``LOOKUP_AHEAD`` chunks' worth of IDs wait to be seen:
    then sending waits for the pages.
    """
    async with chunks:
        async for chunk in chunks:
            if ids is not None and chunk.examples:
                ids.expect(chunk.examples)
                await ids.wait_pending(LOOKUP_AHEAD * MAX_RUNS_PER_REQUEST)
                if ids.complete and ids.pending:
                    for row, value in await ids.misses():
                        checker.not_an_example(row, value)
                    ids.pending.clear()
            if checker.problems or upload.refused is not None:
                await upload.discard()
                continue
            if not chunk.runs:
                continue
            body = _encode(chunk.runs)
            if spool is not None:
                spool.add(body, len(chunk.runs))
                await upload.ctx.report_progress(upload.read, None, f"checked {upload.read:,} runs")
                continue
            try:
                await upload.send(body, len(chunk.runs))
            except APIStatusError as exc:
                if not 400 <= exc.status < 500:
                    raise
                # The server turned the request down (a local engine refuses an unknown example ID, which may
                # be one whose page has not come yet): the rest is still checked, so that the error names every
                # bad row, and nothing more is sent.
                upload.refused = exc
                await upload.discard()
        if ids is not None:
            for row, value in await ids.misses():
                checker.not_an_example(row, value)
            if checker.problems:
                await upload.discard()


async def _stream(
    source: RowSource,
    checker: _RunCheck,
    upload: _Upload,
    ids: _ExampleIds | None,
    pages: AsyncIterator[tuple[str, ...]] | None,
    spool: _Spool | None,
) -> None:
    """Read and check the rows while the dataset's example IDs are paged and the checked runs are sent: at most
    ``READ_AHEAD`` chunks wait between the reading and the request in flight. The first failure of any of the
    three stops the other two (a request in flight is cancelled) and is raised."""
    failures: list[Exception] = []
    out, chunks = anyio.create_memory_object_stream[_Chunk](READ_AHEAD)
    async with anyio.create_task_group() as group:

        async def guarded(work: Awaitable[None]) -> None:
            try:
                await work
            except Exception as exc:
                failures.append(exc)
                group.cancel_scope.cancel()

        if ids is not None and pages is not None:
            group.start_soon(guarded, ids.fill(pages))
        group.start_soon(guarded, _write(checker, upload, ids, chunks, spool))
        await guarded(_read(source, checker, upload, out))
    if failures:
        raise failures[0]


async def _ensure_experiment_name_free(
    client: AsyncArizeClient, name: str, dataset: Ref | None, space: Ref | None, argument: str = "name"
) -> None:
    """Refuse ``name`` when ``dataset`` (else ``space``, for a standalone experiment) already has an experiment of
    that name."""
    if dataset is not None:
        try:
            existing = await client.resolve.experiment_id(name, dataset=dataset.id)
        except NameNotFoundError:
            return
        raise ToolError(
            f"{argument}: dataset '{dataset.name}' already has an experiment named {name!r} ({existing}) — choose "
            "another name (find(kind='experiment') lists them)"
        )
    if space is None:
        raise TypeError("a standalone experiment's name is checked in its space: pass space")
    async for experiment in client.experiments.list(space=space.id, name=name, limit=100):
        if experiment.name == name and experiment.dataset_id is None:
            raise ToolError(
                f"{argument}: space '{space.name}' already has a standalone experiment named {name!r} "
                f"({experiment.id}) — choose another name"
            )


# --- upload_experiment ------------------------------------------------------------------------------------------


async def _partial_upload_of(
    client: AsyncArizeClient, name: str, dataset: Ref, spool: _Spool
) -> tuple[str, int] | None:
    """The ID and run count of experiment ``name`` of ``dataset`` when it is what an interrupted upload of these
    same runs left (whole requests of them, in order, and fewer than all); else None."""
    try:
        existing = await client.resolve.experiment_id(name, dataset=dataset.id)
    except NameNotFoundError:
        return None
    stored = [run.example_id async for run in client.experiments.list_runs(existing, limit=RUN_PAGE)]
    if not stored or len(stored) >= spool.count or len(stored) % MAX_RUNS_PER_REQUEST:
        return None
    expected: list[Any] = []
    for body, _ in spool.requests():
        expected += [run.get("example_id") for run in json.loads(body)]
        if len(expected) >= len(stored):
            break
    return (existing, len(stored)) if expected[: len(stored)] == stored else None


class UploadExperimentResult(ToolResult):
    """The experiment created from the uploaded runs."""

    experiment: Ref = Field(description="The new experiment.")
    dataset: Ref | None = Field(description="Its dataset (none: standalone).")
    run_count: int = Field(description="Runs written.")
    eval_columns: dict[str, int] = Field(description="Evaluation columns stored → runs with a value (first 100).")
    eval_column_count: int = Field(description="Evaluation columns stored in all.")
    columns: list[str] = Field(description="Other columns stored (first 50).")
    notes: list[str] = Field(description="What else to know.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was uploaded where, and which evaluation columns it stored."""
        where = f" on dataset '{self.dataset.name}'" if self.dataset else " (standalone)"
        listed = list(self.eval_columns.items())[:SUMMARY_EVAL_COLUMNS]
        evals = ", ".join(f"{c} ({n:,})" for c, n in listed) or "none"
        more = self.eval_column_count - len(listed)
        line = (
            f"Uploaded {self.run_count:,} runs as experiment '{self.experiment.name}' ({self.experiment.id}){where}; "
            f"eval columns stored: {evals}" + (f" and {more:,} more." if more else ".")
        )
        return line, "eval_columns" if not more else None


def _source(runs: list[Any] | str) -> RowSource:
    """The rows of a ``runs`` argument: inline objects, or a file."""
    if isinstance(runs, str):
        return RowSource(table=open_table(runs, None, argument="runs"))
    if not runs:
        raise ToolError("runs: empty — give at least one run, or a file path")
    if len(runs) > MAX_INLINE_RUNS:
        raise ToolError(f"runs: {len(runs):,} runs inline; give at most {MAX_INLINE_RUNS:,}, or write them to a file")
    others = [number for number, run in enumerate(runs, start=1) if not isinstance(run, dict)]
    if others:
        shown = ", ".join(map(str, others[:10])) + (" …" if len(others) > 10 else "")
        raise ToolError(f"runs: row(s) {shown} are not objects of column names to values — nothing was written")
    return RowSource(rows=runs)


RunsArg = Annotated[
    list[Any] | Annotated[str, Field(min_length=1, max_length=4096)],
    Field(description="Objects, or a CSV/JSON/JSONL/Parquet path on the server."),
]


@tool_errors
async def upload_experiment(
    ctx: ToolContext,
    name: ExperimentName,
    runs: RunsArg,
    dataset: Annotated[
        str | None,
        Field(min_length=1, max_length=512, description="Name or ID; omit if runs lack example_id."),
    ] = None,
) -> UploadExperimentResult:
    """Upload your code's runs (example_id, output, eval.<name>.label/.score columns), all or nothing."""
    state = app_state(ctx)
    client = state.client
    source = _source(runs)
    where = await space_ref(state)
    dataset_ref: Ref | None = None
    ids: _ExampleIds | None = None
    pages: AsyncIterator[tuple[str, ...]] | None = None
    if dataset is not None:
        found = await client.datasets.get(dataset, space=where.id)
        dataset_ref = Ref(id=found.id, name=found.name)
        # The first page now, the rest while the file is read.
        pages = client.datasets.example_ids(found.id)
        ids = _ExampleIds(await anext(pages, ()))
        if not ids.known:
            raise ToolError(f"dataset: '{found.name}' has no examples, so no run can answer one — add examples first")
    taken: ToolError | None = None
    try:
        await _ensure_experiment_name_free(client, name, dataset_ref, where)
    except ToolError as exc:
        if dataset_ref is None:
            raise
        taken = exc
    checker = _RunCheck(dataset_ref.name if dataset_ref else None)
    upload = _Upload(ctx, client, name, dataset_ref, where)
    # A name already taken may hold what an interrupted upload of these runs left: the whole file is checked
    # before that experiment is replaced, so the runs wait in a spool instead of being sent as they are read.
    spool = _Spool() if taken is not None else None
    replaced: list[str] = []
    try:
        async with discarded_on_failure(
            "experiment", lambda: upload.experiment, client.experiments.delete, upload.stopped
        ):
            await _stream(source, checker, upload, ids, pages, spool)
            if checker.rows == 0:
                raise ToolError(f"runs: no rows found in {source.describe()} — nothing to upload")
            if checker.problems:
                await upload.discard()
                raise checker.problems.refusal(upload.refusal_head(checker))
            if upload.refused is not None:
                if upload.discarded is None:
                    raise upload.refused
                raise ToolError(upload.stopped(upload.refused) + upload.discarded)
            if spool is not None and dataset_ref is not None:
                partial = await _partial_upload_of(client, name, dataset_ref, spool)
                if partial is None:
                    raise taken or ToolError(f"name: {name!r} is taken")
                await client.experiments.delete(partial[0])
                replaced.append(
                    f"replaced experiment '{name}' ({partial[0]}): it held only the first {partial[1]:,} of these "
                    f"{spool.count:,} runs, left by an earlier upload of them that was interrupted"
                )
                for request, count in spool.requests():
                    await upload.send(request, count)
    finally:
        if spool is not None:
            spool.close()
    if upload.experiment is None:
        raise ToolError("rows: no runs to upload")
    return UploadExperimentResult(
        experiment=Ref(id=upload.experiment.id, name=upload.experiment.name),
        dataset=dataset_ref,
        run_count=upload.written,
        eval_columns=dict(list(checker.eval_columns.items())[:100]),
        eval_column_count=len(checker.eval_columns),
        columns=list(checker.columns)[:50],
        notes=(replaced + checker.notes())[:15],
    )


# --- run_experiment -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    role: str
    content: str


_ROLES = ("SYSTEM", "USER", "ASSISTANT")


def _messages(prompt: str | list[Any]) -> list[_Message]:
    """``prompt`` as chat messages: a string is one user message."""
    if isinstance(prompt, str):
        return [_Message("USER", prompt)]
    if not prompt:
        raise ToolError("prompt: give a user message, or a list of chat messages")
    messages = []
    for index, item in enumerate(prompt):
        keys = sorted(item) if isinstance(item, dict) else []
        role = str(item.get("role", "")).upper() if isinstance(item, dict) else ""
        content = item.get("content") if isinstance(item, dict) else None
        if keys != ["content", "role"] or role not in _ROLES or not isinstance(content, str) or not content:
            raise ToolError(
                f"prompt[{index}]: a chat message is {{'role': 'system', 'user' or 'assistant', 'content': "
                f"'text'}} — this one has {', '.join(map(str, keys)) or 'none of those'}"
            )
        messages.append(_Message(role, content))
    return messages


class RunExperimentResult(ToolResult):
    """The run started (and, with a wait, how it went)."""

    experiment_name: str = Field(description="The experiment the run fills.")
    experiment: Ref | None = Field(description="The experiment, once the run has created it.")
    dataset: Ref = Field(description="The dataset run over.")
    task: Ref = Field(description="The RUN_EXPERIMENT task running it.")
    run_id: str = Field(description="The task run (get_task_runs follows it).")
    status: str = Field(description="PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.")
    variable_format: Literal["F_STRING", "MUSTACHE", "NONE"] = Field(description="How placeholders are read.")
    variables: list[str] = Field(description="The prompt's placeholders, each a dataset column.")
    examples_selected: int = Field(description="Examples the run covers.")
    num_successes: int | None = Field(description="Examples answered so far.")
    num_errors: int | None = Field(description="Examples whose model call failed so far.")
    failure_reason: str | None = Field(description="Why the run FAILED or was CANCELLED.")
    notes: list[str] = Field(description="What else to know, and what to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The run, its state and counts, and where its outputs go."""
        counts = ""
        if self.num_successes or self.num_errors:
            counts = f" ({self.num_successes or 0:,} answered, {self.num_errors or 0:,} failed)"
        line = (
            f"Run {self.run_id} is {self.status}{counts}: {self.examples_selected:,} examples of dataset "
            f"'{self.dataset.name}' → experiment '{self.experiment_name}'."
        )
        if self.failure_reason:
            line += f" Reason: {self.failure_reason}"
        return line, "failure_reason" if self.failure_reason else None


def _prompt_variables(messages: list[_Message], style: str) -> list[str]:
    found: dict[str, None] = {}
    for message in messages:
        if style == "F_STRING":
            found.update(dict.fromkeys(template_variables(message.content)))
        elif style == "MUSTACHE":
            try:
                found.update(dict.fromkeys(mustache_variables(message.content)))
            except TemplateSyntaxError as exc:
                raise ToolError(f"prompt: {exc}") from None
    return list(found)


def _detect_format(messages: list[_Message]) -> Literal["F_STRING", "MUSTACHE", "NONE"]:
    text = "\n".join(m.content for m in messages)
    try:
        if mustache_variables(text):
            return "MUSTACHE"
    except TemplateSyntaxError:
        pass
    return "F_STRING" if template_variables(text) else "NONE"


@dataclass
class _Selection:
    ids: list[str]
    columns: set[str]
    missing: dict[str, int]


async def _select_examples(
    client: AsyncArizeClient, dataset_id: str, variables: list[str], max_examples: int | None
) -> _Selection:
    selection = _Selection([], set(), dict.fromkeys(variables, 0))
    async for example in client.datasets.list_examples(dataset_id, limit=RUN_PAGE):
        columns = {"example_id": example.id, **example.fields}
        selection.columns.update(example.fields)
        selection.ids.append(example.id)
        for variable in variables:
            if record_value(columns, variable) is MISSING:
                selection.missing[variable] += 1
        if max_examples is not None and len(selection.ids) >= max_examples:
            break
    return selection


def _same_config(stored: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    if not stored:
        return False
    return all(stored.get(key) == value for key, value in wanted.items()) and all(
        not value for key, value in stored.items() if key not in wanted
    )


async def _generation_task(client: AsyncArizeClient, dataset: Ref, config: dict[str, Any], space_id: str) -> Task:
    """An idle RUN_EXPERIMENT task of ``dataset`` set to ``config``: 'generate: <dataset>' or, while that one runs,
    'generate: <dataset> #2' and so on (created when missing), so that prompts can run side by side."""
    base = f"generate: {dataset.name}"[:240]
    names = [base, *(f"{base} #{n}" for n in range(2, GENERATION_TASKS + 1))]
    existing = {t.name: t async for t in client.tasks.list(space=space_id, name=base, limit=100) if t.name in names}
    for name in names:
        task = existing.get(name)
        if task is None:
            return await client.tasks.create(
                name=name, type="RUN_EXPERIMENT", dataset=dataset.id, run_configuration=config, space=space_id
            )
        if task.type != "RUN_EXPERIMENT" or task.dataset_id != dataset.id:
            continue
        if any([r async for r in client.tasks.list_runs(task.id, limit=10) if not r.is_terminal]):
            continue
        if not _same_config(task.run_configuration, config):
            task = await client.tasks.update(task.id, run_configuration=config)
        return task
    raise ToolError(
        f"dataset: the {GENERATION_TASKS} generation tasks of dataset '{dataset.name}' are all running — follow them "
        "with get_task_runs and call again when one ends"
    )


PromptArg = Annotated[
    Annotated[str, Field(min_length=1, max_length=100_000)] | list[Any],
    Field(description="With {column} placeholders; or [{role, content}]."),
]


@tool_errors
async def run_experiment(
    ctx: ToolContext,
    dataset: DatasetRef,
    experiment_name: ExperimentName,
    ai_integration: AiIntegrationRef,
    prompt: PromptArg,
    model_name: Annotated[
        str | None, Field(min_length=1, max_length=255, description="Default: the integration's.")
    ] = None,
    max_examples: Annotated[int | None, Field(ge=1, description="Only the first N.")] = None,
) -> RunExperimentResult:
    """Run a prompt over a dataset on the server; the answers become a new experiment. Try max_examples=5 first."""
    state = app_state(ctx)
    client = state.client
    messages = _messages(prompt)
    style = _detect_format(messages)
    variables = _prompt_variables(messages, style)

    found = await client.datasets.get(dataset, space=(await space_ref(state)).id)
    dataset_ref = Ref(id=found.id, name=found.name)
    integration = await client.ai_integrations.get(ai_integration, space=found.space_id)
    if model_name is None and not integration.model_names and not integration.enable_default_models:
        raise ToolError(
            f"model_name: AI integration '{integration.name}' lists no models — pass model_name (e.g. 'gpt-4o-mini')"
        )
    await _ensure_experiment_name_free(client, experiment_name, dataset_ref, None, "experiment_name")

    selection = await _select_examples(client, found.id, variables, max_examples)
    if not selection.ids:
        raise ToolError(f"dataset: '{found.name}' has no examples to run — add examples first")
    columns = ", ".join(sorted(selection.columns)) or "none"
    absent = [v for v, n in selection.missing.items() if n == len(selection.ids)]
    if absent:
        listed = ", ".join(repr(v) for v in absent)
        raise ToolError(
            f"prompt: the placeholder(s) {listed} name no column of dataset '{found.name}' (its columns: {columns}) "
            "— rename the placeholder to a column, or add the column to the dataset"
        )
    notes = [
        f"{n:,} of {len(selection.ids):,} examples have no {v!r}; their runs will fail with an error"
        for v, n in selection.missing.items()
        if n
    ]
    if not variables:
        notes.append("the prompt has no placeholders: every example gets the same prompt")

    config: dict[str, Any] = {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": integration.id,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "input_variable_format": style,
    }
    if model_name is not None:
        config["model_name"] = model_name
    config = LlmGenerationRunConfig.model_validate(config).to_body()

    task = await _generation_task(client, dataset_ref, config, found.space_id)
    trigger: dict[str, Any] = {"experiment_name": experiment_name}
    if max_examples is not None:
        trigger["max_examples"] = max_examples
    run = await client.tasks.trigger_run(task.id, **trigger)
    if not run.is_terminal:
        notes.append(
            f"wait with get_task_runs(run_id='{run.id}', wait_seconds=300), then read the outputs with "
            f"get_experiment(experiment='{experiment_name}')"
        )
    return RunExperimentResult(
        experiment_name=experiment_name,
        experiment=Ref(id=run.experiment_id, name=experiment_name) if run.experiment_id else None,
        dataset=dataset_ref,
        task=Ref(id=task.id, name=task.name),
        run_id=run.id,
        status=run.status,
        variable_format=style,
        variables=variables,
        examples_selected=len(selection.ids),
        num_successes=run.num_successes,
        num_errors=run.num_errors,
        failure_reason=tool_terms(run.failure_reason) if run.failure_reason else None,
        notes=notes,
    )


# --- summaries ----------------------------------------------------------------------------------------------------


_TEXT_LIMIT = MAX_RESULT_CHARS - 400
"""A result's text stays under this many characters, leaving room for the summary line's own growth."""


def _fit(result: ToolResult, rows: list[Any], keep: int = 0) -> int:
    """Drop rows from the end of ``rows`` (a list the result holds; ``keep`` of them stay whatever their size)
    until the result's text fits; how many were dropped."""
    dropped = 0
    line, said = result.summary_line()
    size = len(result_text(result, line, said=said))
    while len(rows) > keep and size > _TEXT_LIMIT:
        size -= json_size(rows.pop()) + 1
        dropped += 1
        if size <= _TEXT_LIMIT:
            line, said = result.summary_line()
            size = len(result_text(result, line, said=said))
    return dropped


@dataclass
class _Tally:
    runs: int = 0
    scores: list[float] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    explanations: int = 0

    def add(self, score: Any, label: Any, explanation: Any) -> None:
        if score is None and label is None and explanation is None:
            return
        self.runs += 1
        if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
            self.scores.append(float(score))
        if label is not None:
            self.labels[str(label)] += 1
        if explanation:
            self.explanations += 1


class ScoreSummary(BaseModel):
    """One evaluator's (or annotation's) results over an experiment's runs."""

    name: str = Field(description="The evaluator or annotation name.")
    runs: int = Field(description="Runs with a result.")
    score_count: int = Field(description="Results with a score.")
    score_mean: float | None = Field(description="Mean score.")
    score_min: float | None = Field(description="Lowest score.")
    score_max: float | None = Field(description="Highest score.")
    labels: dict[str, int] = Field(description="Label → runs (the 10 most common).")
    explanations: int = Field(description="Results with an explanation.")


def _summary(name: str, tally: _Tally) -> ScoreSummary:
    scores = tally.scores
    return ScoreSummary(
        name=name,
        runs=tally.runs,
        score_count=len(scores),
        score_mean=round(sum(scores) / len(scores), 6) if scores else None,
        score_min=min(scores) if scores else None,
        score_max=max(scores) if scores else None,
        labels=dict(tally.labels.most_common(10)),
        explanations=tally.explanations,
    )


def _first(values: dict[str, Any], count: int, what: str) -> dict[str, Any]:
    """The first ``count`` items of ``values``, and a "…" item saying how many more there are."""
    if len(values) <= count:
        return values
    kept = dict(list(values.items())[:count])
    kept["…"] = f"{len(values) - count} more {what}"
    return kept


def _evaluations(run: ExperimentRun) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for key, value in run.fields.items():
        parsed = parse_eval_key(key)
        if parsed is None or parsed.field == "metadata":
            continue
        found.setdefault(parsed.name, {})[parsed.field] = value
    return found


def _plain_columns(run: ExperimentRun) -> dict[str, Any]:
    return {k: v for k, v in run.fields.items() if not k.startswith("eval.") or k.endswith(PASSTHROUGH_EVAL_SUFFIXES)}


class ErrorCount(BaseModel):
    """An error message and how many runs have it."""

    error: str = Field(description="The error (cut).")
    runs: int = Field(description="Runs that failed with it.")


class RunSample(BaseModel):
    """One run, compactly."""

    id: str = Field(description="The run's ID.")
    example_id: str | None = Field(description="The dataset example it answers.")
    output: str | None = Field(description="The output (cut).")
    error: str | None = Field(default=None, description="The error, when the run failed.")
    evaluations: dict[str, Any] = Field(description="Evaluator name → score, label, explanation (first 5).")
    columns: dict[str, Any] = Field(description="Other columns (first 10, compacted).")


class GetExperimentResult(ToolResult):
    """An experiment's runs summarised: counts, errors, and each evaluator's scores and labels."""

    experiment: Ref = Field(description="The experiment.")
    dataset: Ref | None = Field(description="Its dataset (none: standalone).")
    run_count: int = Field(description="Runs.")
    error_count: int = Field(description="Runs that failed.")
    errors: list[ErrorCount] = Field(description="The commonest errors.")
    evaluators: list[ScoreSummary] = Field(description="Per evaluator: scores and labels.")
    annotations: list[ScoreSummary] = Field(description="Per human annotation name: scores and labels.")
    columns: dict[str, int] = Field(description="Other run columns → runs with a value (first 20).")
    sample: list[RunSample] = Field(description="The first runs, compactly.")
    note: str | None = Field(default=None, description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The experiment's counts and each evaluator's mean score or commonest label."""
        where = f" on dataset '{self.dataset.name}'" if self.dataset else ""
        parts = [f"Experiment '{self.experiment.name}'{where}: {self.run_count:,} runs, {self.error_count:,} failed"]
        for e in self.evaluators[:5]:
            top = ", ".join(f"{label} {n:,}" for label, n in list(e.labels.items())[:3])
            mean = f"mean {e.score_mean:g}" if e.score_mean is not None else ""
            parts.append(f"{e.name}: {'; '.join(p for p in (mean, top) if p)} ({e.runs:,} runs)")
        return "; ".join(parts) + ".", None


async def _experiment_of(client: AsyncArizeClient, experiment: str, space: Ref) -> tuple[Experiment, Ref | None]:
    found = await client.experiments.get(experiment, space=space.id)
    dataset_ref = None
    if found.dataset_id is not None:
        owner = await client.datasets.get(found.dataset_id)
        dataset_ref = Ref(id=owner.id, name=owner.name)
    return found, dataset_ref


@tool_errors
async def get_experiment(
    ctx: ToolContext,
    experiment: ExperimentRef,
    sample: Annotated[int, Field(ge=0, le=50, description="Runs shown.")] = 5,
) -> GetExperimentResult:
    """Summarise an experiment: runs, errors, scores and labels per evaluator, sample runs."""
    state = app_state(ctx)
    client = state.client
    where = await space_ref(state)
    found, dataset_ref = await _experiment_of(client, experiment, where)
    run_count = error_count = 0
    errors: Counter[str] = Counter()
    evaluators: dict[str, _Tally] = {}
    annotations: dict[str, _Tally] = {}
    columns: Counter[str] = Counter()
    shown: list[RunSample] = []
    how = "shortened"
    async for run in client.experiments.list_runs(found.id, limit=RUN_PAGE):
        run_count += 1
        if run.error:
            error_count += 1
            errors[cut(run.error, COMPARE_CHARS, "shortened")] += 1
        evaluations = _evaluations(run)
        for name, result in evaluations.items():
            evaluators.setdefault(name, _Tally()).add(
                result.get("score"), result.get("label"), result.get("explanation")
            )
        for annotation in run.annotations:
            annotations.setdefault(annotation.name, _Tally()).add(annotation.score, annotation.label, annotation.text)
        plain = _plain_columns(run)
        columns.update(plain.keys())
        if len(shown) < sample:
            shown.append(
                RunSample(
                    id=run.id,
                    example_id=run.example_id,
                    output=cut(run.output, SAMPLE_CHARS, how) if run.output is not None else None,
                    error=cut(run.error, SAMPLE_CHARS, how) if run.error else None,
                    evaluations=compact(_first(evaluations, 5, "evaluators"), max_chars=SAMPLE_CHARS, how=how),
                    columns=compact(_first(plain, 10, "columns"), max_chars=SAMPLE_CHARS, max_items=10, how=how),
                )
            )
        if run_count % 5000 == 0:
            await ctx.report_progress(run_count, None, f"read {run_count:,} runs")
    note = None
    if run_count == 0:
        note = "the experiment has no runs yet; if run_experiment is filling it, follow it with get_task_runs"
    elif not evaluators:
        note = (
            "no evaluation results on these runs: score them with an evaluation task on the dataset "
            "(create_task with this experiment), or upload eval.<name>.* columns with upload_experiment"
        )
    summary = GetExperimentResult(
        experiment=Ref(id=found.id, name=found.name),
        dataset=dataset_ref,
        run_count=run_count,
        error_count=error_count,
        errors=[ErrorCount(error=e, runs=n) for e, n in errors.most_common(3)],
        evaluators=[_summary(n, t) for n, t in evaluators.items()],
        annotations=[_summary(n, t) for n, t in annotations.items()],
        columns=dict(columns.most_common(20)),
        sample=shown,
        note=note,
    )
    dropped = _fit(summary, summary.sample)
    if dropped:
        kept = len(summary.sample)
        summary.note = f"only the first {kept} of the {kept + dropped} runs asked for fit in this result" + (
            f". {note}" if note else ""
        )
    return summary


# --- compare_experiments ------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    output: str | None
    error: str | None
    results: dict[str, dict[str, Any]]


@dataclass
class _Loaded:
    experiment: Experiment
    outcomes: dict[str, _Outcome] = field(default_factory=dict)
    tallies: dict[str, _Tally] = field(default_factory=dict)
    run_count: int = 0
    error_count: int = 0
    repeats: int = 0
    without_example: int = 0

    @property
    def ref(self) -> Ref:
        return Ref(id=self.experiment.id, name=self.experiment.name)


async def _load(client: AsyncArizeClient, experiment: Experiment) -> _Loaded:
    loaded = _Loaded(experiment)
    how = "shortened"
    async for run in client.experiments.list_runs(experiment.id, limit=RUN_PAGE):
        loaded.run_count += 1
        loaded.error_count += bool(run.error)
        results = _evaluations(run)
        for name, result in results.items():
            loaded.tallies.setdefault(name, _Tally()).add(
                result.get("score"), result.get("label"), result.get("explanation")
            )
        if run.example_id is None:
            loaded.without_example += 1
        elif run.example_id in loaded.outcomes:
            loaded.repeats += 1
        else:
            output = cut(run.output, COMPARE_CHARS, how) if run.output is not None else None
            error = cut(run.error, COMPARE_CHARS, how) if run.error else None
            loaded.outcomes[run.example_id] = _Outcome(output, error, results)
    return loaded


class ExperimentScores(BaseModel):
    """One experiment's column of the comparison."""

    experiment: Ref = Field(description="The experiment.")
    run_count: int = Field(description="Runs.")
    error_count: int = Field(description="Runs that failed.")
    means: dict[str, float | None] = Field(description="Evaluator name → mean score (none: no scores).")


class PairComparison(BaseModel):
    """An experiment against the baseline, example by example, on the evaluator's score."""

    experiment: Ref = Field(description="The experiment compared with the baseline.")
    wins: int = Field(description="Examples where it scored better than the baseline.")
    losses: int = Field(description="Examples where it scored worse.")
    ties: int = Field(description="Examples with equal scores.")
    not_compared: int = Field(description="Examples missing a run or a score in one of the two.")
    mean_delta: float | None = Field(description="Mean score difference (it minus the baseline).")


class ChangedOutcome(BaseModel):
    """One experiment's result on a changed example."""

    experiment: str = Field(description="The experiment's name.")
    label: str | None = Field(description="The evaluator's label.")
    score: float | None = Field(description="The evaluator's score.")
    output: str | None = Field(description="The output (cut).")
    error: str | None = Field(default=None, description="The error, when the run failed.")


class ChangedExample(BaseModel):
    """An example whose label (or score, or output) differs between the experiments."""

    example_id: str = Field(description="The dataset example.")
    example: dict[str, Any] | None = Field(description="The example's columns (compacted).")
    results: list[ChangedOutcome] = Field(description="Each experiment's result on it, in the order given.")


class CompareExperimentsResult(ToolResult):
    """Experiments side by side: per-evaluator means, wins and losses against the baseline, changed examples."""

    dataset: Ref | None = Field(description="The dataset all the experiments run on.")
    evaluator: str | None = Field(description="The evaluator deciding wins and changes (none: no common one).")
    compared_by: Literal["label", "score", "output"] = Field(description="What counts as a change.")
    common_evaluators: list[str] = Field(description="Evaluators every experiment has results for.")
    experiments: list[ExperimentScores] = Field(description="Each experiment, in the order given (first: baseline).")
    comparisons: list[PairComparison] = Field(description="Each other experiment against the baseline.")
    changed_total: int = Field(description="Examples where every experiment has a value and they differ.")
    missing_total: int = Field(description="Examples where some experiment has no run or no value.")
    changed: list[ChangedExample] = Field(description="This page of the changed examples.")
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next changed examples.")
    notes: list[str] = Field(description="What else to know.")

    def summary_line(self) -> tuple[str, str | None]:
        """Wins and losses of each experiment against the baseline, and how many examples changed or miss one."""
        base = self.experiments[0].experiment.name
        pairs = [
            f"'{p.experiment.name}' vs '{base}' on {self.evaluator} score: {p.wins} wins, {p.losses} losses, "
            f"{p.ties} ties"
            for p in self.comparisons
        ]
        line = "; ".join(pairs) + ". " if pairs else ""
        what = f"{self.compared_by}s of {self.evaluator}" if self.evaluator else "outputs"
        line += f"By {what}: {self.changed_total:,} changed, {self.missing_total:,} missing on a side"
        if self.next_cursor:
            line += f"; {len(self.changed)} listed here, more with cursor=next_cursor"
        return line + ".", None


def _score_of(outcome: _Outcome | None, evaluator: str) -> float | None:
    if outcome is None:
        return None
    score = outcome.results.get(evaluator, {}).get("score")
    if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
        return float(score)
    return None


def _label_of(outcome: _Outcome | None, evaluator: str) -> str | None:
    if outcome is None:
        return None
    label = outcome.results.get(evaluator, {}).get("label")
    return None if label is None else str(label)


def _pair(base: _Loaded, other: _Loaded, evaluator: str, higher_is_better: bool) -> PairComparison:
    wins = losses = ties = not_compared = 0
    deltas: list[float] = []
    for example_id in dict.fromkeys([*base.outcomes, *other.outcomes]):
        before = _score_of(base.outcomes.get(example_id), evaluator)
        after = _score_of(other.outcomes.get(example_id), evaluator)
        if before is None or after is None:
            not_compared += 1
            continue
        deltas.append(after - before)
        if after == before:
            ties += 1
        elif (after > before) == higher_is_better:
            wins += 1
        else:
            losses += 1
    return PairComparison(
        experiment=other.ref,
        wins=wins,
        losses=losses,
        ties=ties,
        not_compared=not_compared,
        mean_delta=round(sum(deltas) / len(deltas), 6) if deltas else None,
    )


def _compared_by(loaded: list[_Loaded], evaluator: str | None) -> Literal["label", "score", "output"]:
    """Labels when every experiment has them for ``evaluator``, else scores when every one has those."""
    if evaluator is None:
        return "output"
    tallies = [e.tallies[evaluator] for e in loaded]
    if all(t.labels for t in tallies):
        return "label"
    if all(t.scores for t in tallies):
        return "score"
    return "label" if any(t.labels for t in tallies) else "score"


def _changes(loaded: list[_Loaded], evaluator: str | None, by: str) -> tuple[list[str], int]:
    """The examples whose value differs where every experiment has one, and how many lack a value somewhere."""
    changed: list[str] = []
    missing = 0
    for example_id in dict.fromkeys(k for e in loaded for k in e.outcomes):
        values: list[Any] = []
        for e in loaded:
            outcome = e.outcomes.get(example_id)
            if by == "output" or evaluator is None:
                values.append(outcome.output if outcome is not None else None)
            elif by == "label":
                values.append(_label_of(outcome, evaluator))
            else:
                values.append(_score_of(outcome, evaluator))
        if any(v is None for v in values):
            missing += 1
        elif len(set(values)) > 1:
            changed.append(example_id)
    return changed, missing


async def _example_columns(client: AsyncArizeClient, dataset_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    async for example in client.datasets.list_examples(dataset_id, limit=RUN_PAGE):
        if example.id in wanted:
            found[example.id] = example.fields
            if len(found) == len(wanted):
                break
    return found


@tool_errors
async def compare_experiments(
    ctx: ToolContext,
    experiments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]],
        Field(description="First: the baseline."),
    ],
    evaluator: Annotated[
        str | None, Field(min_length=1, max_length=255, description="Default: the first shared one.")
    ] = None,
    higher_is_better: Annotated[bool, Field(description="False if lower is better.")] = True,
    cursor: Annotated[str | None, Field(min_length=1, max_length=2048, description="A next_cursor.")] = None,
) -> CompareExperimentsResult:
    """Compare experiments example by example: scores, wins and losses against the first, changed labels."""
    state = app_state(ctx)
    client = state.client
    where = await space_ref(state)
    if not 2 <= len(experiments) <= MAX_COMPARED:
        raise ToolError(f"experiments: give 2 to {MAX_COMPARED} experiments (names or IDs); the first is the baseline")
    if len(set(experiments)) < len(experiments):
        raise ToolError("experiments: the same experiment is listed twice — give different experiments")
    scope = scope_of("compare_experiments", experiments, evaluator, higher_is_better, where.id)
    start = decode_cursor(scope, cursor).skip
    resolved = [await _experiment_of(client, e, where) for e in experiments]
    dataset_ids = {found.dataset_id for found, _ in resolved}
    if len(dataset_ids) > 1:
        listed = "; ".join(f"'{f.name}' → {d.name if d else 'no dataset'}" for f, d in resolved)
        raise ToolError(f"experiments: they must run on the same dataset to be compared example by example — {listed}")
    loaded: list[_Loaded] = []
    for index, (found, _) in enumerate(resolved, start=1):
        loaded.append(await _load(client, found))
        await ctx.report_progress(index, len(resolved), f"read experiment '{found.name}'")
    common = [n for n in loaded[0].tallies if all(n in e.tallies for e in loaded[1:])]
    notes: list[str] = []
    if evaluator is not None and evaluator not in common:
        having = "; ".join(f"'{e.experiment.name}': {', '.join(e.tallies) or 'none'}" for e in loaded)
        raise ToolError(
            f"evaluator: not every experiment has results for {evaluator!r} — evaluators by experiment: {having}"
        )
    chosen = evaluator or next((n for n in common if any(e.tallies[n].scores for e in loaded)), None)
    chosen = chosen or (common[0] if common else None)
    if chosen is None:
        notes.append(
            "the experiments have no evaluator in common, so there are no wins or losses; the changed examples are "
            "those whose output differs — score the experiments with the same evaluator to compare them"
        )
    comparisons = []
    if chosen is not None and any(e.tallies[chosen].scores for e in loaded):
        comparisons = [_pair(loaded[0], other, chosen, higher_is_better) for other in loaded[1:]]
    elif chosen is not None:
        notes.append(f"evaluator {chosen!r} has labels but no scores, so wins and losses cannot be counted")
    for e in loaded:
        if e.repeats:
            notes.append(f"'{e.experiment.name}' has {e.repeats} repeated runs of an example; the first run was used")
        if e.without_example:
            notes.append(f"'{e.experiment.name}' has {e.without_example} runs without example_id; they were left out")
    by = _compared_by(loaded, chosen)
    changed_ids, missing = _changes(loaded, chosen, by)
    page = changed_ids[start : start + COMPARE_PAGE]
    dataset_ref = resolved[0][1]
    example_columns: dict[str, dict[str, Any]] = {}
    if dataset_ref is not None and page:
        example_columns = await _example_columns(client, dataset_ref.id, page)
    changed = [
        ChangedExample(
            example_id=example_id,
            example=(
                compact(fields, max_chars=COMPARE_CHARS, max_items=10, how="shortened")
                if (fields := example_columns.get(example_id)) is not None
                else None
            ),
            results=[
                ChangedOutcome(
                    experiment=e.experiment.name,
                    label=_label_of(o, chosen) if chosen else None,
                    score=_score_of(o, chosen) if chosen else None,
                    output=o.output if o else None,
                    error=o.error if o else None,
                )
                for e in loaded
                for o in [e.outcomes.get(example_id)]
            ],
        )
        for example_id in page
    ]
    result = CompareExperimentsResult(
        dataset=dataset_ref,
        evaluator=chosen,
        compared_by=by,
        common_evaluators=common,
        experiments=[
            ExperimentScores(
                experiment=e.ref,
                run_count=e.run_count,
                error_count=e.error_count,
                means={n: _summary(n, t).score_mean for n, t in e.tallies.items()},
            )
            for e in loaded
        ],
        comparisons=comparisons,
        changed_total=len(changed_ids),
        missing_total=missing,
        changed=changed,
        notes=notes,
    )
    _fit(result, result.changed, keep=1)
    shown_to = start + len(result.changed)
    if shown_to < len(changed_ids):
        result.next_cursor = encode_cursor(scope, Position(None, shown_to))
    return result


def register(server: MCPServer[Any]) -> None:
    """Register the experiment tools."""
    register_tool(server, upload_experiment, title="Upload experiment runs", kind="create")
    register_tool(server, run_experiment, title="Run a prompt over a dataset", kind="create", calls_llm=True)
    register_tool(server, get_experiment, title="Summarise an experiment", kind="read")
    register_tool(server, compare_experiments, title="Compare experiments", kind="read")
