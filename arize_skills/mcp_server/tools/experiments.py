"""``upload_experiment``, ``run_experiment``, ``get_experiment`` and ``compare_experiments``.

Uploads are checked whole before anything is written (every bad row named by number and column), then sent in
requests of at most 1000 runs through the client: the first creates the experiment, the rest are appended. A
file is read twice as a stream (check, then write), so its size is bounded by the disk, not by memory.
``eval.<name>.score / .label / .explanation / .metadata.<key>`` columns become evaluation results and are
reported by name; a column that looks like one but is not (``eval.x.scores``, a nested ``evaluations`` column)
stops the upload instead of passing through unseen. ``run_experiment`` runs a prompt over a dataset on the
server through a ``RUN_EXPERIMENT`` task; the two readers summarise runs (scores, labels, errors) and compare
experiments example by example.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import AmbiguousNameError, ArizeSkillsError, NameNotFoundError, TemplateSyntaxError
from ...evals.judge import mustache_variables, template_variables
from ...evals.mapping import MISSING, record_value
from ...models.evaluators import EVAL_NAME_PATTERN
from ...models.experiments import MAX_RUNS_PER_REQUEST, Experiment, ExperimentRun, parse_eval_key
from ...models.tasks import LlmGenerationRunConfig, Task, TaskRun
from ..budget import DEFAULT_BUDGET_CHARS, compact, cut, json_size
from ..errors import tool_errors
from ..files import Record, RowProblems
from ..state import AppState, app_state
from ..types import AiIntegrationRef, DatasetRef, ExperimentRef, Ref, SpaceArg, ToolContext, ToolResult
from . import register_tool
from .datasets import FileFormatArg, FilePath, RowSource, similar_columns, space_ref

__all__ = [
    "CompareExperimentsResult",
    "GetExperimentResult",
    "PromptMessage",
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
RESERVED_RUN_COLUMNS = ("id", "annotations")
NESTED_EVAL_COLUMNS = ("evaluations", "evaluation", "evals", "eval", "eval_results")
PASSTHROUGH_EVAL_SUFFIXES = (".trace.id", ".trace.timestamp")
_EVAL_NAME = re.compile(EVAL_NAME_PATTERN)
_LOOSE_EVAL = re.compile(r"(^|[._])(score|label|explanation)$")
_BAD = object()

ExperimentName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r'^[^"\\]*$',
        description="The experiment's name: unique in its dataset (no \" or \\).",
    ),
]


# --- checking runs ----------------------------------------------------------------------------------------------


@dataclass
class _EvalFound:
    scores: int = 0
    labels: int = 0
    explanations: int = 0
    metadata: set[str] = field(default_factory=set)


@dataclass
class _RunCheck:
    """Checks upload rows one by one, turning each good one into a run object and remembering every problem."""

    example_ids: set[str] | None
    dataset_name: str | None
    problems: RowProblems = field(default_factory=RowProblems)
    rows: int = 0
    good: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    evals: dict[str, _EvalFound] = field(default_factory=dict)
    converted_outputs: int = 0
    errored_runs: int = 0
    flagged: set[str] = field(default_factory=set)
    loose: set[str] = field(default_factory=set)

    def _column_problem(self, row: int, column: str, problem: str) -> None:
        if column not in self.flagged:
            self.flagged.add(column)
            self.problems.add(None, column, f"{problem} (first seen in row {row})")

    def check(self, record: Record) -> dict[str, Any] | None:
        """The run object of ``record``, or None when it has a problem (recorded)."""
        self.rows += 1
        row = record.row
        if record.problem is not None:
            self.problems.add(row, None, record.problem)
            return None
        values = {k: v for k, v in record.values.items() if v is not None}
        if not values:
            self.problems.add(row, None, "is empty: a run needs at least an output")
            return None
        ok = True
        run: dict[str, Any] = {}
        results: dict[str, set[str]] = {}
        for column, value in values.items():
            if column in ("output", "example_id", "error"):
                continue
            if column in RESERVED_RUN_COLUMNS:
                self._column_problem(row, column, "is assigned by the server — rename the column")
                ok = False
            elif column.lower() in NESTED_EVAL_COLUMNS:
                self._column_problem(
                    row,
                    column,
                    "evaluation results nested in one column are stored as plain data and never become scores — "
                    "give each its own columns: eval.<name>.score, eval.<name>.label, eval.<name>.explanation",
                )
                ok = False
            elif column.startswith("eval.") and not column.endswith(PASSTHROUGH_EVAL_SUFFIXES):
                converted = self._eval_value(row, column, value, results)
                if converted is _BAD:
                    ok = False
                elif converted is not None:
                    run[column] = converted
            else:
                if _LOOSE_EVAL.search(column):
                    self.loose.add(column)
                run[column] = value
                self.columns[column] = self.columns.get(column, 0) + 1
        for name, fields in results.items():
            if not fields & {"score", "label"}:
                self.problems.add(
                    row,
                    f"eval.{name}.score",
                    f"eval.{name} has an explanation or metadata but neither a score nor a label — an evaluation "
                    f"result needs eval.{name}.score or eval.{name}.label",
                )
                ok = False
        output, error = self._output(row, values)
        example_id = self._example_id(row, values.get("example_id"))
        if not ok or output is None or example_id is _BAD:
            return None
        run["output"] = output
        if example_id is not None:
            run["example_id"] = example_id
        if error is not None:
            run["error"] = error
        for name, fields in results.items():
            found = self.evals.setdefault(name, _EvalFound())
            found.scores += "score" in fields
            found.labels += "label" in fields
            found.explanations += "explanation" in fields
        self.good += 1
        return run

    def _eval_value(self, row: int, column: str, value: Any, results: dict[str, set[str]]) -> Any:
        parsed = parse_eval_key(column)
        if parsed is None:
            self._column_problem(
                row,
                column,
                "is not an evaluation column — name it eval.<name>.score, eval.<name>.label, "
                "eval.<name>.explanation or eval.<name>.metadata.<key>",
            )
            return _BAD
        if not _EVAL_NAME.match(parsed.name):
            self._column_problem(
                row,
                column,
                f"evaluator name {parsed.name!r} may hold only letters, digits, spaces, _, -, &, ( and ) — rename "
                "the column",
            )
            return _BAD
        converted: Any = value
        if parsed.field == "score":
            converted = _score(value)
            if converted is _BAD:
                self.problems.add(row, column, "is not a number (a score must be numeric)", value=value)
                return _BAD
        elif parsed.field in ("label", "explanation"):
            if isinstance(value, dict | list):
                self.problems.add(row, column, f"must be text, not a JSON {type(value).__name__}", value=value)
                return _BAD
            converted = value if isinstance(value, str) else str(value)
            if not converted.strip():
                return None
        else:
            self.evals.setdefault(parsed.name, _EvalFound()).metadata.add(parsed.metadata_key or "")
        if converted is not None:
            results.setdefault(parsed.name, set()).add(parsed.field)
        return converted

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
            if self.example_ids is None:
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
        if self.example_ids is not None and value not in self.example_ids:
            self.problems.add(
                row,
                "example_id",
                f"is not an example of dataset '{self.dataset_name}' (its latest version) — use the IDs "
                "get_dataset_examples shows",
                value=value,
            )
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
        if not self.evals:
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


async def _example_ids(client: AsyncArizeClient, dataset_id: str) -> set[str]:
    return {example.id async for example in client.datasets.list_examples(dataset_id, limit=RUN_PAGE)}


async def _check_runs(ctx: ToolContext, source: RowSource, checker: _RunCheck) -> None:
    async for batch in source.batches(MAX_RUNS_PER_REQUEST):
        for record in batch:
            checker.check(record)
        await ctx.report_progress(checker.rows, None, f"checked {checker.rows:,} rows")
    if checker.rows == 0:
        raise ToolError(
            f"{'file' if source.table else 'rows'}: no rows found in {source.describe()} — nothing to upload"
        )
    if checker.problems:
        raise ToolError(
            checker.problems.report(
                f"nothing was written: {checker.rows:,} rows checked, {checker.problems.bad_rows:,} with problems "
                "(rows are numbered from 1; a CSV header is not a row):"
            )
        )


async def _ensure_experiment_name_free(
    client: AsyncArizeClient, name: str, dataset: Ref | None, space: Ref, argument: str = "name"
) -> None:
    if dataset is not None:
        try:
            existing = await client.resolve.experiment_id(name, dataset=dataset.id)
        except NameNotFoundError:
            return
        raise ToolError(
            f"{argument}: dataset '{dataset.name}' already has an experiment named {name!r} ({existing}) — choose "
            "another name (find(kind='experiment') lists them)"
        )
    async for experiment in client.experiments.list(space=space.id, name=name, limit=100):
        if experiment.name == name and experiment.dataset_id is None:
            raise ToolError(
                f"{argument}: space '{space.name}' already has a standalone experiment named {name!r} "
                f"({experiment.id}) — choose another name"
            )


# --- upload_experiment ------------------------------------------------------------------------------------------


class EvaluatorFound(BaseModel):
    """An evaluator whose results came with the runs (``eval.<name>.*`` columns)."""

    name: str = Field(description="The evaluator name (the <name> of eval.<name>.*).")
    scores: int = Field(description="How many runs carry a score.")
    labels: int = Field(description="How many runs carry a label.")
    explanations: int = Field(description="How many runs carry an explanation.")
    metadata_keys: list[str] = Field(description="The eval.<name>.metadata.<key> keys found.")


class UploadExperimentResult(ToolResult):
    """The experiment created from the uploaded runs."""

    experiment: Ref = Field(description="The new experiment.")
    dataset: Ref | None = Field(description="The dataset its runs answer (none for a standalone experiment).")
    space: Ref = Field(description="The space.")
    run_count: int = Field(description="How many runs were written.")
    evaluators: list[EvaluatorFound] = Field(description="Evaluation results attached, by evaluator.")
    columns: list[str] = Field(description="Other run columns stored as they are (first 100).")
    source: str = Field(description="Where the runs came from.")
    notes: list[str] = Field(description="What else to know: converted outputs, look-alike eval columns, …")


@tool_errors
async def upload_experiment(
    ctx: ToolContext,
    name: ExperimentName,
    dataset: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="The dataset the runs answer: its exact name or ID (find(kind='dataset')). Required unless "
            "standalone=true.",
        ),
    ] = None,
    rows: Annotated[
        list[dict[str, Any]] | None,
        Field(
            min_length=1,
            max_length=MAX_INLINE_RUNS,
            description=f"The runs as objects (at most {MAX_INLINE_RUNS:,}; use file= for more). Give either rows or "
            "file.",
        ),
    ] = None,
    file: FilePath = None,
    file_format: FileFormatArg = None,
    standalone: Annotated[
        bool,
        Field(description="Create an experiment on no dataset, in the space (then example_id is optional)."),
    ] = False,
    space: SpaceArg = None,
) -> UploadExperimentResult:
    """Upload experiment runs — the outputs your own code produced for a dataset's examples — from a CSV, JSON,
    JSONL or Parquet file of any size, or from rows. Each run has example_id (the dataset example it answers;
    get_dataset_examples lists the IDs) and output (text; objects, lists and numbers are stored as JSON text);
    other columns are kept; eval.<name>.score / eval.<name>.label / eval.<name>.explanation columns attach
    evaluation results and are reported by evaluator. Every row is checked before anything is written —
    missing output or example_id, example IDs not in the dataset, non-numeric scores, misnamed eval columns —
    and each bad row is reported by number and column with nothing created. Never invent outputs or scores: upload
    what your code really produced. Use run_experiment instead to have the server generate outputs with a prompt."""
    state = app_state(ctx)
    client = state.client
    if dataset is None and not standalone:
        raise ToolError(
            "dataset: required — pass the dataset whose examples the runs answer (find(kind='dataset') lists them), "
            "or standalone=true for an experiment on no dataset"
        )
    if dataset is not None and standalone:
        raise ToolError("standalone: true means no dataset — drop dataset=, or set standalone=false")
    source = RowSource.of(rows, file, file_format)
    where = await space_ref(state, space)
    dataset_ref: Ref | None = None
    example_ids: set[str] | None = None
    if dataset is not None:
        found = await client.datasets.get(dataset, space=where.id)
        dataset_ref = Ref(id=found.id, name=found.name)
        example_ids = await _example_ids(client, found.id)
        if not example_ids:
            raise ToolError(f"dataset: '{found.name}' has no examples, so no run can answer one — add examples first")
    await _ensure_experiment_name_free(client, name, dataset_ref, where)
    checker = _RunCheck(example_ids, dataset_ref.name if dataset_ref else None)
    await _check_runs(ctx, source, checker)

    rechecker = _RunCheck(example_ids, checker.dataset_name)
    experiment: Experiment | None = None
    written = 0
    try:
        async for batch in source.batches(MAX_RUNS_PER_REQUEST):
            runs = [rechecker.check(record) for record in batch]
            if rechecker.problems or any(run is None for run in runs):
                raise ToolError(
                    rechecker.problems.report("the file changed while it was being uploaded; stopped:")
                    + _partial(experiment, written)
                )
            good = [run for run in runs if run is not None]
            if experiment is None:
                if dataset_ref is not None:
                    experiment = await client.experiments.create(name, good, dataset=dataset_ref.id)
                else:
                    experiment = await client.experiments.create(name, good, space=where.id)
            else:
                await client.experiments.append_runs(experiment.id, good)
            written += len(good)
            await ctx.report_progress(written, checker.good, f"uploaded {written:,} of {checker.good:,} runs")
    except ArizeSkillsError as exc:
        if experiment is None:
            raise
        raise ToolError(f"the upload stopped: {exc}{_partial(experiment, written)}") from None
    if experiment is None:
        raise ToolError("rows: no runs to upload")
    return UploadExperimentResult(
        experiment=Ref(id=experiment.id, name=experiment.name),
        dataset=dataset_ref,
        space=where,
        run_count=written,
        evaluators=[
            EvaluatorFound(
                name=name,
                scores=found.scores,
                labels=found.labels,
                explanations=found.explanations,
                metadata_keys=sorted(found.metadata),
            )
            for name, found in checker.evals.items()
        ],
        columns=list(checker.columns)[:100],
        source=source.describe(),
        notes=checker.notes(),
    )


def _partial(experiment: Experiment | None, written: int) -> str:
    if experiment is None:
        return " Nothing was written."
    return (
        f" Experiment '{experiment.name}' ({experiment.id}) was created and holds the first {written:,} runs; "
        "delete it and upload again under the same name, or upload the rest under a new name."
    )


# --- run_experiment -----------------------------------------------------------------------------------------------


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class PromptMessage(BaseModel):
    """One message of the prompt."""

    model_config = ConfigDict(extra="forbid")

    role: Annotated[Literal["SYSTEM", "USER", "ASSISTANT"], BeforeValidator(_upper)] = Field(
        description="Who says it: SYSTEM, USER or ASSISTANT (any case)."
    )
    content: str = Field(min_length=1, description="The text, with {var} or {{var}} placeholders for dataset columns.")


class RunExperimentResult(ToolResult):
    """The run started (and, with a wait, how it went)."""

    experiment_name: str = Field(description="The experiment the run creates.")
    experiment: Ref | None = Field(description="The experiment, once the run has created it.")
    dataset: Ref = Field(description="The dataset run over.")
    task: Ref = Field(description="The RUN_EXPERIMENT task that runs it.")
    task_created: bool = Field(description="True when the task was created by this call, false when reused.")
    ai_integration: Ref = Field(description="The AI integration that calls the model.")
    model_name: str | None = Field(description="The model (none: the integration's default).")
    variable_format: Literal["F_STRING", "MUSTACHE", "NONE"] = Field(description="How placeholders are read.")
    variables: list[str] = Field(description="The prompt's variables, each a dataset column.")
    examples_selected: int = Field(description="How many examples the run covers.")
    run_id: str = Field(description="The task run's ID (get_task_run follows it).")
    status: str = Field(description="PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.")
    num_successes: int | None = Field(description="Examples answered so far.")
    num_errors: int | None = Field(description="Examples whose model call failed so far.")
    failure_reason: str | None = Field(description="Why the run FAILED or was CANCELLED.")
    notes: list[str] = Field(description="What else to know, and what to do next.")


def _prompt_variables(messages: list[PromptMessage], style: str) -> list[str]:
    found: dict[str, None] = {}
    for message in messages:
        if style == "F_STRING":
            found.update(dict.fromkeys(template_variables(message.content)))
        elif style == "MUSTACHE":
            try:
                found.update(dict.fromkeys(mustache_variables(message.content)))
            except TemplateSyntaxError as exc:
                raise ToolError(f"template: {exc}") from None
    return list(found)


def _detect_format(messages: list[PromptMessage]) -> Literal["F_STRING", "MUSTACHE", "NONE"]:
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
    scanned: int


async def _select_examples(
    client: AsyncArizeClient,
    dataset_id: str,
    variables: list[str],
    max_examples: int | None,
    example_ids: list[str] | None,
) -> _Selection:
    wanted = set(example_ids) if example_ids is not None else None
    selection = _Selection([], set(), dict.fromkeys(variables, 0), 0)
    async for example in client.datasets.list_examples(dataset_id, limit=RUN_PAGE):
        selection.scanned += 1
        if wanted is not None and example.id not in wanted:
            continue
        columns = {"example_id": example.id, **example.fields}
        selection.columns.update(example.fields)
        selection.ids.append(example.id)
        for variable in variables:
            if record_value(columns, variable) is MISSING:
                selection.missing[variable] += 1
        if max_examples is not None and len(selection.ids) >= max_examples:
            break
        if wanted is not None and len(selection.ids) == len(wanted):
            break
    return selection


async def _find_task(client: AsyncArizeClient, name: str, space: Ref) -> Task | None:
    async for task in client.tasks.list(space=space.id, name=name, limit=100):
        if task.name == name:
            return task
    return None


def _same_config(stored: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    if not stored:
        return False
    return all(stored.get(key) == value for key, value in wanted.items()) and all(
        not value for key, value in stored.items() if key not in wanted
    )


async def _wait(
    ctx: ToolContext, state: AppState, run: TaskRun, wait_seconds: float, total: int
) -> tuple[TaskRun, bool]:
    """Poll ``run`` until it ends or ``wait_seconds`` pass, reporting progress; returns it and whether it ended."""
    interval = 0.2
    with anyio.move_on_after(wait_seconds):
        while True:
            run = await state.client.tasks.get_run(run.id)
            done = (run.num_successes or 0) + (run.num_errors or 0)
            await ctx.report_progress(done, total or None, f"{run.status}: {done:,} of {total:,} examples")
            if run.is_terminal:
                return run, True
            await anyio.sleep(interval)
            interval = min(interval * 2, 3.0)
    return await state.client.tasks.get_run(run.id), False


@tool_errors
async def run_experiment(
    ctx: ToolContext,
    dataset: DatasetRef,
    experiment_name: ExperimentName,
    ai_integration: AiIntegrationRef,
    template: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=100_000,
            description="The prompt as one user message, with dataset columns as {column} or {{column}} "
            "placeholders. Give either template or messages.",
        ),
    ] = None,
    system_prompt: Annotated[
        str | None,
        Field(min_length=1, max_length=100_000, description="A system message sent before template (template only)."),
    ] = None,
    messages: Annotated[
        list[PromptMessage] | None,
        Field(
            min_length=1, max_length=50, description="The prompt as chat messages. Give either template or messages."
        ),
    ] = None,
    variable_format: Annotated[
        Literal["F_STRING", "MUSTACHE", "NONE"] | None,
        Field(
            description="How placeholders are written: F_STRING {column}, MUSTACHE {{column}}, NONE (sent as "
            "written). Omit to detect it from the prompt."
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        Field(min_length=1, max_length=255, description="The model, e.g. 'gpt-4o-mini'; omit for the integration's."),
    ] = None,
    invocation_parameters: Annotated[
        dict[str, Any] | None,
        Field(description="Model parameters such as {'temperature': 0, 'max_tokens': 512}."),
    ] = None,
    max_examples: Annotated[
        int | None, Field(ge=1, description="Run only the first N examples (a cheap trial). Omit for all.")
    ] = None,
    example_ids: Annotated[
        list[Annotated[str, Field(min_length=1)]] | None,
        Field(min_length=1, max_length=10_000, description="Run only these examples (not with max_examples)."),
    ] = None,
    task_name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="The RUN_EXPERIMENT task to create, or reuse when one of this name exists on the dataset "
            "(its prompt is then replaced). Default: 'generate: <dataset name>'.",
        ),
    ] = None,
    wait_seconds: Annotated[
        float,
        Field(ge=0, le=600, description="Wait up to this many seconds for the run to finish (0: return at once)."),
    ] = 0,
    space: SpaceArg = None,
) -> RunExperimentResult:
    """Run a prompt over a dataset on the server: each selected example's columns fill the prompt's placeholders,
    the model answers through an AI integration, and each answer becomes a run of a new experiment. Give the prompt
    as template (one user message, with an optional system_prompt) or as messages. Before anything starts, every
    placeholder is checked against the dataset's columns. Creates (or reuses, by task_name) a RUN_EXPERIMENT task
    and triggers it; returns the run ID at once, or waits up to wait_seconds with progress. Try max_examples=5
    first. Then get_experiment summarises the outputs, and an evaluation task on the dataset scores them. Use
    upload_experiment instead when your own code produced the outputs."""
    state = app_state(ctx)
    client = state.client
    if (template is None) == (messages is None):
        raise ToolError("template, messages: give exactly one — a template string, or a list of chat messages")
    if system_prompt is not None and template is None:
        raise ToolError("system_prompt: applies only with template; with messages, add a SYSTEM message")
    if max_examples is not None and example_ids is not None:
        raise ToolError("max_examples, example_ids: give at most one")
    prompt = list(messages or [])
    if template is not None:
        if system_prompt is not None:
            prompt.append(PromptMessage(role="SYSTEM", content=system_prompt))
        prompt.append(PromptMessage(role="USER", content=template))
    style = variable_format or _detect_format(prompt)
    variables = _prompt_variables(prompt, style)

    where = await space_ref(state, space)
    found = await client.datasets.get(dataset, space=where.id)
    dataset_ref = Ref(id=found.id, name=found.name)
    integration = await client.ai_integrations.get(ai_integration, space=where.id)
    if model_name is None and not integration.model_names and not integration.enable_default_models:
        raise ToolError(
            f"model_name: AI integration '{integration.name}' lists no models — pass model_name (e.g. 'gpt-4o-mini')"
        )
    await _ensure_experiment_name_free(client, experiment_name, dataset_ref, where, "experiment_name")

    selection = await _select_examples(client, found.id, variables, max_examples, example_ids)
    if example_ids is not None:
        unknown = [i for i in dict.fromkeys(example_ids) if i not in set(selection.ids)]
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise ToolError(
                f"example_ids: {len(unknown)} are not examples of dataset '{found.name}': {shown} — "
                "get_dataset_examples lists them"
            )
    if not selection.ids:
        raise ToolError(f"dataset: '{found.name}' has no examples to run — add examples first")
    columns = ", ".join(sorted(selection.columns)) or "none"
    absent = [v for v, n in selection.missing.items() if n == len(selection.ids)]
    if absent:
        listed = ", ".join(repr(v) for v in absent)
        raise ToolError(
            f"template: the placeholder(s) {listed} name no column of dataset '{found.name}' (its columns: {columns}) "
            "— rename the placeholder to a column, or add the column to the dataset"
        )
    notes = [
        f"{n:,} of {len(selection.ids):,} examples have no {v!r}; their runs will fail with an error"
        for v, n in selection.missing.items()
        if n
    ]
    if not variables:
        brace = re.search(r"\{\{?\s*[A-Za-z_][\w.\-]*\s*\}?\}", "\n".join(m.content for m in prompt))
        if style == "NONE" and brace:
            notes.append(
                f"variable_format NONE sends the prompt as written: {brace.group(0)} will not be filled — use "
                "F_STRING or MUSTACHE to fill it"
            )
        else:
            notes.append("the prompt has no placeholders: every example gets the same prompt")

    config: dict[str, Any] = {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": integration.id,
        "messages": [{"role": m.role, "content": m.content} for m in prompt],
        "input_variable_format": style,
    }
    if model_name is not None:
        config["model_name"] = model_name
    if invocation_parameters:
        config["invocation_parameters"] = invocation_parameters
    config = LlmGenerationRunConfig.model_validate(config).to_body()

    chosen_name = task_name or f"generate: {found.name}"
    task = await _find_task(client, chosen_name, where)
    created = task is None
    if task is None:
        task = await client.tasks.create(
            name=chosen_name, type="RUN_EXPERIMENT", dataset=found.id, run_configuration=config, space=where.id
        )
    else:
        if task.type != "RUN_EXPERIMENT" or task.dataset_id != found.id:
            raise ToolError(
                f"task_name: task '{task.name}' ({task.id}) is a {task.type} task"
                + ("" if task.type != "RUN_EXPERIMENT" else " on another dataset")
                + " — pass another task_name"
            )
        active = [r async for r in client.tasks.list_runs(task.id, limit=10) if not r.is_terminal]
        if active:
            raise ToolError(
                f"task_name: task '{task.name}' still has a {active[0].status} run ({active[0].id}) — wait for it "
                "with get_task_run, or pass another task_name to run alongside it"
            )
        if not _same_config(task.run_configuration, config):
            task = await client.tasks.update(task.id, run_configuration=config)
            notes.append(f"task '{task.name}' was reused and its prompt replaced with this one")
    trigger: dict[str, Any] = {"experiment_name": experiment_name}
    if max_examples is not None:
        trigger["max_examples"] = max_examples
    if example_ids is not None:
        trigger["example_ids"] = list(dict.fromkeys(example_ids))
    run = await client.tasks.trigger_run(task.id, **trigger)
    total = len(selection.ids)
    ended = run.is_terminal
    if wait_seconds > 0 and not ended:
        run, ended = await _wait(ctx, state, run, wait_seconds, total)
    if not ended:
        notes.append(
            f"the run is {run.status}; follow it with get_task_run(run_id='{run.id}'), then read the outputs with "
            f"get_experiment(experiment='{experiment_name}', dataset='{found.name}')"
        )
    elif run.status.upper() == "COMPLETED":
        notes.append(f"read the outputs with get_experiment(experiment='{experiment_name}', dataset='{found.name}')")
        if run.num_errors:
            notes.append(f"{run.num_errors} examples failed; get_experiment lists their errors")
    return RunExperimentResult(
        experiment_name=experiment_name,
        experiment=Ref(id=run.experiment_id, name=experiment_name) if run.experiment_id else None,
        dataset=dataset_ref,
        task=Ref(id=task.id, name=task.name),
        task_created=created,
        ai_integration=Ref(id=integration.id, name=integration.name),
        model_name=model_name,
        variable_format=style,
        variables=variables,
        examples_selected=total,
        run_id=run.id,
        status=run.status,
        num_successes=run.num_successes,
        num_errors=run.num_errors,
        failure_reason=run.failure_reason,
        notes=notes,
    )


# --- summaries ----------------------------------------------------------------------------------------------------


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
    runs: int = Field(description="How many runs carry a result.")
    score_count: int = Field(description="How many results have a score.")
    score_mean: float | None = Field(description="Mean score (none without scores).")
    score_min: float | None = Field(description="Lowest score.")
    score_max: float | None = Field(description="Highest score.")
    labels: dict[str, int] = Field(description="How many runs got each label (the 20 most common).")
    explanations: int = Field(description="How many results have an explanation.")


def _summary(name: str, tally: _Tally) -> ScoreSummary:
    scores = tally.scores
    return ScoreSummary(
        name=name,
        runs=tally.runs,
        score_count=len(scores),
        score_mean=round(sum(scores) / len(scores), 6) if scores else None,
        score_min=min(scores) if scores else None,
        score_max=max(scores) if scores else None,
        labels=dict(tally.labels.most_common(20)),
        explanations=tally.explanations,
    )


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
    runs: int = Field(description="How many runs failed with it.")


class RunSample(BaseModel):
    """One run, compactly."""

    id: str = Field(description="The run's ID.")
    example_id: str | None = Field(description="The dataset example it answers.")
    output: str | None = Field(description="The output (cut).")
    error: str | None = Field(default=None, description="The error, when the run failed.")
    evaluations: dict[str, dict[str, Any]] = Field(description="Evaluator name → score, label, explanation.")
    columns: dict[str, Any] = Field(description="Other columns (compacted).")


class GetExperimentResult(ToolResult):
    """An experiment's runs summarised: counts, errors, and each evaluator's scores and labels."""

    experiment: Ref = Field(description="The experiment.")
    dataset: Ref | None = Field(description="Its dataset (none for a standalone experiment).")
    dataset_version_id: str | None = Field(description="The dataset version its runs answer.")
    created_at: str = Field(description="When it was created (UTC).")
    run_count: int = Field(description="How many runs it has.")
    error_count: int = Field(description="How many runs failed (have an error).")
    errors: list[ErrorCount] = Field(description="The most common errors (up to 5).")
    evaluators: list[ScoreSummary] = Field(description="Per evaluator: mean score, label counts.")
    annotations: list[ScoreSummary] = Field(description="Per human annotation name: mean score, label counts.")
    columns: dict[str, int] = Field(description="Other run columns and how many runs have them (first 50).")
    sample: list[RunSample] = Field(description="The first runs, compactly.")
    note: str | None = Field(default=None, description="What to do next.")


async def _experiment_of(
    client: AsyncArizeClient, experiment: str, dataset: str | None, space: Ref
) -> tuple[Experiment, Ref | None]:
    dataset_id = None
    if dataset is not None:
        dataset_id = (await client.datasets.get(dataset, space=space.id)).id
    try:
        found = await client.experiments.get(experiment, dataset=dataset_id, space=space.id)
    except AmbiguousNameError as exc:
        raise ToolError(f"experiment: {exc} — pass dataset= (the dataset it runs on) or the experiment ID") from None
    dataset_ref = None
    if found.dataset_id is not None:
        owner = await client.datasets.get(found.dataset_id)
        dataset_ref = Ref(id=owner.id, name=owner.name)
    return found, dataset_ref


ExperimentDataset = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="The dataset the experiment runs on (name or ID), to find an experiment by name when several "
        "datasets have one of that name.",
    ),
]


@tool_errors
async def get_experiment(
    ctx: ToolContext,
    experiment: ExperimentRef,
    dataset: ExperimentDataset = None,
    sample: Annotated[int, Field(ge=0, le=50, description="How many runs to show (the first ones), 0-50.")] = 5,
    max_chars: Annotated[
        int, Field(ge=20, le=5000, description="Longest string shown per value in the sample before it is cut.")
    ] = 200,
    space: SpaceArg = None,
) -> GetExperimentResult:
    """Summarise an experiment: its run count, how many runs failed and why, and for each evaluator (eval.<name>.*
    results, uploaded or written by an evaluation task) the mean, min and max score and the label counts; human
    annotations likewise; plus a compact sample of runs. Use it after upload_experiment or run_experiment to check
    the outputs and scores, and compare_experiments to set two or more side by side. Read-only."""
    state = app_state(ctx)
    client = state.client
    where = await space_ref(state, space)
    found, dataset_ref = await _experiment_of(client, experiment, dataset, where)
    run_count = error_count = 0
    errors: Counter[str] = Counter()
    evaluators: dict[str, _Tally] = {}
    annotations: dict[str, _Tally] = {}
    columns: Counter[str] = Counter()
    shown: list[RunSample] = []
    used = 0

    def how(path: str) -> str:
        return f"call get_experiment(experiment='{found.id}', max_chars=5000)"

    async for run in client.experiments.list_runs(found.id, limit=RUN_PAGE):
        run_count += 1
        if run.error:
            error_count += 1
            errors[cut(run.error, 200)] += 1
        evaluations = _evaluations(run)
        for name, result in evaluations.items():
            evaluators.setdefault(name, _Tally()).add(
                result.get("score"), result.get("label"), result.get("explanation")
            )
        for annotation in run.annotations:
            annotations.setdefault(annotation.name, _Tally()).add(annotation.score, annotation.label, annotation.text)
        plain = _plain_columns(run)
        columns.update(plain.keys())
        if len(shown) < sample and used < DEFAULT_BUDGET_CHARS:
            row = RunSample(
                id=run.id,
                example_id=run.example_id,
                output=cut(run.output, max_chars, how("output")) if run.output is not None else None,
                error=cut(run.error, max_chars) if run.error else None,
                evaluations=compact(evaluations, max_chars=max_chars, how=how),
                columns=compact(plain, max_chars=max_chars, max_items=10, how=how),
            )
            shown.append(row)
            used += json_size(row)
        if run_count % 5000 == 0:
            await ctx.report_progress(run_count, None, f"read {run_count:,} runs")
    note = None
    if run_count == 0:
        note = "the experiment has no runs yet; if run_experiment is filling it, check get_task_run"
    elif not evaluators:
        note = (
            "no evaluation results on these runs: score them with an evaluation task on the dataset "
            "(create_task with this experiment), or upload eval.<name>.* columns with upload_experiment"
        )
    return GetExperimentResult(
        experiment=Ref(id=found.id, name=found.name),
        dataset=dataset_ref,
        dataset_version_id=found.dataset_version_id,
        created_at=found.created_at.isoformat().replace("+00:00", "Z"),
        run_count=run_count,
        error_count=error_count,
        errors=[ErrorCount(error=e, runs=n) for e, n in errors.most_common(5)],
        evaluators=[_summary(n, t) for n, t in evaluators.items()],
        annotations=[_summary(n, t) for n, t in annotations.items()],
        columns=dict(columns.most_common(50)),
        sample=shown,
        note=note,
    )


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


async def _load(client: AsyncArizeClient, experiment: Experiment, max_chars: int) -> _Loaded:
    loaded = _Loaded(experiment)
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
            output = cut(run.output, max_chars) if run.output is not None else None
            error = cut(run.error, max_chars) if run.error else None
            loaded.outcomes[run.example_id] = _Outcome(output, error, results)
    return loaded


class ExperimentScores(BaseModel):
    """One experiment's column of the comparison."""

    experiment: Ref = Field(description="The experiment.")
    run_count: int = Field(description="How many runs it has.")
    error_count: int = Field(description="How many runs failed.")
    means: dict[str, float | None] = Field(description="Evaluator name → mean score (none: no scores).")
    scored: dict[str, int] = Field(description="Evaluator name → how many runs have a result.")


class PairComparison(BaseModel):
    """An experiment against the baseline, example by example, on one evaluator's score."""

    experiment: Ref = Field(description="The experiment compared.")
    baseline: Ref = Field(description="The baseline (the first experiment given).")
    evaluator: str = Field(description="The evaluator whose scores decide.")
    wins: int = Field(description="Examples where the experiment scored better than the baseline.")
    losses: int = Field(description="Examples where it scored worse.")
    ties: int = Field(description="Examples with equal scores.")
    not_compared: int = Field(description="Examples missing a run or a score in one of the two.")
    mean_delta: float | None = Field(
        description="Mean score difference (experiment minus baseline) on compared examples."
    )


class ChangedOutcome(BaseModel):
    """One experiment's result on a changed example."""

    experiment: str = Field(description="The experiment's name.")
    label: str | None = Field(description="The evaluator's label.")
    score: float | None = Field(description="The evaluator's score.")
    output: str | None = Field(description="The output (cut).")
    error: str | None = Field(default=None, description="The error, when the run failed.")


class ChangedExample(BaseModel):
    """An example whose label (or score) differs between experiments."""

    example_id: str = Field(description="The dataset example.")
    example: dict[str, Any] | None = Field(description="The example's columns (compacted).")
    results: list[ChangedOutcome] = Field(description="Each experiment's result on it, in the order given.")


class CompareExperimentsResult(ToolResult):
    """Experiments side by side: per-evaluator means, wins and losses against the baseline, changed examples."""

    dataset: Ref | None = Field(description="The dataset all the experiments run on.")
    baseline: Ref = Field(description="The baseline: the first experiment given.")
    evaluator: str | None = Field(description="The evaluator deciding wins and changes (none: no common one).")
    higher_is_better: bool = Field(description="Whether a higher score counts as a win.")
    common_evaluators: list[str] = Field(description="Evaluators every experiment has results for.")
    experiments: list[ExperimentScores] = Field(description="Each experiment's counts and means, in order given.")
    comparisons: list[PairComparison] = Field(description="Each other experiment against the baseline.")
    changed: list[ChangedExample] = Field(description="Examples whose label (or score) changed, first ones.")
    changed_total: int = Field(description="How many examples changed in all.")
    notes: list[str] = Field(description="What else to know.")


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
        baseline=base.ref,
        evaluator=evaluator,
        wins=wins,
        losses=losses,
        ties=ties,
        not_compared=not_compared,
        mean_delta=round(sum(deltas) / len(deltas), 6) if deltas else None,
    )


def _changed_ids(loaded: list[_Loaded], evaluator: str | None) -> list[str]:
    by_label = evaluator is not None and any(t.labels for e in loaded if (t := e.tallies.get(evaluator)))
    changed = []
    for example_id in dict.fromkeys(k for e in loaded for k in e.outcomes):
        outcomes = [e.outcomes.get(example_id) for e in loaded]
        present = [o for o in outcomes if o is not None]
        if len(present) < 2:
            continue
        if evaluator is None:
            values: set[Any] = {o.output for o in present}
        elif by_label:
            values = {_label_of(o, evaluator) for o in present}
        else:
            values = {_score_of(o, evaluator) for o in present}
        if len(values) > 1:
            changed.append(example_id)
    return changed


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
        Field(
            min_length=2,
            max_length=10,
            description="Two to ten experiments on the same dataset, by name or ID; the first is the baseline.",
        ),
    ],
    dataset: ExperimentDataset = None,
    evaluator: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="The evaluator (eval.<name>) whose score decides wins and whose label changes are listed; "
            "omit for the first evaluator every experiment has.",
        ),
    ] = None,
    higher_is_better: Annotated[
        bool, Field(description="Whether a higher score is better (false for e.g. a hallucination score).")
    ] = True,
    limit: Annotated[int, Field(ge=0, le=100, description="Most changed examples to show, 0-100.")] = 20,
    max_chars: Annotated[
        int, Field(ge=20, le=2000, description="Longest output or value shown before it is cut.")
    ] = 200,
    space: SpaceArg = None,
) -> CompareExperimentsResult:
    """Compare two or more experiments on the same dataset, example by example: each experiment's run and error
    counts and mean score per evaluator; for each experiment against the baseline (the first given), wins, losses
    and ties by the chosen evaluator's score (default: the first evaluator they all have); and the examples whose
    label changed (or score, when there are no labels; or output, when there is no common evaluator), with each
    experiment's output. Use it to decide whether a prompt or model change helped, and where it hurt. Read-only."""
    state = app_state(ctx)
    client = state.client
    where = await space_ref(state, space)
    if len(set(experiments)) < len(experiments):
        raise ToolError("experiments: the same experiment is listed twice — give different experiments")
    resolved = [await _experiment_of(client, e, dataset, where) for e in experiments]
    dataset_ids = {found.dataset_id for found, _ in resolved}
    if len(dataset_ids) > 1:
        listed = "; ".join(f"'{f.name}' → {d.name if d else 'no dataset'}" for f, d in resolved)
        raise ToolError(f"experiments: they must run on the same dataset to be compared example by example — {listed}")
    loaded: list[_Loaded] = []
    for index, (found, _) in enumerate(resolved, start=1):
        loaded.append(await _load(client, found, max_chars))
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
    if chosen is not None:
        comparisons = [_pair(loaded[0], other, chosen, higher_is_better) for other in loaded[1:]]
        if not any(e.tallies[chosen].scores for e in loaded):
            notes.append(f"evaluator {chosen!r} has labels but no scores, so wins and losses cannot be counted")
    for e in loaded:
        if e.repeats:
            notes.append(f"'{e.experiment.name}' has {e.repeats} repeated runs of an example; the first run was used")
        if e.without_example:
            notes.append(f"'{e.experiment.name}' has {e.without_example} runs without example_id; they were left out")
    changed_ids = _changed_ids(loaded, chosen)
    dataset_ref = resolved[0][1]
    example_columns: dict[str, dict[str, Any]] = {}
    if dataset_ref is not None and changed_ids and limit:
        example_columns = await _example_columns(client, dataset_ref.id, changed_ids[:limit])
    changed: list[ChangedExample] = []
    used = 0
    for example_id in changed_ids[:limit]:
        fields = example_columns.get(example_id)
        row = ChangedExample(
            example_id=example_id,
            example=compact(fields, max_chars=max_chars, max_items=10) if fields is not None else None,
            results=[
                ChangedOutcome(
                    experiment=e.experiment.name,
                    label=_label_of(e.outcomes.get(example_id), chosen) if chosen else None,
                    score=_score_of(e.outcomes.get(example_id), chosen) if chosen else None,
                    output=(o.output if (o := e.outcomes.get(example_id)) else None),
                    error=(o.error if (o := e.outcomes.get(example_id)) else None),
                )
                for e in loaded
            ],
        )
        changed.append(row)
        used += json_size(row)
        if used >= DEFAULT_BUDGET_CHARS:
            break
    if len(changed) < len(changed_ids):
        notes.append(
            f"{len(changed_ids) - len(changed)} more changed examples are not shown; raise limit (up to 100) or "
            "lower max_chars to see more"
        )
    return CompareExperimentsResult(
        dataset=dataset_ref,
        baseline=loaded[0].ref,
        evaluator=chosen,
        higher_is_better=higher_is_better,
        common_evaluators=common,
        experiments=[
            ExperimentScores(
                experiment=e.ref,
                run_count=e.run_count,
                error_count=e.error_count,
                means={n: _summary(n, t).score_mean for n, t in e.tallies.items()},
                scored={n: t.runs for n, t in e.tallies.items()},
            )
            for e in loaded
        ],
        comparisons=comparisons,
        changed=changed,
        changed_total=len(changed_ids),
        notes=notes,
    )


def register(server: MCPServer[Any]) -> None:
    """Register the experiment tools."""
    register_tool(server, upload_experiment, title="Upload experiment runs", kind="create")
    register_tool(server, run_experiment, title="Run a prompt over a dataset", kind="create", calls_llm=True)
    register_tool(server, get_experiment, title="Summarise an experiment", kind="read")
    register_tool(server, compare_experiments, title="Compare experiments", kind="read")
