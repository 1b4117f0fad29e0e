"""Evaluation tasks and their runs: ``create_task``, ``update_task``, ``delete_task``, ``trigger_backfill``,
``get_task_runs`` and ``cancel_task_run``.

Before anything is written these tools check the task against real data (``task_checks``): every variable of
every evaluator has a mapping whose path recent spans (or experiment runs) carry, the filters match something,
and a backfill window holds spans that are not all scored already. They refuse with what is wrong and what records
do carry, instead of creating a task that silently scores nothing. Runs are started at once; an optional bounded
wait reports progress, and a finished run comes back with a tally of where every matching record went, a
diagnosis and a sample of the labels it wrote (``task_runs``).

Values a task did not write are the user's: creating or changing a task whose eval column already holds values
on its records (uploaded ``eval.<name>.*`` columns, another task's results) says so, and ``override=true`` over
them needs the user's yes (``confirm`` + elicitation). The values a task wrote itself are those in the windows of
its own runs that scored every record they selected; anything else counts as not its own.

A backfill applies the task's ``sampling_rate`` as AX does; ``ignore_sampling=true`` scores every matching span
through a one-off copy of the task at rate 1, since AX has no request field to override the rate of one run. The
copy is deleted once its run ended (at the end of the wait, or by the next backfill of the task).

Span-level evaluators are attached with ``column_mappings`` and per-evaluator filters; trace- and session-level
evaluators with the equivalent ``query_mappings`` and a task-level ``query_filters`` (filter ``A``), built here
from the same arguments.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from ...client import AsyncArizeClient
from ...errors import ArizeSkillsError, ConflictError
from ...models._base import iso
from ...models.tasks import DEFAULT_MAX_SPANS, MAX_RUN_WINDOW, Task, TaskEvaluator, TaskRun, run_window_too_long
from ..budget import collect, scope_of
from ..confirm import Approval, Confirmed, approval, confirmation
from ..errors import plain_validation, redact, tool_errors
from ..state import app_state
from ..surface import MAX_RESULT_CHARS, result_text
from ..types import (
    Confirm,
    Cursor,
    ListResult,
    Ref,
    TaskRef,
    TaskRunId,
    ToolContext,
    ToolResult,
    parse_time,
)
from . import register_tool
from .task_checks import (
    Attachment,
    CheckOutcome,
    Count,
    DatasetSource,
    EvaluatorCheck,
    EvaluatorInfo,
    ProjectSource,
    RecordCount,
    Source,
    and_filters,
    check_attachments,
    load_evaluator,
    newest_span,
    suggest_filter,
)
from .task_runs import (
    MAX_WAIT_SECONDS,
    NEWEST_SPAN_LOOKBACK,
    Diagnosis,
    EvaluatorCount,
    LabelSample,
    RunContext,
    RunInfo,
    Tally,
    diagnose,
    label_samples,
    make_tally,
    run_info,
    wait_for_run,
    window_hint,
    window_of,
)

__all__ = [
    "CancelTaskRunResult",
    "CreateTaskResult",
    "EvaluatorSpec",
    "TaskRunsResult",
    "TriggerBackfillResult",
    "UpdateTaskResult",
    "cancel_task_run",
    "create_task",
    "get_task_runs",
    "register",
    "trigger_backfill",
    "update_task",
]

CHECK_LOOKBACK = timedelta(days=30)
"""How far back the mapping checks look for recent spans (from now, or from the newest span when none is newer)."""

ONE_OFF_MARK = " (unsampled backfill "
"""A one-off task is named ``<task> (unsampled backfill <id>)``: the next backfill of ``<task>`` finds it so."""
OWN_RUNS_READ = 200
"""How many of a task's newest runs are read to learn which windows it scored itself."""


# --- arguments ---------------------------------------------------------------------------------------------------


MAX_EVALUATORS = 20
MAX_EXPERIMENTS = 50


def _no_description(schema: dict[str, Any]) -> None:
    schema.pop("description", None)


class EvaluatorSpec(BaseModel):
    """An evaluator to attach to a task (create_task; update_task validates its entries with it too)."""

    # The docstring is for readers; the published schema stays short (every field has its own description).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_description)

    evaluator: str = Field(min_length=1, max_length=512, description="Name or ID.")
    query_filter: str | None = Field(default=None, max_length=2000, description="ANDed with the task's.")
    column_mappings: dict[str, str] | None = Field(default=None, description="Variable → path or column.")


Evaluators = Annotated[list[EvaluatorSpec], Field(description="Judges or code evaluators.")]
OptionalProject = Annotated[str | None, Field(min_length=1, max_length=512, description="Whose spans it scores.")]
ExperimentNames = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=512)]] | None, Field(description="Whose runs it scores.")
]
TaskFilter = Annotated[str | None, Field(max_length=2000, description="e.g. span_kind = 'LLM'.")]
SamplingRate = Annotated[float | None, Field(ge=0, le=1, description="Share of spans scored.")]
WaitSeconds = Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS, description="Wait for the outcome.")]
"""``types.Confirm`` with the description cut to fit the family's share of the listing (same meaning)."""


def _specs(items: Sequence[dict[str, Any]] | None) -> list[EvaluatorSpec] | None:
    """update_task's evaluators, each checked as create_task's schema checks them (the schema says only "object",
    to stay short: the model saw the shape in create_task)."""
    if items is None:
        return None
    specs = []
    for index, item in enumerate(items):
        try:
            specs.append(EvaluatorSpec.model_validate(item))
        except ValidationError as exc:
            raise ToolError(f"evaluators[{index}]: {plain_validation(exc)}") from None
    _check_counts(specs, None)
    return specs


def _check_counts(evaluators: Sequence[EvaluatorSpec] | None, experiments: Sequence[str] | None) -> None:
    """Refuse lists longer than AX takes (the schema leaves the bounds out to stay short)."""
    if evaluators is not None and not 1 <= len(evaluators) <= MAX_EVALUATORS:
        raise ToolError(f"evaluators: give 1 to {MAX_EVALUATORS} (got {len(evaluators)}); split into several tasks")
    if experiments is not None and not 1 <= len(experiments) <= MAX_EXPERIMENTS:
        raise ToolError(f"experiments: give 1 to {MAX_EXPERIMENTS} (got {len(experiments)})")


# --- results -----------------------------------------------------------------------------------------------------


def _warned(line: str, warnings: Sequence[str]) -> str:
    """``line`` and, when there are warnings, the first of them (a clash of eval columns comes first)."""
    if not warnings:
        return line
    more = f" (+{len(warnings) - 1} more in warnings)" if len(warnings) > 1 else ""
    return f"{line} WARNING: {warnings[0]}{more}."


class CreateTaskResult(ToolResult):
    """A task created after its checks passed."""

    task: Ref = Field(description="The new task.")
    type: Literal["TEMPLATE_EVALUATION", "CODE_EVALUATION"] = Field(description="The task type.")
    project: Ref | None = Field(description="The project whose spans it scores.")
    dataset: Ref | None = Field(description="The dataset whose experiment runs it scores.")
    experiments: list[Ref] = Field(description="The experiments it scores.")
    is_continuous: bool = Field(description="Whether new spans are scored as they arrive.")
    sampling_rate: float | None = Field(description="Share of matching spans scored (null: all).")
    query_filter: str | None = Field(description="The task-level filter.")
    checked_window: str | None = Field(description="The window of recent spans the checks read.")
    records_in_window: RecordCount | None = Field(description="Recent records (spans or runs) the checks saw.")
    records_matching: RecordCount | None = Field(description="Of those, matching the task's query_filter.")
    evaluators: list[EvaluatorCheck] = Field(description="Each evaluator, its mappings and their checks.")
    applied_defaults: list[str] = Field(description="Mappings filled in for you (variable → path).")
    warnings: list[str] = Field(description="What may go wrong when the task runs; read before relying on it.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The task made, what its checks counted, the first warning, and the next step."""
        target = (
            f"project '{self.project.name}'"
            if self.project
            else f"dataset '{self.dataset.name}'"
            if self.dataset
            else ""
        )
        counted = ""
        if self.records_matching is not None and self.records_in_window is not None:
            counted = (
                f"; {_count_text(self.records_matching)} of {_count_text(self.records_in_window)} recent records match"
            )
        line = f"Created task '{self.task.name}' ({self.type} on {target}{counted})."
        return f"{_warned(line, self.warnings)} Next: {self.next_step}", "next_step"


class UpdateTaskResult(ToolResult):
    """A task after an update."""

    task: Ref = Field(description="The task.")
    changed: list[str] = Field(description="The fields that were changed.")
    is_continuous: bool | None = Field(description="Whether new spans are scored as they arrive.")
    sampling_rate: float | None = Field(description="Share of matching spans scored (null: all).")
    query_filter: str | None = Field(description="The task-level filter now.")
    evaluators: list[EvaluatorCheck] = Field(description="The evaluators now attached (with checks when re-checked).")
    checked: bool = Field(description="Whether mappings and filters were checked against recent records.")
    records_matching: RecordCount | None = Field(description="Recent records matching the filter (when checked).")
    applied_defaults: list[str] = Field(description="Mappings filled in for you (variable → path).")
    warnings: list[str] = Field(
        description="What to know: evaluators removed, values in eval columns, unchecked paths."
    )
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """What changed, the first warning, and the next step."""
        line = f"Updated task '{self.task.name}': {', '.join(self.changed)}."
        return f"{_warned(line, self.warnings)} Next: {self.next_step}", "next_step"


def _count_text(count: RecordCount) -> str:
    return f"{count.count:,}" if count.complete else f"at least {count.count:,}"


class TriggerBackfillResult(ToolResult):
    """A run started over a window of spans (or over experiment runs), and how it went if waited for."""

    task: Ref = Field(description="The task.")
    one_off_task: Ref | None = Field(description="The copy at sampling rate 1 that runs it (ignore_sampling).")
    window: str | None = Field(description="The span window, 'start .. end' (both inclusive).")
    experiments: list[Ref] = Field(description="The experiments scored (dataset tasks).")
    tally: Tally = Field(description="Where the matching records go.")
    run: RunInfo = Field(description="The run, as last seen.")
    finished: bool = Field(description="Whether the run ended (COMPLETED, FAILED or CANCELLED).")
    diagnosis: Diagnosis | None = Field(description="What happened and what to do (when finished).")
    label_samples: list[LabelSample] = Field(description="Labels the evaluators wrote (when finished).")
    warnings: list[str] = Field(description="What to know about the window, filters and the one-off task.")
    next_step: str = Field(description="What to do next.")
    _noun: str = PrivateAttr("spans")
    _rate: float | None = PrivateAttr(None)
    _one_off_left: bool = PrivateAttr(False)

    def summary_line(self) -> tuple[str, str | None]:
        """The run's state, where the matching records go (they add up), and the next step."""
        line = _run_line(self.run, self.tally, self._noun, self._rate, self.finished)
        return f"{line}{_one_off_line(self)} Next: {self.next_step}", "next_step"


class TaskRunsResult(ListResult):
    """A task's runs, newest first; or one run in full with its diagnosis and the labels it wrote."""

    task: Ref = Field(description="The task.")
    items: list[RunInfo] = Field(description="Its runs, newest first (without run_id).")
    run: RunInfo | None = Field(default=None, description="The run asked for (run_id).")
    finished: bool | None = Field(default=None, description="Whether it ended.")
    tally: Tally | None = Field(default=None, description="Where the matching records of its window went.")
    diagnosis: Diagnosis | None = Field(default=None, description="What happened and what to do.")
    label_samples: list[LabelSample] = Field(default_factory=list, description="Labels its evaluators wrote.")

    def summary_line(self) -> tuple[str, str | None]:
        """The run's diagnosis and first step; or how many runs, the latest's state, and whether more follow."""
        if self.run is not None and self.diagnosis is not None:
            steps = self.diagnosis.next_steps
            return f"Run {self.run.id}: {self.diagnosis.summary}" + (f" Next: {steps[0]}" if steps else ""), None
        count = len(self.items)
        if not count:
            return f"Task '{self.task.name}' has no runs yet: trigger_backfill starts one.", None
        latest = self.items[0]
        line = (
            f"{count} run{'s' if count != 1 else ''} of task '{self.task.name}', newest first (latest {latest.status}: "
            f"{latest.num_successes} scored, {latest.num_errors} errors, {latest.num_skipped} skipped)"
        )
        more = "; more follow: call again with cursor=next_cursor" if self.has_more else ""
        return f"{line}{more}. get_task_runs(run_id=...) diagnoses one.", None


class CancelTaskRunResult(ToolResult):
    """A cancelled run and what it leaves behind."""

    run: RunInfo = Field(description="The run after cancelling.")
    task: Ref = Field(description="Its task.")
    confirmed_by: Literal["argument", "elicitation"] = Field(description="How the user confirmed.")
    kept: str = Field(description="What the run had already stored, which stays.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The run cancelled, what stays, and the next step."""
        return (
            f"Cancelled run {self.run.id} of task '{self.task.name}': {self.kept}. Next: {self.next_step}",
            "next_step",
        )


def _run_line(run: RunInfo, tally: Tally, noun: str, rate: float | None, finished: bool) -> str:
    """``Run X COMPLETED over 40 matching spans: 5 scored, …, 35 left out by sampling_rate 0.1.`` (they add up)."""
    over = f" over {'at least ' if not tally.complete else ''}{tally.matching:,} matching {noun}"
    if finished:
        parts = [
            f"{run.num_successes} scored",
            f"{run.num_errors} errors",
            f"{run.num_skipped} skipped (already scored)",
        ]
    else:
        parts = [f"about {tally.to_score:,} to score" if tally.to_score is not None else "the count to score unknown"]
        if tally.already_scored:
            parts.append(f"{tally.already_scored:,} already scored")
    if tally.sampled_out and rate is not None and finished:
        parts.append(f"{tally.sampled_out:,} left out by sampling_rate {rate:g} (ignore_sampling=true scores them)")
    elif tally.sampled_out and rate is not None:
        parts.append(
            f"sampling_rate {rate:g} leaves out about {tally.sampled_out:,} of the {tally.matching:,} matching {noun} "
            "(ignore_sampling=true scores them)"
        )
    if tally.beyond_max_spans:
        parts.append(f"{tally.beyond_max_spans:,} beyond max_spans")
    if tally.unaccounted:
        parts.append(f"{tally.unaccounted:,} not reached (on AX, spans may not be indexed yet)")
    state = run.status if finished else f"started ({run.status})"
    return f"Run {run.id} {state}{over}: {', '.join(parts)}."


def _one_off_line(result: TriggerBackfillResult) -> str:
    if result.one_off_task is None:
        return ""
    name = result.one_off_task.name
    if not result._one_off_left:
        return f" It ran through one-off task '{name}' at sampling rate 1, deleted now that the run ended."
    return (
        f" It runs through one-off task '{name}' at sampling rate 1, deleted by the next trigger_backfill of "
        f"'{result.task.name}' once the run ended."
    )


# --- keeping results short --------------------------------------------------------------------------------------

_TEXT_LIMIT = MAX_RESULT_CHARS - 400
"""A result's text stays under this many characters, leaving room for the summary line's own growth."""


def _text_size(result: ToolResult) -> int:
    line, said = result.summary_line()
    return len(result_text(result, line, said=said))


def _fit_run(result: TriggerBackfillResult | TaskRunsResult, warnings: list[str] | None = None) -> None:
    """Shorten a run's result until its text fits: fewer label examples, then fewer errors, then fewer samples."""
    samples, run, dropped = result.label_samples, result.run, 0
    while _text_size(result) > _TEXT_LIMIT:
        if any(len(s.examples) > 1 for s in samples):
            for sample in samples:
                del sample.examples[1:]
        elif any(s.examples for s in samples):
            for sample in samples:
                sample.examples.clear()
        elif run is not None and len(run.errors_sample) > 1:
            del run.errors_sample[1:]
        elif len(samples) > 1:
            samples.pop()
            dropped += 1
        else:
            break
    if dropped and warnings is not None:
        warnings.append(
            f"the label samples of {dropped} more evaluators were left out to keep this short; search_spans with a "
            "filter on eval.<name>.label shows their labels"
        )


def _fit_checks(result: CreateTaskResult | UpdateTaskResult) -> None:
    """Shorten a task's result until its text fits: fewer variable checks, no defaults, fewer warnings, then
    fewer evaluators (whatever is shown, every evaluator passed its checks: a failed check is an error)."""
    dropped = 0
    while _text_size(result) > _TEXT_LIMIT:
        detailed = [e for e in result.evaluators if e.variables]
        if detailed:
            detailed[-1].variables.clear()
        elif result.applied_defaults:
            result.applied_defaults.clear()
        elif len(result.warnings) > 3:
            more = len(result.warnings) - 2
            del result.warnings[2:]
            result.warnings.append(f"{more} more warnings left out to keep this short")
        elif len(result.evaluators) > 1:
            result.evaluators.pop()
            dropped += 1
        else:
            break
    if dropped:
        result.warnings.append(f"{dropped} more evaluators (checked, attached) left out to keep this short")


# --- shared helpers ----------------------------------------------------------------------------------------------


def _task_ref(task: Task) -> Ref:
    return Ref(id=task.id, name=task.name)


async def _targets(client: AsyncArizeClient, task: Task) -> tuple[Ref | None, Ref | None]:
    project = dataset = None
    if task.project_id is not None:
        found = await client.projects.get(task.project_id)
        project = Ref(id=found.id, name=found.name)
    if task.dataset_id is not None:
        data = await client.datasets.get(task.dataset_id)
        dataset = Ref(id=data.id, name=data.name)
    return project, dataset


async def _experiment_refs(
    client: AsyncArizeClient, experiments: Sequence[str], dataset: Ref, field_name: str
) -> list[Ref]:
    refs = []
    for value in experiments:
        found = await client.experiments.get(value, dataset=dataset.id)
        if found.dataset_id is not None and found.dataset_id != dataset.id:
            raise ToolError(f"{field_name}: experiment '{found.name}' belongs to another dataset than '{dataset.name}'")
        refs.append(Ref(id=found.id, name=found.name))
    return refs


async def _dataset_of(client: AsyncArizeClient, experiments: Sequence[str]) -> tuple[Ref, list[Ref]]:
    """The one dataset ``experiments`` (names or IDs) belong to, and the experiments."""
    found = [await client.experiments.get(value) for value in experiments]
    datasets = {e.dataset_id for e in found}
    if None in datasets:
        standalone = ", ".join(f"'{e.name}'" for e in found if e.dataset_id is None)
        raise ToolError(f"experiments: {standalone} belong to no dataset; a task scores dataset experiments' runs")
    if len(datasets) > 1:
        raise ToolError(
            "experiments: they belong to different datasets; a task scores experiments of one dataset — create one "
            "task per dataset"
        )
    data = await client.datasets.get(str(found[0].dataset_id))
    return Ref(id=data.id, name=data.name), [Ref(id=e.id, name=e.name) for e in found]


def _shape_of(infos: Sequence[EvaluatorInfo], dataset_task: bool) -> bool:
    """Whether the evaluators need the trace/session shape (``query_mappings``); mixed levels are refused."""
    levels = {i.granularity for i in infos}
    if len(levels) > 1:
        listed = ", ".join(f"'{i.name}' ({i.granularity})" for i in infos)
        raise ToolError(
            f"evaluators: they work at different data granularities ({listed}); a task runs evaluators of one "
            "level — create one task per level"
        )
    return not dataset_task and levels != {"SPAN"}


def _task_type(infos: Sequence[EvaluatorInfo]) -> Literal["TEMPLATE_EVALUATION", "CODE_EVALUATION"]:
    kinds = {i.type for i in infos}
    if len(kinds) > 1:
        judges = ", ".join(f"'{i.name}'" for i in infos if i.type == "TEMPLATE")
        codes = ", ".join(f"'{i.name}'" for i in infos if i.type == "CODE")
        raise ToolError(
            f"evaluators: LLM judges ({judges}) and code evaluators ({codes}) cannot share a task — create one "
            "task for each kind"
        )
    return "TEMPLATE_EVALUATION" if kinds == {"TEMPLATE"} else "CODE_EVALUATION"


def _no_duplicates(infos: Sequence[EvaluatorInfo]) -> None:
    seen: set[str] = set()
    for index, info in enumerate(infos):
        if info.id in seen:
            raise ToolError(f"evaluators[{index}]: evaluator '{info.name}' is listed twice; list each evaluator once")
        seen.add(info.id)


def _entries(attachments: Sequence[Attachment], mappings: Sequence[dict[str, str]], trace_shape: bool) -> list[Any]:
    """The task's evaluator list as the API takes it."""
    entries: list[Any] = []
    for attachment, mapped in zip(attachments, mappings, strict=True):
        entry: dict[str, Any] = {"evaluator_id": attachment.info.id}
        if attachment.pinned is not None:
            entry["evaluator_version_id"] = attachment.pinned
        if trace_shape:
            entry["query_mappings"] = [
                {"variable_name": variable, "query_ids": [], "attribute_path": path}
                for variable, path in mapped.items()
            ]
        else:
            if attachment.query_filter:
                entry["query_filter"] = attachment.query_filter
            if mapped:
                entry["column_mappings"] = mapped
        entries.append(entry)
    return entries


def _refuse(outcome: CheckOutcome, continuous: bool, source: Source) -> None:
    """Raise the checks' findings as one ToolError. Filters that match no recent record are only warnings for a
    continuous task: the spans it is for may not have arrived yet, and it scores them when they do."""
    lines: list[str] = []
    if outcome.empty and not continuous:
        lines += [f"- {text}" for text in outcome.empty]
        lines.append(
            f"  Check the filters against real {source.nouns} (search_spans shows spans and their attributes). If "
            "matching spans will only arrive later, make the task continuous (is_continuous=true) to score them then."
        )
    lines += [f"- {text}" for text in outcome.problems]
    if lines:
        raise ToolError("nothing was written; fix these and call again:\n" + "\n".join(lines))
    outcome.warnings[:0] = [f"NO MATCHING RECORDS: {text}" for text in outcome.empty]


async def _check_window(client: AsyncArizeClient, project: Ref, now: datetime) -> tuple[datetime, datetime]:
    """The spans the checks read: the last 30 days, or the 30 days up to the newest span of the last 90."""
    since = now - CHECK_LOOKBACK
    if await newest_span(client, project.id, since, now) is None:
        newest = await newest_span(client, project.id, now - NEWEST_SPAN_LOOKBACK, since)
        if newest is not None:
            return newest - CHECK_LOOKBACK, newest
    return since, now


def _existing_mappings(entry: TaskEvaluator) -> dict[str, str]:
    if entry.column_mappings:
        return dict(entry.column_mappings)
    return {
        str(m.variable_name): str(m.attribute_path)
        for m in entry.query_mappings or []
        if m.variable_name and m.attribute_path
    }


def _single_filter(task: Task) -> str | None:
    """The task-level filter as one string (a trace/session task's filters only when there is one of them)."""
    if task.query_filter:
        return task.query_filter
    filters = (task.query_filters.filters or []) if task.query_filters is not None else []
    return filters[0].filter if len(filters) == 1 else None


# --- values a task did not write ---------------------------------------------------------------------------------

MAX_GAPS = 8
"""At most this many stretches of a window outside a task's own runs are counted one by one."""


@dataclass
class _Coverage:
    """Where a task's own runs scored every record they selected: span windows, and whether any such run exists."""

    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    any_run: bool = False


NO_COVERAGE = _Coverage()


async def _own_coverage(client: AsyncArizeClient, task: Task) -> _Coverage:
    """The windows of ``task``'s runs that ended COMPLETED with results and nothing skipped or failed.

    A run that skipped records left values there it did not write; one with errors left old values in place.
    """
    coverage = _Coverage()
    read = 0
    async for page in client.tasks.list_runs(task.id, limit=100).pages():
        for run in page.items:
            clean = run.status.upper() == "COMPLETED" and (run.num_successes or 0) > 0
            if clean and not run.num_errors and not run.num_skipped:
                coverage.any_run = True
                if run.data_start_time is not None and run.data_end_time is not None:
                    coverage.windows.append((run.data_start_time, run.data_end_time))
        read += len(page.items)
        if read >= OWN_RUNS_READ:
            break
    return coverage


def _gaps(
    start: datetime, end: datetime, windows: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The stretches of ``start`` .. ``end`` that no window covers."""
    gaps = []
    cursor = start
    for low, high in sorted(windows):
        if high <= cursor:
            continue
        if low >= end:
            break
        if low > cursor:
            gaps.append((cursor, low))
        cursor = max(cursor, high)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


async def _foreign(source: Source, coverage: _Coverage, query: str | None, eval_name: str, labelled: int) -> int:
    """Of ``labelled`` records (holding ``eval.<eval_name>``), about how many hold values the task did not write."""
    if not labelled:
        return 0
    if isinstance(source, DatasetSource):
        return 0 if coverage.any_run else labelled
    assert isinstance(source, ProjectSource)
    gaps = _gaps(source.start, source.end, coverage.windows)
    if gaps == [(source.start, source.end)] or len(gaps) > MAX_GAPS:
        return labelled
    total = 0
    for low, high in gaps:
        part = ProjectSource(source.client, source.project, low, high)
        total += (await part.count(query, field_name="the filter", eval_names=[eval_name])).labelled
    return min(total, labelled)


def _clash_text(info: EvaluatorInfo, foreign: int, matching: Count, source: Source) -> str:
    way = "update_judge" if info.type == "TEMPLATE" else "a code evaluator of another name"
    return (
        f"eval.{info.eval_name} already holds values on {foreign:,} of the {matching.text()} matching "
        f"{source.nouns}, which this task did not write (uploaded scores, or another task's results): backfills skip "
        f"them, and override=true asks before overwriting them; to keep both, give the evaluator its own eval column "
        f"({way})"
    )


async def _clash_warnings(outcome: CheckOutcome, source: Source, coverage: _Coverage, attached: set[str]) -> list[str]:
    """A warning per evaluator whose eval column holds values on the task's records that the task did not write.

    ``attached``: the evaluators the task already ran (only their values can be the task's own).
    """
    warnings = []
    for info, query, count in outcome.existing:
        mine = coverage if info.id in attached else NO_COVERAGE
        foreign = await _foreign(source, mine, query, info.eval_name, count.labelled)
        if foreign:
            warnings.append(_clash_text(info, foreign, count, source))
    return warnings


async def _with_filter_fix(outcome: CheckOutcome, source: Source, task_filter: str | None) -> None:
    """Add to a "filter matches nothing" finding a filter that parses and matches, when one is close."""
    if not task_filter or outcome.matching is None or outcome.matching.count or not outcome.empty:
        return
    if outcome.in_window is None or not outcome.in_window.count:
        return
    fix = await suggest_filter(source, task_filter, field_name="query_filter")
    if fix is not None:
        outcome.empty[0] += f'; query_filter="{fix[0]}" matches {fix[1]:,} {source.nouns}'


# --- create / update / delete ------------------------------------------------------------------------------------


@tool_errors
async def create_task(
    ctx: ToolContext,
    name: Annotated[str, Field(min_length=1, max_length=255, description="Unique in the space.")],
    evaluators: Evaluators,
    project: OptionalProject = None,
    experiments: ExperimentNames = None,
    is_continuous: Annotated[bool, Field(description="Score new spans live.")] = False,
    query_filter: TaskFilter = None,
) -> CreateTaskResult:
    """Create a task scoring a project's spans or experiments' runs, checked on recent records."""
    state = app_state(ctx)
    client = state.client
    query_filter = query_filter or None
    _check_counts(evaluators, experiments)
    if (project is None) == (experiments is None):
        raise ToolError(
            "project, experiments: give exactly one — project to score its spans, or experiments (of one dataset) "
            "to score their runs"
        )
    project_ref = dataset_ref = None
    experiment_refs: list[Ref] = []
    window: str | None = None
    source: Source
    if project is not None:
        found = await client.projects.get(project)
        project_ref = Ref(id=found.id, name=found.name)
        since, until = await _check_window(client, project_ref, state.clock())
        source = ProjectSource(client, project_ref, since, until)
        window = f"{iso(since)} .. {iso(until)}"
    else:
        assert experiments is not None
        if is_continuous:
            raise ToolError("is_continuous: tasks over experiments run on demand only; omit it")
        dataset_ref, experiment_refs = await _dataset_of(client, experiments)
        source = DatasetSource(client, dataset_ref, experiment_refs)
    infos = [
        await load_evaluator(client, spec.evaluator, None, field_name=f"evaluators[{i}]")
        for i, spec in enumerate(evaluators)
    ]
    _no_duplicates(infos)
    task_type = _task_type(infos)
    trace_shape = _shape_of(infos, dataset_task=dataset_ref is not None)
    if trace_shape:
        for index, spec in enumerate(evaluators):
            if spec.query_filter:
                raise ToolError(
                    f"evaluators[{index}].query_filter: evaluator '{infos[index].name}' works on "
                    f"{infos[index].granularity.lower()}s, whose evaluators take no filter of their own — put the "
                    "filter in the task's query_filter"
                )
    attachments = [
        Attachment(
            info=info,
            pinned=None,
            query_filter=spec.query_filter or None,
            mappings=dict(spec.column_mappings or {}),
            field_name=f"evaluators[{index}]",
        )
        for index, (spec, info) in enumerate(zip(evaluators, infos, strict=True))
    ]
    outcome = await check_attachments(source, query_filter, attachments, trace_shape=trace_shape)
    await _with_filter_fix(outcome, source, query_filter)
    _refuse(outcome, is_continuous, source)
    # The task is new: whatever its eval columns hold on its records, it did not write.
    clashes = await _clash_warnings(outcome, source, NO_COVERAGE, set())
    entries = _entries(attachments, outcome.mappings, trace_shape)
    filters: dict[str, Any] = {}
    if query_filter is not None:
        filters = (
            {"query_filters": {"filters": [{"id": "A", "filter": query_filter}]}}
            if trace_shape
            else {"query_filter": query_filter}
        )
    created = await client.tasks.create(
        name=name,
        type=task_type,
        project=project_ref.id if project_ref else None,
        dataset=dataset_ref.id if dataset_ref else None,
        experiment_ids=[e.id for e in experiment_refs] or None,
        evaluators=entries,
        is_continuous=is_continuous if project_ref else None,
        **filters,
    )
    if project_ref is not None:
        next_step = (
            f"call trigger_backfill(task='{created.name}', start_time='-7d', max_spans=100, wait_seconds=120) to "
            "score a small sample, and read the labels it returns"
            + (
                "; continuous scoring picks up new spans as they arrive"
                if is_continuous
                else f"; then update_task(task='{created.name}', is_continuous=true, sampling_rate=...) to score new "
                "spans as they arrive"
            )
        )
    else:
        next_step = (
            f"call trigger_backfill(task='{created.name}', wait_seconds=120) to score the experiments' runs, and "
            "read the labels it returns"
        )
    result = CreateTaskResult(
        task=_task_ref(created),
        type=task_type,
        project=project_ref,
        dataset=dataset_ref,
        experiments=experiment_refs,
        is_continuous=bool(created.is_continuous),
        sampling_rate=created.sampling_rate,
        query_filter=query_filter,
        checked_window=window,
        records_in_window=outcome.in_window.public if outcome.in_window else None,
        records_matching=outcome.matching.public if outcome.matching else None,
        evaluators=outcome.evaluators,
        applied_defaults=outcome.applied_defaults,
        warnings=[*clashes, *outcome.warnings],
        next_step=next_step,
    )
    _fit_checks(result)
    return result


async def _update_attachments(
    client: AsyncArizeClient,
    current: Task,
    specs: Sequence[EvaluatorSpec] | None,
    warnings: list[str],
) -> list[Attachment]:
    """The evaluators the task will hold: ``specs`` merged with the current attachments, or the current ones."""
    existing = {entry.evaluator_id: entry for entry in current.evaluators}
    if specs is None:
        attachments = []
        for index, entry in enumerate(current.evaluators):
            info = await load_evaluator(
                client, entry.evaluator_id, entry.evaluator_version_id, field_name=f"evaluators[{index}]"
            )
            attachments.append(
                Attachment(
                    info,
                    entry.evaluator_version_id,
                    entry.query_filter,
                    _existing_mappings(entry),
                    f"evaluators[{index}]",
                )
            )
        return attachments
    attachments = []
    for index, spec in enumerate(specs):
        label = f"evaluators[{index}]"
        resolved = await load_evaluator(client, spec.evaluator, None, field_name=label)
        before = existing.get(resolved.id)
        # A version pin stays as it is (create_task never pins: a task runs its evaluators' latest versions).
        pinned = before.evaluator_version_id if before is not None else None
        if pinned is not None:
            warnings.append(f"{resolved.name}: kept its version pin {pinned}")
        info = resolved
        if pinned is not None:
            info = await load_evaluator(client, resolved.id, pinned, field_name=f"{label}.version")
        if spec.query_filter is not None:
            own_filter = spec.query_filter.strip() or None
        else:
            own_filter = before.query_filter if before is not None else None
        if spec.column_mappings is not None:
            mappings = dict(spec.column_mappings)
        else:
            mappings = _existing_mappings(before) if before is not None else {}
        attachments.append(Attachment(info, pinned, own_filter, mappings, label))
    kept = {a.info.id for a in attachments}
    removed = [
        entry.evaluator_name or entry.evaluator_id for entry in current.evaluators if entry.evaluator_id not in kept
    ]
    warnings.insert(
        0,
        "evaluators replaced the task's whole evaluator list"
        + (f"; removed: {', '.join(removed)}" if removed else "")
        + (" (their results already written stay)" if removed else ""),
    )
    return attachments


def _unchecked(attachments: Sequence[Attachment]) -> list[EvaluatorCheck]:
    return [
        EvaluatorCheck(
            evaluator=a.info.ref,
            version_id=a.pinned,
            eval_column=f"eval.{a.info.eval_name}",
            query_filter=a.query_filter,
            column_mappings=a.mappings,
            variables=[],
            matching=None,
        )
        for a in attachments
    ]


@tool_errors
async def update_task(
    ctx: ToolContext,
    task: TaskRef,
    sampling_rate: SamplingRate = None,
    is_continuous: Annotated[bool | None, Field(description="Score new spans live.")] = None,
    query_filter: Annotated[str | None, Field(max_length=2000, description="'' removes it.")] = None,
    evaluators: Annotated[
        list[dict[str, Any]] | None, Field(description="As in create_task; replaces the list.")
    ] = None,
) -> UpdateTaskResult:
    """Change a task, re-checking new filters and evaluators."""
    state = app_state(ctx)
    client = state.client
    specs = _specs(evaluators)
    current = await client.tasks.get(task)
    clear_query_filter = query_filter is not None and not query_filter.strip()
    if clear_query_filter:
        query_filter = None
    given = {
        "sampling_rate": sampling_rate is not None,
        "is_continuous": is_continuous is not None,
        "query_filter": query_filter is not None or clear_query_filter,
        "evaluators": evaluators is not None,
    }
    changed = [key for key, present in given.items() if present]
    if not changed:
        raise ToolError(
            "nothing to update: pass sampling_rate, is_continuous, query_filter ('' removes it) or evaluators"
        )
    if current.type == "RUN_EXPERIMENT":
        raise ToolError(
            f"task: '{current.name}' is a RUN_EXPERIMENT task (run_experiment makes them); update_task changes "
            "evaluation tasks"
        )
    if current.dataset_id is not None and (sampling_rate is not None or is_continuous):
        raise ToolError(
            "sampling_rate, is_continuous: dataset tasks score experiment runs on demand; these apply to project "
            "tasks only"
        )
    warnings: list[str] = []
    attachments = await _update_attachments(client, current, specs, warnings)
    infos = [a.info for a in attachments]
    trace_now = current.query_filters is not None or any(e.query_mappings for e in current.evaluators)
    trace_shape = _shape_of(infos, dataset_task=current.dataset_id is not None)
    if trace_shape:
        for attachment in attachments:
            if attachment.query_filter:
                raise ToolError(
                    f"{attachment.field_name}.query_filter: evaluator '{attachment.info.name}' works on "
                    f"{attachment.info.granularity.lower()}s and takes no filter of its own — use the task's "
                    "query_filter"
                )
    if current.query_filters is not None and len(current.query_filters.filters or []) > 1 and not given["query_filter"]:
        if trace_shape != trace_now:
            raise ToolError(
                "evaluators: they change the task's level, and its several trace/session filters cannot be carried "
                "over — pass query_filter too ('' removes it)"
            )
        warnings.append("the task's several trace/session filters were left as they are and not used in the checks")
    final_filter = None if clear_query_filter else query_filter if query_filter is not None else _single_filter(current)
    checked = given["query_filter"] or given["evaluators"]
    outcome: CheckOutcome | None = None
    mappings = [a.mappings for a in attachments]
    if checked:
        source: Source
        if current.project_id is not None:
            project, _ = await _targets(client, current)
            assert project is not None
            since, until = await _check_window(client, project, state.clock())
            source = ProjectSource(client, project, since, until)
        else:
            _, dataset = await _targets(client, current)
            assert dataset is not None
            refs = await _experiment_refs(client, current.experiment_ids, dataset, "evaluators")
            source = DatasetSource(client, dataset, refs)
        outcome = await check_attachments(source, final_filter, attachments, trace_shape=trace_shape)
        await _with_filter_fix(outcome, source, final_filter)
        _refuse(outcome, bool(current.is_continuous if is_continuous is None else is_continuous), source)
        mappings = outcome.mappings
        attached = {entry.evaluator_id for entry in current.evaluators}
        coverage = await _own_coverage(client, current)
        warnings = [*await _clash_warnings(outcome, source, coverage, attached), *warnings, *outcome.warnings]
    fields: dict[str, Any] = {}
    if sampling_rate is not None:
        fields["sampling_rate"] = sampling_rate
    if is_continuous is not None:
        fields["is_continuous"] = is_continuous
    if given["query_filter"] or trace_shape != trace_now:
        if trace_shape:
            fields["query_filters"] = (
                {"filters": [{"id": "A", "filter": final_filter}]} if final_filter is not None else None
            )
            if current.query_filter is not None:
                fields["query_filter"] = None
        else:
            fields["query_filter"] = final_filter
            if current.query_filters is not None:
                fields["query_filters"] = None
    if evaluators is not None or trace_shape != trace_now:
        fields["evaluators"] = _entries(attachments, mappings, trace_shape)
    updated = await client.tasks.update(current.id, **fields)
    shown = outcome.evaluators if outcome is not None else _unchecked(attachments)
    if is_continuous:
        next_step = f"new spans are now scored as they arrive; get_task_runs(task='{updated.name}') lists the runs"
    elif checked:
        next_step = (
            f"call trigger_backfill(task='{updated.name}', start_time='-7d', max_spans=100, override=true, "
            "wait_seconds=120) to re-score a sample with the new settings"
        )
    else:
        next_step = "nothing else to do"
    result = UpdateTaskResult(
        task=_task_ref(updated),
        changed=changed,
        is_continuous=updated.is_continuous,
        sampling_rate=updated.sampling_rate,
        query_filter=_single_filter(updated),
        evaluators=shown,
        checked=checked,
        records_matching=outcome.matching.public if outcome is not None and outcome.matching else None,
        applied_defaults=outcome.applied_defaults if outcome is not None else [],
        warnings=warnings,
        next_step=next_step,
    )
    _fit_checks(result)
    return result


# --- runs --------------------------------------------------------------------------------------------------------


async def _evaluator_infos(client: AsyncArizeClient, task: Task, *, strict: bool = True) -> list[EvaluatorInfo]:
    """The task's evaluators at their pinned (or latest) versions; not ``strict``: those still readable."""
    infos = []
    for index, entry in enumerate(task.evaluators):
        try:
            infos.append(
                await load_evaluator(
                    client,
                    entry.evaluator_id,
                    entry.evaluator_version_id,
                    field_name=f"evaluators[{index}]",
                )
            )
        except (ArizeSkillsError, ToolError):
            # Reading a finished run must not fail because an evaluator was deleted or changed since.
            if strict:
                raise
    return infos


def _filter_of(task: Task, info: EvaluatorInfo, entry: TaskEvaluator, trace_shape: bool) -> str | None:
    if trace_shape:
        return _single_filter(task)
    return and_filters(task.query_filter, entry.query_filter, info.code_filter)


def _trace_shape(task: Task) -> bool:
    return task.query_filters is not None or any(e.query_mappings for e in task.evaluators)


def _sampling_rate(task: Task) -> float | None:
    """The task's sampling rate when it leaves records out (below 1), else ``None``."""
    rate = task.sampling_rate
    return rate if task.project_id is not None and rate is not None and rate < 1 else None


@dataclass
class _Counted:
    """A run's records counted: in its window, matching the task's filter, and per evaluator (with its filter)."""

    in_window: Count
    matching: Count
    task_filter: str | None
    per_evaluator: list[tuple[EvaluatorInfo, str | None, Count]]
    per_span: bool
    """False for trace and session tasks, whose results sit on one root span per trace or session."""

    def tally(self, *, limit: int, rate: float | None, override: bool, run: TaskRun | None = None) -> Tally:
        """Where the counted records go (see ``Tally``)."""
        if not self.per_span:
            return Tally(in_window=self.in_window.count, matching=self.matching.count, complete=False)
        return make_tally(
            self.in_window.count,
            [EvaluatorCount(c.count, c.labelled) for _, _, c in self.per_evaluator],
            complete=self.in_window.complete and all(c.complete for _, _, c in self.per_evaluator),
            limit=limit,
            rate=rate,
            override=override,
            run=run,
        )


async def _count_records(source: Source, task: Task, infos: Sequence[EvaluatorInfo]) -> _Counted:
    trace_shape = _trace_shape(task)
    eval_names = [i.eval_name for i in infos]
    in_window = await source.count(None, field_name="the window", eval_names=eval_names)
    task_filter = _single_filter(task)
    matching = (
        await source.count(task_filter, field_name="the task's query_filter", eval_names=eval_names)
        if task_filter
        else in_window
    )
    entries = {entry.evaluator_id: entry for entry in task.evaluators}
    per_evaluator = []
    for info in infos:
        if info.id not in entries:
            continue
        combined = _filter_of(task, info, entries[info.id], trace_shape)
        counted = await source.count(
            combined, field_name=f"evaluator '{info.name}' filter", eval_names=[info.eval_name]
        )
        per_evaluator.append((info, combined, counted))
    return _Counted(in_window, matching, task_filter, per_evaluator, per_span=not trace_shape)


async def _empty_window_message(
    client: AsyncArizeClient, project: Ref, start: datetime, end: datetime, now: datetime, task_name: str
) -> str:
    hint = await window_hint(client, project, start, end, now, task_name)
    return (
        f"the window {iso(start)} .. {iso(end)} holds no spans in project '{project.name}' — nothing was started; "
        f"{hint}"
    )


@dataclass
class _BackfillPlan:
    """What a backfill will do, worked out and checked before anything starts (and before asking the user)."""

    task: Task
    infos: list[EvaluatorInfo]
    experiments: list[Ref]
    start: datetime | None
    end: datetime | None
    counted: _Counted
    noun: str
    limit: int
    rate: float | None
    """The task's sampling rate when below 1."""
    one_off: bool
    """``ignore_sampling`` over a sampled task: the run goes through a one-off copy of the task at rate 1."""
    overwrite: dict[str, int]
    """Eval column → records holding values this task did not write, which the run (override=true) replaces."""
    warnings: list[str]

    @property
    def applied_rate(self) -> float | None:
        """The sampling rate the run applies."""
        return None if self.one_off else self.rate

    def question(self) -> str | None:
        """What to ask before the run overwrites values the task did not write (``None``: nothing to ask)."""
        if not self.overwrite:
            return None
        listed = " and ".join(f"eval.{name} on {count:,} {self.noun}" for name, count in self.overwrite.items())
        return (
            f"Score again and overwrite {listed} with new results of task '{self.task.name}'? This task did not write "
            "those values (uploaded scores, or another task's results) and they cannot be restored. To keep them, "
            "give the evaluator its own eval column (update_judge) and backfill without override."
        )


async def _sweep_one_offs(client: AsyncArizeClient, task: Task) -> list[str]:
    """Delete the one-off copies of ``task`` whose runs ended; their names."""
    if task.project_id is None or ONE_OFF_MARK in task.name:
        return []
    prefix = f"{task.name[:200]}{ONE_OFF_MARK}"
    swept = []
    async for copy in client.tasks.list(name=prefix, project=task.project_id):
        if not copy.name.startswith(prefix):
            continue
        runs = await client.tasks.list_runs(copy.id, limit=10)
        if all(run.is_terminal for run in runs.items):
            await client.tasks.delete(copy.id)
            swept.append(copy.name)
    return swept


def _entry_of(entry: TaskEvaluator) -> dict[str, Any]:
    """A stored evaluator attachment as the create body takes it."""
    body: dict[str, Any] = {"evaluator_id": entry.evaluator_id}
    if entry.evaluator_version_id:
        body["evaluator_version_id"] = entry.evaluator_version_id
    if entry.query_mappings:
        body["query_mappings"] = [m.model_dump(mode="json", exclude_none=True) for m in entry.query_mappings]
    else:
        if entry.query_filter:
            body["query_filter"] = entry.query_filter
        if entry.column_mappings:
            body["column_mappings"] = dict(entry.column_mappings)
    return body


async def _create_one_off(client: AsyncArizeClient, task: Task) -> Task:
    """A copy of project task ``task`` at sampling rate 1, on demand only, to run one unsampled backfill."""
    filters: dict[str, Any] = {}
    if task.query_filters is not None:
        filters["query_filters"] = task.query_filters.model_dump(mode="json", exclude_none=True)
    elif task.query_filter:
        filters["query_filter"] = task.query_filter
    return await client.tasks.create(
        name=f"{task.name[:200]}{ONE_OFF_MARK}{uuid.uuid4().hex[:8]})",
        type=task.type,
        project=task.project_id,
        evaluators=[_entry_of(entry) for entry in task.evaluators],
        sampling_rate=1.0,
        is_continuous=False,
        **filters,
    )


def _refuse_nothing_to_score(plan: _BackfillPlan, source: Source) -> None:
    """Refuse a backfill whose every matching record already has every evaluator's result (and no override)."""
    counted = plan.counted
    columns = ", ".join(f"eval.{i.eval_name}" for i in plan.infos)
    foreign = sum(plan.overwrite.values())
    theirs = (
        f"; {foreign:,} of those values were not written by this task (uploaded scores, or another task's results) "
        "and override=true asks before overwriting them — to keep them, give the evaluator its own eval column "
        "(update_judge) instead"
        if foreign
        else ""
    )
    raise ToolError(
        f"every one of the {counted.matching.text()} matching {source.nouns} in {source.where()} already has "
        f"{columns} — nothing new to score, nothing was started. Pass override=true to score them again, or move "
        f"the window to newer spans{theirs}"
    )


@tool_errors
async def _plan_backfill(
    ctx: ToolContext,
    task: str,
    start_time: str | None,
    end_time: str | None,
    max_spans: int | None,
    override: bool,
    ignore_sampling: bool,
) -> _BackfillPlan:
    """Check a backfill against the data and work out what it will do; refuse (starting nothing) what is wrong."""
    state = app_state(ctx)
    client = state.client
    now = state.clock()
    if max_spans is not None and max_spans < 1:
        raise ToolError(f"max_spans: must be at least 1 (got {max_spans})")
    current = await client.tasks.get(task)
    if current.type == "RUN_EXPERIMENT":
        raise ToolError(
            f"task: '{current.name}' is a RUN_EXPERIMENT task; run it with run_experiment, which generates a new "
            "experiment"
        )
    swept = await _sweep_one_offs(client, current)
    warnings = [f"deleted one-off task '{name}' of an earlier unsampled backfill (its run ended)" for name in swept]
    infos = await _evaluator_infos(client, current)
    project, dataset = await _targets(client, current)
    experiment_refs: list[Ref] = []
    start = end = None
    source: Source
    if project is not None:
        end = parse_time(end_time, "end_time", now=now) if end_time else now
        if start_time:
            start = parse_time(start_time, "start_time", now=now)
        elif current.last_run_at is not None:
            start = current.last_run_at
        else:
            raise ToolError(
                f"start_time: task '{current.name}' has never run, so the window needs a start — e.g. "
                f"start_time='-7d' for the last 7 days (at most {MAX_RUN_WINDOW.days} days before end_time)"
            )
        if start >= end:
            defaulted = "" if start_time else " (start_time defaulted to the end of the task's last run)"
            raise ToolError(
                f"start_time: {iso(start)} is not before end_time {iso(end)}{defaulted}; pass an earlier one"
            )
        if (days := run_window_too_long(start, end)) is not None:
            raise ToolError(
                f"start_time, end_time: the window {iso(start)} .. {iso(end)} is {days:.1f} days; a run covers at "
                f"most {MAX_RUN_WINDOW.days} — split the backfill into several runs"
            )
        source = ProjectSource(client, project, start, end)
    else:
        assert dataset is not None
        if start_time or end_time:
            raise ToolError(
                "start_time, end_time: a task over experiments scores their runs, not a time window; omit them (to "
                "score other experiments, create a task over those: create_task checks its mappings against them)"
            )
        experiment_refs = await _experiment_refs(client, current.experiment_ids, dataset, "experiments")
        source = DatasetSource(client, dataset, experiment_refs)
    counted = await _count_records(source, current, infos)
    if counted.in_window.count == 0:
        if project is not None:
            assert start is not None and end is not None
            raise ToolError(await _empty_window_message(client, project, start, end, now, current.name))
        raise ToolError(f"{source.where()} hold no runs — nothing was started; upload runs first (upload_experiment)")
    task_filter = counted.task_filter
    if _trace_shape(current) and current.query_filters is not None and task_filter is None:
        warnings.append("the task's several trace/session filters were not counted; the counts cover the window")
    if counted.matching.count == 0:
        fix = await suggest_filter(source, task_filter, field_name="query_filter") if task_filter else None
        suggestion = (
            f' — update_task(task=\'{current.name}\', query_filter="{fix[0]}") would fix it: query_filter="{fix[0]}" '
            f"matches {fix[1]:,} {source.nouns}"
            if fix
            else ". Fix the filter with update_task (search_spans shows real spans and their attributes), or pick a "
            "window where matching spans are"
        )
        raise ToolError(
            f"the task's query_filter {task_filter!r} matches none of the {counted.in_window.text()} {source.nouns} "
            f"in {source.where()}, so nothing was started{suggestion}"
        )
    empty = []
    for info, _, count in counted.per_evaluator:
        if count.count == 0:
            empty.append(
                f"evaluator '{info.name}': its filter matches none of the {counted.matching.text()} {source.nouns} "
                "the task selects, so it will score nothing"
            )
    if empty and len(empty) == len(counted.per_evaluator):
        raise ToolError(
            f"no evaluator of the task has a matching record in {source.where()} — nothing was started:\n- "
            + "\n- ".join(empty)
        )
    warnings += empty
    rate = _sampling_rate(current)
    one_off = ignore_sampling and rate is not None
    if ignore_sampling and rate is None:
        warnings.append("ignore_sampling: the task scores every matching record already (no sampling_rate below 1)")
    # Values that stay untouched without override, and only those the task did not write, need the user's yes.
    labelled = any(count.labelled for _, _, count in counted.per_evaluator)
    # A one-off copy writes on behalf of its task: the task's own values are the copy's to overwrite too.
    coverage = await _own_coverage(client, current) if labelled else NO_COVERAGE
    overwrite: dict[str, int] = {}
    for info, query, count in counted.per_evaluator:
        foreign = await _foreign(source, coverage, query, info.eval_name, count.labelled)
        if foreign:
            overwrite[info.eval_name] = foreign
    limit = max_spans or DEFAULT_MAX_SPANS
    if overwrite and not override:
        warnings.append(
            "; ".join(
                f"eval.{n} holds values this task did not write on {c:,} {source.nouns}" for n, c in overwrite.items()
            )
            + ": the run skips them (override=true asks before overwriting them)"
        )
    plan = _BackfillPlan(
        task=current,
        infos=infos,
        experiments=experiment_refs,
        start=start,
        end=end,
        counted=counted,
        noun=source.nouns,
        limit=limit,
        rate=rate,
        one_off=one_off,
        overwrite=overwrite if override else {},
        warnings=warnings,
    )
    per_span = counted.per_span
    if (
        per_span
        and not override
        and all(c.complete and c.labelled == c.count for _, _, c in counted.per_evaluator if c.count)
    ):
        plan.overwrite = overwrite
        _refuse_nothing_to_score(plan, source)
    if counted.matching.complete and counted.matching.count > limit:
        warnings.append(
            f"max_spans {limit:,} is below the {counted.matching.count:,} matching {source.nouns}; the rest stay "
            "unscored"
        )
    return plan


def _run_context(
    task: Task,
    run: TaskRun,
    *,
    tally: Tally | None,
    rate: float | None,
    fix: tuple[str, int] | None = None,
    hint: str | None = None,
) -> RunContext:
    window = None
    if run.data_start_time is not None and run.data_end_time is not None:
        window = (iso(run.data_start_time), iso(run.data_end_time))
    return RunContext(
        window=window,
        task_name=task.name,
        dataset_task=task.dataset_id is not None,
        is_continuous=bool(task.is_continuous),
        sampling_rate=rate,
        matching=tally.matching if tally is not None and tally.complete else None,
        beyond_max_spans=(tally.beyond_max_spans or 0) if tally is not None else 0,
        filter_fix=fix[0] if fix else None,
        filter_fix_matches=fix[1] if fix else 0,
        window_hint=hint,
    )


@tool_errors
async def trigger_backfill(
    ctx: ToolContext,
    plan: Annotated[_BackfillPlan, Resolve(_plan_backfill)],
    approval: Annotated[Approval, approval(Resolve(_plan_backfill))],
    task: TaskRef,
    start_time: Annotated[
        str | None, Field(min_length=1, max_length=64, description="ISO time or offset like '-7d'.")
    ] = None,
    end_time: Annotated[str | None, Field(min_length=1, max_length=64, description="Default now.")] = None,
    max_spans: Annotated[int | None, Field(description="Default 10,000.")] = None,
    override: Annotated[bool, Field(description="Re-score scored records.")] = False,
    ignore_sampling: Annotated[bool, Field(description="Score all matching spans.")] = False,
    wait_seconds: WaitSeconds = 0,
    confirm: Confirm = False,
) -> TriggerBackfillResult:
    """Score a task's past spans or experiment runs now."""
    state = app_state(ctx)
    client = state.client
    current = plan.task
    warnings = list(plan.warnings)
    target, one_off = current, None
    if plan.one_off:
        target = await _create_one_off(client, current)
        one_off = _task_ref(target)
    before = plan.counted.tally(limit=plan.limit, rate=plan.applied_rate, override=override)
    try:
        run = await client.tasks.trigger_run(
            target.id,
            data_start_time=plan.start,
            data_end_time=plan.end,
            max_spans=max_spans,
            override_evaluations=True if override else None,
        )
    except ConflictError as exc:
        raise ToolError(
            f"task '{current.name}' already has a run going: {exc.detail or exc.title} — get_task_runs(task="
            f"'{current.name}') shows it; wait for it, or stop it with cancel_task_run, then trigger again"
        ) from None
    except ArizeSkillsError:
        if one_off is not None:
            await client.tasks.delete(target.id)  # a copy whose run never started has nothing to wait for
        raise
    samples: list[LabelSample] = []
    one_off_left = one_off is not None
    try:
        # The run exists now: a failure while waiting or reading labels must not hide its ID.
        if wait_seconds:
            run = await wait_for_run(ctx, client, run, wait_seconds, total=before.to_score)
        if run.is_terminal and run.num_successes:
            samples = await label_samples(client, target, run, plan.infos)
        if one_off is not None and run.is_terminal:
            await client.tasks.delete(target.id)
            one_off_left = False
    except ArizeSkillsError as exc:
        warnings.append(redact(f"the run started, but reading it back failed: {exc}; it keeps going", state.secrets))
    finished = run.is_terminal
    tally = (
        plan.counted.tally(limit=plan.limit, rate=plan.applied_rate, override=override, run=run) if finished else before
    )
    diagnosis = diagnose(run, _run_context(current, run, tally=tally, rate=plan.applied_rate)) if finished else None
    if diagnosis is not None:
        next_step = diagnosis.next_steps[0] if diagnosis.next_steps else "nothing else to do"
    else:
        next_step = f"get_task_runs(run_id='{run.id}', wait_seconds=120) waits for it and reads its outcome and labels"
    if approval.how is not None:
        warnings.insert(0, f"the user approved overwriting values this task did not write ({approval.how})")
    result = TriggerBackfillResult(
        task=_task_ref(current),
        one_off_task=one_off,
        window=window_of(run) or (f"{iso(plan.start)} .. {iso(plan.end)}" if plan.start and plan.end else None),
        experiments=plan.experiments,
        tally=tally,
        run=run_info(run),
        finished=finished,
        diagnosis=diagnosis,
        label_samples=samples,
        warnings=warnings,
        next_step=next_step,
    )
    result._noun, result._rate, result._one_off_left = plan.noun, plan.applied_rate, one_off_left
    _fit_run(result, result.warnings)
    return result


RunIdArg = Annotated[str | None, Field(min_length=1, max_length=512, description="Show this run in full.")]
TaskToList = Annotated[str | None, Field(min_length=1, max_length=512, description="Name or ID: lists its runs.")]
RUNS_PER_PAGE = 20
RUNS_BUDGET_CHARS = 6_000
"""A page of runs stops at this many characters, so the result stays under 8,000."""


async def _run_details(
    client: AsyncArizeClient, current: Task, run: TaskRun, now: datetime
) -> tuple[Tally | None, Diagnosis, list[LabelSample]]:
    """A run's tally, diagnosis (with the lookups its cause needs) and labels, as true of its task as can be read."""
    infos = await _evaluator_infos(client, current, strict=False)
    project, dataset = await _targets(client, current)
    rate = _sampling_rate(current)
    source: Source | None = None
    if project is not None and run.data_start_time is not None and run.data_end_time is not None:
        source = ProjectSource(client, project, run.data_start_time, run.data_end_time)
    elif dataset is not None and current.type != "RUN_EXPERIMENT":
        refs = await _experiment_refs(client, current.experiment_ids, dataset, "experiments")
        source = DatasetSource(client, dataset, refs)
    tally = counted = None
    if source is not None and infos:
        try:
            counted = await _count_records(source, current, infos)
        except ToolError:
            counted = None  # a filter the backend no longer parses: the run's own reason says so
    if counted is not None:
        # A run's max_spans is not part of the run AX returns: the default is assumed.
        tally = counted.tally(limit=DEFAULT_MAX_SPANS, rate=rate, override=False, run=run)
    diagnosis = diagnose(run, _run_context(current, run, tally=tally, rate=rate))
    fix: tuple[str, int] | None = None
    hint = None
    unmatched = counted is not None and counted.task_filter and not counted.matching.count
    if diagnosis.cause == "filter_matched_nothing" and source is not None and counted is not None and unmatched:
        assert counted.task_filter is not None
        fix = await suggest_filter(source, counted.task_filter, field_name="query_filter")
    if diagnosis.cause == "empty_window" and project is not None and run.data_start_time and run.data_end_time:
        hint = await window_hint(client, project, run.data_start_time, run.data_end_time, now, current.name)
    if fix or hint:
        diagnosis = diagnose(run, _run_context(current, run, tally=tally, rate=rate, fix=fix, hint=hint))
    samples = await label_samples(client, current, run, infos) if run.num_successes else []
    return tally, diagnosis, samples


@tool_errors
async def get_task_runs(
    ctx: ToolContext,
    task: TaskToList = None,
    run_id: RunIdArg = None,
    wait_seconds: WaitSeconds = 0,
    cursor: Cursor = None,
) -> TaskRunsResult:
    """A task's runs newest first, or one run (run_id) diagnosed."""
    state = app_state(ctx)
    client = state.client
    if task is None and run_id is None:
        raise ToolError("task, run_id: pass task to list its runs, or run_id to show one run")
    if run_id is None:
        assert task is not None
        current = await client.tasks.get(task)
        listing = client.tasks.list_runs(current.id, limit=50)
        collected = await collect(
            listing.page,
            scope=scope_of("get_task_runs", current.id),
            cursor=cursor,
            limit=RUNS_PER_PAGE,
            row=lambda r: run_info(r, full=False),
            budget_chars=RUNS_BUDGET_CHARS,
        )
        return TaskRunsResult(
            task=_task_ref(current),
            items=collected.rows,
            has_more=collected.has_more,
            next_cursor=collected.next_cursor,
        )
    run = await client.tasks.get_run(run_id)
    if wait_seconds and not run.is_terminal:
        run = await wait_for_run(ctx, client, run, wait_seconds)
    current = await client.tasks.get(run.task_id)
    if task is not None:
        asked = await client.tasks.get(task)
        if asked.id != current.id:
            raise ToolError(f"run_id: run {run.id} belongs to task '{current.name}', not '{asked.name}'")
    tally, diagnosis, samples = await _run_details(client, current, run, state.clock())
    result = TaskRunsResult(
        task=_task_ref(current),
        items=[],
        has_more=False,
        run=run_info(run),
        finished=run.is_terminal,
        tally=tally,
        diagnosis=diagnosis,
        label_samples=samples,
    )
    _fit_run(result, diagnosis.next_steps)
    return result


async def _cancel_question(run_id: str, ctx: ToolContext) -> str:
    client = app_state(ctx).client
    run = await client.tasks.get_run(run_id)
    if run.is_terminal:
        raise ToolError(
            f"run {run.id} is already {run.status.upper()}: nothing to cancel — get_task_runs(run_id='{run.id}') "
            "shows what it did"
        )
    found = await client.tasks.get(run.task_id)
    window = f" over {window_of(run)}" if window_of(run) else ""
    return (
        f"Cancel run {run.id} of task '{found.name}'{window}? Results it already stored are kept; the rest of the "
        "run is dropped."
    )


ConfirmCancel = Annotated[Confirmed, confirmation(_cancel_question)]


@tool_errors
async def cancel_task_run(
    ctx: ToolContext, run_id: TaskRunId, confirmed: ConfirmCancel, confirm: Confirm = False
) -> CancelTaskRunResult:
    """Cancel a running task run; its results stay."""
    client = app_state(ctx).client
    try:
        cancelled = await client.tasks.cancel_run(run_id)
    except ConflictError as exc:
        raise ToolError(
            f"{exc.detail or exc.title} — nothing to cancel; get_task_runs(run_id='{run_id}') shows what it did"
        ) from None
    current = await client.tasks.get(cancelled.task_id)
    scored = cancelled.num_successes or 0
    kept = "it had stored no results yet"
    if scored:
        columns = ", ".join(f"eval.{i.eval_name}" for i in await _evaluator_infos(client, current, strict=False))
        kept = f"{scored} results it had stored stay on their records" + (f" ({columns})" if columns else "")
    if ONE_OFF_MARK in current.name and cancelled.is_terminal:
        await client.tasks.delete(current.id)
        kept += f"; its one-off task '{current.name}' was deleted"
    return CancelTaskRunResult(
        run=run_info(cancelled),
        task=_task_ref(current),
        confirmed_by=confirmed.how,
        kept=kept,
        next_step="trigger_backfill again when you want the rest scored (records already scored are skipped)",
    )


def register(server: MCPServer[Any]) -> None:
    """Register the task and task-run tools."""
    register_tool(server, create_task, title="Create an evaluation task", kind="create")
    register_tool(server, update_task, title="Update an evaluation task", kind="update")
    register_tool(server, trigger_backfill, title="Backfill: run a task over past spans", kind="create", calls_llm=True)
    register_tool(server, get_task_runs, title="List a task's runs or diagnose one", kind="read")
    register_tool(server, cancel_task_run, title="Cancel a task run", kind="delete")
