"""Evaluation tasks and their runs: ``create_task``, ``update_task``, ``delete_task``, ``trigger_backfill``,
``get_task_run`` and ``cancel_task_run``.

Before anything is written these tools check the task against real data (``_task_checks``): every variable of
every evaluator has a mapping whose path recent spans (or experiment runs) carry, the filters match something,
and a backfill window holds spans that are not all scored already. They refuse with what is wrong and what records
do carry, instead of creating a task that silently scores nothing. Runs are started at once; an optional bounded
wait reports progress, and a finished run comes back with a diagnosis and a sample of the labels it wrote
(``_task_runs``).

Span-level evaluators are attached with ``column_mappings`` and per-evaluator filters; trace- and session-level
evaluators with the equivalent ``query_mappings`` and a task-level ``query_filters`` (filter ``A``), built here
from the same arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import ArizeSkillsError, ConflictError
from ...models._base import iso
from ...models.tasks import Task, TaskEvaluator
from ..confirm import Confirmed, confirmation
from ..errors import redact, tool_errors
from ..state import app_state
from ..types import Confirm, Ref, SpaceArg, StartTime, TaskRef, TaskRunId, ToolContext, ToolResult, parse_time
from . import register_tool
from ._task_checks import (
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
)
from ._task_runs import (
    MAX_WAIT_SECONDS,
    Diagnosis,
    LabelSample,
    RunInfo,
    diagnose,
    label_samples,
    run_info,
    wait_for_run,
)

__all__ = [
    "CancelTaskRunResult",
    "CreateTaskResult",
    "DeleteTaskResult",
    "EvaluatorSpec",
    "TaskRunResult",
    "TriggerBackfillResult",
    "UpdateTaskResult",
    "cancel_task_run",
    "create_task",
    "delete_task",
    "get_task_run",
    "register",
    "trigger_backfill",
    "update_task",
]

CHECK_LOOKBACK = timedelta(days=30)
"""How far back the mapping checks look for recent records when ``check_since`` is not given."""

NEWEST_SPAN_LOOKBACK = timedelta(days=90)
MAX_WINDOW = timedelta(days=30)
DEFAULT_MAX_SPANS = 10_000
LATEST = "latest"


# --- arguments ---------------------------------------------------------------------------------------------------


class EvaluatorSpec(BaseModel):
    """One evaluator to attach to a task, with how its variables are read."""

    model_config = ConfigDict(extra="forbid")

    evaluator: str = Field(
        min_length=1,
        max_length=512,
        description="The evaluator (LLM judge or code evaluator): its exact name or ID (find(kind='evaluator')).",
    )
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="An evaluator version ID to pin. create_task: omit to always run the latest version. "
        "update_task: omit to keep the current pin, 'latest' to unpin.",
    )
    query_filter: str | None = Field(
        default=None,
        max_length=2000,
        description="Only records matching this filter are scored by this evaluator (ANDed with the task's "
        "query_filter), e.g. \"span_kind = 'LLM'\". Span-level evaluators only. update_task: omit to keep, '' to "
        "remove.",
    )
    column_mappings: dict[str, str] | None = Field(
        default=None,
        description="Variable → where to read it: a span attribute path such as 'attributes.input.value' "
        "(project tasks) or a run / example column such as 'output' (dataset tasks). Unmapped variables get "
        "defaults when recent records carry them (input → attributes.input.value, output → "
        "attributes.output.value). update_task: omit to keep the current mappings.",
    )


Evaluators = Annotated[
    list[EvaluatorSpec],
    Field(
        min_length=1,
        max_length=20,
        description="The evaluators the task runs, all LLM judges or all code evaluators, each with optional "
        "column_mappings, query_filter and version pin.",
    ),
]
OptionalProject = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="The project whose spans the task scores: its exact name or ID (find(kind='project')). Give "
        "project or dataset, not both.",
    ),
]
OptionalDataset = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="The dataset whose experiment runs the task scores: its exact name or ID "
        "(find(kind='dataset')); needs experiments. Give project or dataset, not both.",
    ),
]
Experiments = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=512)]] | None,
    Field(
        min_length=1,
        max_length=50,
        description="Experiments of the dataset whose runs are scored: names or IDs (find(kind='experiment')). "
        "Dataset tasks only.",
    ),
]
TaskFilter = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=2000,
        description="Only records matching this filter are scored, e.g. \"span_kind = 'LLM'\" or "
        "\"attributes.llm.model_name = 'gpt-4o'\" (SQL-like; strings in single quotes).",
    ),
]
SamplingRate = Annotated[
    float | None,
    Field(ge=0, le=1, description="Fraction of matching spans to score, 0-1 (project tasks; default: all)."),
]
AllowNoMatching = Annotated[
    bool,
    Field(
        description="Create or update the task even when no recent record matches its filters (for example when "
        "matching spans will only arrive later). Mappings then cannot be checked against data."
    ),
]
CheckSince = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        description="How far back to look for recent spans to check mappings and filters against (default "
        "'-30d'): an ISO 8601 time or an offset such as '-7d'.",
    ),
]
WaitSeconds = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=f"Wait up to this many seconds (0-{MAX_WAIT_SECONDS}) for the run to finish, sending progress; "
        "0 returns at once with the run ID.",
    ),
]


# --- results -----------------------------------------------------------------------------------------------------


class CreateTaskResult(ToolResult):
    """A task created after its checks passed."""

    task: Ref = Field(description="The new task, by name and ID.")
    type: Literal["TEMPLATE_EVALUATION", "CODE_EVALUATION"] = Field(description="The task type.")
    project: Ref | None = Field(description="The project whose spans it scores (project tasks).")
    dataset: Ref | None = Field(description="The dataset whose experiment runs it scores (dataset tasks).")
    experiments: list[Ref] = Field(description="The experiments it scores (dataset tasks).")
    is_continuous: bool = Field(description="Whether new spans are scored as they arrive.")
    sampling_rate: float | None = Field(description="Fraction of matching spans scored (null: all).")
    query_filter: str | None = Field(description="The task-level filter.")
    checked_window: str | None = Field(description="The window of recent spans the checks read (project tasks).")
    records_in_window: RecordCount | None = Field(description="Recent records (spans or runs) the checks saw.")
    records_matching: RecordCount | None = Field(description="Recent records matching the task's query_filter.")
    evaluators: list[EvaluatorCheck] = Field(description="Each evaluator, its mappings and their checks.")
    applied_defaults: list[str] = Field(description="Mappings filled in for you (variable → path).")
    warnings: list[str] = Field(description="What may go wrong when the task runs; read before relying on it.")
    next_step: str = Field(description="What to do next.")


class UpdateTaskResult(ToolResult):
    """A task after an update."""

    task: Ref = Field(description="The task, by name and ID.")
    changed: list[str] = Field(description="The fields that were changed.")
    is_continuous: bool | None = Field(description="Whether new spans are scored as they arrive.")
    sampling_rate: float | None = Field(description="Fraction of matching spans scored (null: all).")
    query_filter: str | None = Field(description="The task-level filter now.")
    evaluators: list[EvaluatorCheck] = Field(description="The evaluators now attached (with checks when re-checked).")
    checked: bool = Field(description="Whether mappings and filters were checked against recent records.")
    records_matching: RecordCount | None = Field(description="Recent records matching the filter (when checked).")
    applied_defaults: list[str] = Field(description="Mappings filled in for you (variable → path).")
    warnings: list[str] = Field(description="What to know: evaluators removed by the replacement, unchecked paths…")
    next_step: str = Field(description="What to do next.")


class DeleteTaskResult(ToolResult):
    """A deleted task."""

    task: Ref = Field(description="The task deleted.")
    confirmed_by: Literal["argument", "elicitation"] = Field(description="How the user confirmed.")
    note: str = Field(description="What was deleted and what stays.")


class TriggerBackfillResult(ToolResult):
    """A run started over a window of spans (or over experiment runs), and how it went if waited for."""

    task: Ref = Field(description="The task, by name and ID.")
    project: Ref | None = Field(description="The project whose spans are scored (project tasks).")
    dataset: Ref | None = Field(description="The dataset whose experiment runs are scored (dataset tasks).")
    experiments: list[Ref] = Field(description="The experiments scored (dataset tasks).")
    window_start: str | None = Field(description="Start of the span window (inclusive).")
    window_end: str | None = Field(description="End of the span window (inclusive).")
    records_in_window: RecordCount | None = Field(description="Spans in the window (or runs in the experiments).")
    records_matching: RecordCount | None = Field(description="Of those, how many match the task's query_filter.")
    already_scored: int | None = Field(description="Of those, how many already have every evaluator's result.")
    expected_to_score: int | None = Field(description="About how many records the run will score (null: unknown).")
    run: RunInfo = Field(description="The run, as last seen.")
    finished: bool = Field(description="Whether the run reached COMPLETED, FAILED or CANCELLED.")
    diagnosis: Diagnosis | None = Field(description="What happened and what to do (when finished).")
    label_samples: list[LabelSample] = Field(description="Labels the evaluators wrote (when finished).")
    warnings: list[str] = Field(description="What to know about the window and filters.")
    next_step: str = Field(description="What to do next.")


class TaskRunResult(ToolResult):
    """A task run with a diagnosis and the labels it wrote."""

    run: RunInfo = Field(description="The run.")
    task: Ref = Field(description="Its task, by name and ID.")
    project: Ref | None = Field(description="The project whose spans it scores (project tasks).")
    dataset: Ref | None = Field(description="The dataset whose experiment runs it scores (dataset tasks).")
    finished: bool = Field(description="Whether the run reached COMPLETED, FAILED or CANCELLED.")
    diagnosis: Diagnosis = Field(description="What happened and what to do.")
    label_samples: list[LabelSample] = Field(description="Labels the evaluators wrote on the run's records.")


class CancelTaskRunResult(ToolResult):
    """A cancelled run and what it leaves behind."""

    run: RunInfo = Field(description="The run after cancelling.")
    task: Ref = Field(description="Its task, by name and ID.")
    confirmed_by: Literal["argument", "elicitation"] = Field(description="How the user confirmed.")
    kept: str = Field(description="What the run had already stored, which stays.")
    next_step: str = Field(description="What to do next.")


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
    client: AsyncArizeClient, experiments: Sequence[str], dataset: Ref, space: str | None, field_name: str
) -> list[Ref]:
    refs = []
    for value in experiments:
        found = await client.experiments.get(value, dataset=dataset.id, space=space)
        if found.dataset_id is not None and found.dataset_id != dataset.id:
            raise ToolError(f"{field_name}: experiment '{found.name}' belongs to another dataset than '{dataset.name}'")
        refs.append(Ref(id=found.id, name=found.name))
    return refs


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


def _refuse(outcome: CheckOutcome, allow_empty: bool, source: Source) -> None:
    """Raise the checks' findings as one ToolError; with ``allow_empty``, empty filters become warnings."""
    lines: list[str] = []
    if outcome.empty and not allow_empty:
        lines += [f"- {text}" for text in outcome.empty]
        lines.append(
            f"  Check the filters against real {source.nouns} (search_spans shows spans and their attributes). If "
            "matching records will only arrive later, call again with allow_no_matching_spans=true."
        )
    lines += [f"- {text}" for text in outcome.problems]
    if lines:
        raise ToolError("nothing was written; fix these and call again:\n" + "\n".join(lines))
    outcome.warnings[:0] = [f"NO MATCHING RECORDS: {text}" for text in outcome.empty]


def _window(state_now: datetime, check_since: str | None) -> tuple[datetime, datetime]:
    since = parse_time(check_since, "check_since", now=state_now) if check_since else state_now - CHECK_LOOKBACK
    if since >= state_now:
        raise ToolError(f"check_since: {check_since!r} is not in the past; use an offset such as '-7d'")
    return since, state_now


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


# --- create / update / delete ------------------------------------------------------------------------------------


@tool_errors
async def create_task(
    ctx: ToolContext,
    name: Annotated[str, Field(min_length=1, max_length=255, description="The task's name, unique in the space.")],
    evaluators: Evaluators,
    project: OptionalProject = None,
    dataset: OptionalDataset = None,
    experiments: Experiments = None,
    is_continuous: Annotated[
        bool,
        Field(description="Score new spans as they arrive (project tasks). Backfill a small window first."),
    ] = False,
    sampling_rate: SamplingRate = None,
    query_filter: TaskFilter = None,
    allow_no_matching_spans: AllowNoMatching = False,
    check_since: CheckSince = None,
    space: SpaceArg = None,
) -> CreateTaskResult:
    """Create an evaluation task that runs LLM judges or code evaluators on a project's spans (continuous or
    on-demand, with sampling and filters) or on experiment runs of a dataset. Before creating it, checks against
    recent data that every template variable has a column mapping whose path the spans (or runs) actually carry,
    fills in standard mappings when the data has them (input → attributes.input.value, output →
    attributes.output.value), and counts how many recent records the filters match; it refuses, listing what is
    wrong and the paths the records do carry, rather than create a task that silently scores nothing.

    Use it after creating a judge (create_judge) or code evaluator; then call trigger_backfill on a small window
    to check the labels before turning on continuous scoring. To change a task use update_task."""
    state = app_state(ctx)
    client = state.client
    if (project is None) == (dataset is None):
        raise ToolError(
            "project, dataset: give exactly one — project to score its spans, or dataset (with experiments) to "
            "score experiment runs"
        )
    project_ref = dataset_ref = None
    experiment_refs: list[Ref] = []
    window: str | None = None
    source: Source
    if project is not None:
        if experiments:
            raise ToolError("experiments: applies to dataset tasks only; omit it for a project task")
        found = await client.projects.get(project, space=space)
        project_ref = Ref(id=found.id, name=found.name)
        since, until = _window(state.clock(), check_since)
        source = ProjectSource(client, project_ref, since, until)
        window = f"{iso(since)} .. {iso(until)}"
    else:
        assert dataset is not None
        if is_continuous:
            raise ToolError("is_continuous: dataset tasks run on demand only; omit it (or create a project task)")
        if sampling_rate is not None:
            raise ToolError("sampling_rate: applies to project tasks only; omit it for a dataset task")
        data = await client.datasets.get(dataset, space=space)
        dataset_ref = Ref(id=data.id, name=data.name)
        if not experiments:
            raise ToolError(
                f"experiments: a dataset task scores experiment runs — name at least one experiment of dataset "
                f"'{data.name}' (find(kind='experiment') lists them)"
            )
        experiment_refs = await _experiment_refs(client, experiments, dataset_ref, space, "experiments")
        source = DatasetSource(client, dataset_ref, experiment_refs)
    infos = [
        await load_evaluator(client, spec.evaluator, spec.version, space=space, field_name=f"evaluators[{i}]")
        for i, spec in enumerate(evaluators)
    ]
    _no_duplicates(infos)
    task_type = _task_type(infos)
    trace_shape = _shape_of(infos, dataset_task=dataset is not None)
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
            pinned=info.version_id if spec.version is not None else None,
            query_filter=spec.query_filter or None,
            mappings=dict(spec.column_mappings or {}),
            field_name=f"evaluators[{index}]",
        )
        for index, (spec, info) in enumerate(zip(evaluators, infos, strict=True))
    ]
    outcome = await check_attachments(source, query_filter, attachments, trace_shape=trace_shape)
    _refuse(outcome, allow_no_matching_spans, source)
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
        sampling_rate=sampling_rate,
        is_continuous=is_continuous if project_ref else None,
        space=space,
        **filters,
    )
    if project_ref is not None:
        next_step = (
            f"call trigger_backfill(task='{created.name}', start_time='-7d', max_spans=100, wait_seconds=120) to "
            "score a small sample, and read the labels it returns"
            + (
                "; continuous scoring picks up new spans as they arrive"
                if is_continuous
                else "; then update_task(is_continuous=true) to score new spans as they arrive"
            )
        )
    else:
        next_step = (
            f"call trigger_backfill(task='{created.name}', wait_seconds=120) to score the experiments' runs, and "
            "read the labels it returns"
        )
    return CreateTaskResult(
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
        warnings=outcome.warnings,
        next_step=next_step,
    )


async def _update_attachments(
    client: AsyncArizeClient,
    current: Task,
    specs: Sequence[EvaluatorSpec] | None,
    space: str | None,
    warnings: list[str],
) -> list[Attachment]:
    """The evaluators the task will hold: ``specs`` merged with the current attachments, or the current ones."""
    existing = {entry.evaluator_id: entry for entry in current.evaluators}
    if specs is None:
        attachments = []
        for index, entry in enumerate(current.evaluators):
            info = await load_evaluator(
                client, entry.evaluator_id, entry.evaluator_version_id, space=space, field_name=f"evaluators[{index}]"
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
        resolved = await load_evaluator(client, spec.evaluator, None, space=space, field_name=label)
        before = existing.get(resolved.id)
        if spec.version == LATEST:
            pinned = None
        elif spec.version is not None:
            pinned = spec.version
        else:
            pinned = before.evaluator_version_id if before is not None else None
            if pinned is not None:
                warnings.append(f"{resolved.name}: kept its version pin {pinned} (pass version='latest' to unpin)")
        info = resolved
        if pinned is not None:
            info = await load_evaluator(client, resolved.id, pinned, space=space, field_name=f"{label}.version")
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
            type=a.info.type,
            version_id=a.pinned,
            checked_version_id=a.info.version_id,
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
    name: Annotated[str | None, Field(min_length=1, max_length=255, description="A new name for the task.")] = None,
    sampling_rate: SamplingRate = None,
    is_continuous: Annotated[
        bool | None, Field(description="Turn continuous scoring of new spans on (true) or off (false).")
    ] = None,
    query_filter: TaskFilter = None,
    clear_query_filter: Annotated[
        bool, Field(description="Remove the task-level filter (score every span). Do not combine with query_filter.")
    ] = False,
    evaluators: Annotated[
        list[EvaluatorSpec] | None,
        Field(
            min_length=1,
            max_length=20,
            description="REPLACES the task's whole evaluator list. For an evaluator already on the task, omitted "
            "version / query_filter / column_mappings keep their current values.",
        ),
    ] = None,
    allow_no_matching_spans: AllowNoMatching = False,
    check_since: CheckSince = None,
    space: SpaceArg = None,
) -> UpdateTaskResult:
    """Change a task: rename it, change its sampling rate, turn continuous scoring on or off, set or remove its
    filter, or replace its evaluators (the list given replaces the whole list; evaluators already attached keep
    their version pin, filter and mappings unless given). New filters and evaluators are checked against recent
    records like create_task does (mappings whose paths the records carry, filters that match). Use it after
    trigger_backfill showed wrong labels or errors, or to start continuous scoring once a backfill looked right."""
    state = app_state(ctx)
    client = state.client
    current = await client.tasks.get(task, space=space)
    if query_filter is not None and clear_query_filter:
        raise ToolError("query_filter, clear_query_filter: pass one — a new filter, or clear_query_filter=true")
    given = {
        "name": name is not None,
        "sampling_rate": sampling_rate is not None,
        "is_continuous": is_continuous is not None,
        "query_filter": query_filter is not None or clear_query_filter,
        "evaluators": evaluators is not None,
    }
    changed = [field for field, present in given.items() if present]
    if not changed:
        raise ToolError(
            "nothing to update: pass name, sampling_rate, is_continuous, query_filter (or clear_query_filter=true) "
            "or evaluators"
        )
    if current.type == "RUN_EXPERIMENT":
        if changed != ["name"]:
            raise ToolError(
                f"task '{current.name}' is a RUN_EXPERIMENT task: update_task can only rename it "
                f"(it got {', '.join(changed)})"
            )
        renamed = await client.tasks.update(current.id, name=name or current.name)
        return UpdateTaskResult(
            task=_task_ref(renamed),
            changed=changed,
            is_continuous=None,
            sampling_rate=None,
            query_filter=None,
            evaluators=[],
            checked=False,
            records_matching=None,
            applied_defaults=[],
            warnings=[],
            next_step="nothing else to do",
        )
    if current.dataset_id is not None and (sampling_rate is not None or is_continuous):
        raise ToolError(
            "sampling_rate, is_continuous: dataset tasks score experiment runs on demand; these apply to project "
            "tasks only"
        )
    warnings: list[str] = []
    attachments = await _update_attachments(client, current, evaluators, space, warnings)
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
                "over — pass query_filter too (or clear_query_filter=true)"
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
            since, until = _window(state.clock(), check_since)
            source = ProjectSource(client, project, since, until)
        else:
            _, dataset = await _targets(client, current)
            assert dataset is not None
            refs = await _experiment_refs(client, current.experiment_ids, dataset, space, "evaluators")
            source = DatasetSource(client, dataset, refs)
        outcome = await check_attachments(source, final_filter, attachments, trace_shape=trace_shape)
        _refuse(outcome, allow_no_matching_spans, source)
        mappings = outcome.mappings
        warnings = [*warnings, *outcome.warnings]
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = name
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
        next_step = "new spans are now scored as they arrive; get_task_run shows each run (find(kind='task'))"
    elif checked:
        next_step = (
            f"call trigger_backfill(task='{updated.name}', start_time='-7d', max_spans=100, override=true, "
            "wait_seconds=120) to re-score a sample with the new settings"
        )
    else:
        next_step = "nothing else to do"
    return UpdateTaskResult(
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


async def _delete_question(task: str, ctx: ToolContext, space: str | None = None) -> str:
    client = app_state(ctx).client
    found = await client.tasks.get(task, space=space)
    project, dataset = await _targets(client, found)
    target = f"project '{project.name}'" if project else f"dataset '{dataset.name}'" if dataset else "its dataset"
    return (
        f"Delete task '{found.name}' (id {found.id}; {found.type} on {target})? Its runs and schedule go with it; "
        "evaluation results already written stay. This cannot be undone."
    )


ConfirmDelete = Annotated[Confirmed, confirmation(_delete_question)]


@tool_errors
async def delete_task(
    ctx: ToolContext, task: TaskRef, confirmed: ConfirmDelete, confirm: Confirm = False, space: SpaceArg = None
) -> DeleteTaskResult:
    """Delete a task with its runs (evaluation results it already wrote on spans or runs stay). Asks the user
    first: clients that support it show a confirmation form; otherwise pass confirm=true only after the user said
    yes. Use it only when the user asked to delete the task; to stop scoring new spans, prefer
    update_task(is_continuous=false)."""
    client = app_state(ctx).client
    found = await client.tasks.get(task, space=space)
    await client.tasks.delete(found.id)
    return DeleteTaskResult(
        task=_task_ref(found),
        confirmed_by=confirmed.how,
        note="the task, its runs and its schedule were deleted; evaluation results it wrote stay on the records",
    )


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
                    space=None,
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


async def _empty_window_message(
    client: AsyncArizeClient, project: Ref, start: datetime, end: datetime, now: datetime
) -> str:
    newest = await newest_span(client, project.id, now - NEWEST_SPAN_LOOKBACK, now)
    head = f"the window {iso(start)} .. {iso(end)} holds no spans in project '{project.name}' — nothing was started"
    if newest is None:
        return (
            f"{head}. The project has no spans in the last {NEWEST_SPAN_LOOKBACK.days} days: send traces to it "
            "first (search_spans shows what arrived)"
        )
    if newest < start:
        hint = f"set start_time before it, e.g. start_time='{iso(newest - timedelta(hours=1))}'"
    else:
        hint = "the window ends before it: move end_time past it (omit end_time to end the window now)"
    return f"{head}. Its newest span of the last {NEWEST_SPAN_LOOKBACK.days} days started at {iso(newest)}: {hint}"


@tool_errors
async def trigger_backfill(
    ctx: ToolContext,
    task: TaskRef,
    start_time: StartTime = None,
    end_time: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="End of the span window (inclusive); omit for now. An ISO 8601 time, 'now', or an offset "
            "such as '-1h'.",
        ),
    ] = None,
    max_spans: Annotated[
        int | None,
        Field(
            ge=1,
            le=1_000_000,
            description="Score at most this many spans (default 10,000). Use about 100 for a first check.",
        ),
    ] = None,
    override: Annotated[
        bool, Field(description="Score again spans that already have this task's results (default: skip them).")
    ] = False,
    experiments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]] | None,
        Field(
            min_length=1,
            max_length=50,
            description="Dataset tasks: which of the task's dataset experiments to score (names or IDs); default: "
            "the task's own.",
        ),
    ] = None,
    wait_seconds: WaitSeconds = 0,
    space: SpaceArg = None,
) -> TriggerBackfillResult:
    """Run a task now over a window of past spans (a backfill), or over its experiments' runs for a dataset task.
    First counts the spans in the window and those matching the task's filters, and refuses (starting nothing)
    when the window holds no spans, the filter matches none, or every span already has the task's results
    (pass override=true to score them again). Returns the run ID at once; with wait_seconds it waits (sending
    progress) and returns the outcome with a diagnosis and a sample of the labels written.

    start_time is required when the task never ran (e.g. '-7d'); otherwise it defaults to the end of the last
    run. A window covers at most 30 days. Start with max_spans=100 to check the labels before a full backfill."""
    state = app_state(ctx)
    client = state.client
    now = state.clock()
    current = await client.tasks.get(task, space=space)
    if current.type == "RUN_EXPERIMENT":
        raise ToolError(
            f"task: '{current.name}' is a RUN_EXPERIMENT task; run it with run_experiment, which generates a new "
            "experiment"
        )
    infos = await _evaluator_infos(client, current)
    project, dataset = await _targets(client, current)
    trace_shape = current.query_filters is not None or any(e.query_mappings for e in current.evaluators)
    warnings: list[str] = []
    experiment_refs: list[Ref] = []
    start = end = None
    source: Source
    if project is not None:
        if experiments:
            raise ToolError("experiments: applies to dataset tasks; a project task scores a window of spans")
        end = parse_time(end_time, "end_time", now=now) if end_time else now
        if start_time:
            start = parse_time(start_time, "start_time", now=now)
        elif current.last_run_at is not None:
            start = current.last_run_at
        else:
            raise ToolError(
                f"start_time: task '{current.name}' has never run, so the window needs a start — e.g. "
                "start_time='-7d' for the last 7 days (at most 30 days before end_time)"
            )
        if start >= end:
            defaulted = "" if start_time else " (start_time defaulted to the end of the task's last run)"
            raise ToolError(
                f"start_time: {iso(start)} is not before end_time {iso(end)}{defaulted}; pass an earlier one"
            )
        if end - start > MAX_WINDOW:
            raise ToolError(
                f"start_time, end_time: the window {iso(start)} .. {iso(end)} is "
                f"{(end - start) / timedelta(days=1):.1f} days; a run covers at most 30 — split the backfill into "
                "several runs"
            )
        source = ProjectSource(client, project, start, end)
    else:
        assert dataset is not None
        if start_time or end_time:
            raise ToolError(
                "start_time, end_time: a dataset task scores experiment runs, not a time window; use experiments= "
                "to choose which experiments"
            )
        experiment_refs = await _experiment_refs(
            client, experiments or current.experiment_ids, dataset, space, "experiments"
        )
        source = DatasetSource(client, dataset, experiment_refs)
    eval_names = [i.eval_name for i in infos]
    in_window = await source.count(None, field_name="the window", eval_names=eval_names)
    if in_window.count == 0:
        if project is not None:
            assert start is not None and end is not None
            raise ToolError(await _empty_window_message(client, project, start, end, now))
        raise ToolError(f"{source.where()} hold no runs — nothing was started; upload runs first (upload_experiment)")
    task_filter = _single_filter(current)
    if trace_shape and current.query_filters is not None and task_filter is None:
        warnings.append("the task's several trace/session filters were not counted; the counts cover the window")
    matching = (
        await source.count(task_filter, field_name="the task's query_filter", eval_names=eval_names)
        if task_filter
        else in_window
    )
    if matching.count == 0:
        raise ToolError(
            f"the task's query_filter {task_filter!r} matches none of the {in_window.text()} {source.nouns} in "
            f"{source.where()} — nothing was started. Fix the filter with update_task (search_spans shows real "
            "spans and their attributes), or pick a window where matching spans are"
        )
    per_evaluator: list[Count] = []
    for info, entry in zip(infos, current.evaluators, strict=True):
        combined = _filter_of(current, info, entry, trace_shape)
        counted = await source.count(
            combined, field_name=f"evaluator '{info.name}' filter", eval_names=[info.eval_name]
        )
        per_evaluator.append(counted)
        if counted.count == 0:
            warnings.append(
                f"evaluator '{info.name}': its filter matches none of the {matching.text()} {source.nouns} the task "
                "selects, so it will score nothing"
            )
    if all(c.count == 0 for c in per_evaluator):
        raise ToolError(
            "no evaluator of the task has a matching record in "
            f"{source.where()} — nothing was started:\n- " + "\n- ".join(warnings)
        )
    # Trace and session results sit on one root span per trace or session, so per-span counts say nothing there.
    per_span = not trace_shape
    if per_span and not override and all(c.complete and c.labelled == c.count for c in per_evaluator if c.count):
        columns = ", ".join(f"eval.{n}" for n in eval_names)
        raise ToolError(
            f"every one of the {matching.text()} matching {source.nouns} in {source.where()} already has "
            f"{columns} — nothing new to score, nothing was started. Pass override=true to score them again, or "
            "move the window to newer spans"
        )
    limit = max_spans or DEFAULT_MAX_SPANS
    rate = current.sampling_rate if current.sampling_rate is not None and current.sampling_rate < 1 else None
    complete = all(c.complete for c in per_evaluator)
    expected = total = None
    if per_span and complete and rate is None:
        expected = min(max(c.count - (0 if override else c.labelled) for c in per_evaluator), limit)
        total = sum(min(c.count, limit) for c in per_evaluator)
    if rate is not None:
        warnings.append(f"the task's sampling_rate {rate:g} scores about that fraction of the matching spans")
    if matching.complete and matching.count > limit:
        warnings.append(f"max_spans {limit:,} is below the {matching.count:,} matching spans; the rest stay unscored")
    try:
        run = await client.tasks.trigger_run(
            current.id,
            data_start_time=start,
            data_end_time=end,
            max_spans=max_spans,
            override_evaluations=True if override else None,
            experiment_ids=[e.id for e in experiment_refs] if experiments else None,
        )
    except ConflictError as exc:
        raise ToolError(
            f"task '{current.name}' already has a run going: {exc.detail or exc.title} — wait for it with "
            "get_task_run(run_id=..., wait_seconds=...) or stop it with cancel_task_run, then trigger again"
        ) from None
    samples: list[LabelSample] = []
    try:
        # The run exists now: a failure while waiting or reading labels must not hide its ID.
        if wait_seconds:
            run = await wait_for_run(ctx, client, run, wait_seconds, total=total)
        if run.is_terminal and run.num_successes:
            samples = await label_samples(client, current, run, infos)
    except ArizeSkillsError as exc:
        warnings.append(redact(f"the run started, but reading it back failed: {exc}; it keeps going", state.secrets))
    finished = run.is_terminal
    diagnosis = diagnose(run, dataset_task=dataset is not None) if finished else None
    if finished:
        assert diagnosis is not None
        next_step = diagnosis.next_steps[0] if diagnosis.next_steps else "nothing else to do"
    else:
        next_step = (
            f"call get_task_run(run_id='{run.id}', wait_seconds=120) to wait for it and read its outcome and labels"
        )
    return TriggerBackfillResult(
        task=_task_ref(current),
        project=project,
        dataset=dataset,
        experiments=experiment_refs,
        window_start=iso(start) if start else None,
        window_end=iso(end) if end else None,
        records_in_window=in_window.public,
        records_matching=matching.public,
        already_scored=matching.labelled if matching.complete and per_span else None,
        expected_to_score=expected,
        run=run_info(run),
        finished=finished,
        diagnosis=diagnosis,
        label_samples=samples,
        warnings=warnings,
        next_step=next_step,
    )


@tool_errors
async def get_task_run(
    ctx: ToolContext,
    run_id: TaskRunId,
    wait_seconds: WaitSeconds = 0,
    include_labels: Annotated[
        bool, Field(description="Read back a sample of the labels the run's evaluators wrote (default true).")
    ] = True,
) -> TaskRunResult:
    """Show a task run: its status, window and counts (scored, errors, skipped) and, once it finished, a
    diagnosis of what happened and what to do (errors and their most common cause, nothing to score, everything
    already scored, an empty window, refused credentials, a cancel with no reason given) plus a sample of the labels
    it wrote. With wait_seconds it first waits for the run to finish, sending progress. Use it after
    trigger_backfill, or to check on a continuous task's runs."""
    state = app_state(ctx)
    client = state.client
    run = await client.tasks.get_run(run_id)
    if wait_seconds and not run.is_terminal:
        run = await wait_for_run(ctx, client, run, wait_seconds)
    current = await client.tasks.get(run.task_id)
    project, dataset = await _targets(client, current)
    samples: list[LabelSample] = []
    if include_labels and run.num_successes:
        samples = await label_samples(client, current, run, await _evaluator_infos(client, current, strict=False))
    return TaskRunResult(
        run=run_info(run),
        task=_task_ref(current),
        project=project,
        dataset=dataset,
        finished=run.is_terminal,
        diagnosis=diagnose(run, dataset_task=current.dataset_id is not None),
        label_samples=samples,
    )


async def _cancel_question(run_id: str, ctx: ToolContext) -> str:
    client = app_state(ctx).client
    run = await client.tasks.get_run(run_id)
    if run.is_terminal:
        raise ToolError(
            f"run {run.id} is already {run.status.upper()}: nothing to cancel — get_task_run(run_id='{run.id}') "
            "shows what it did"
        )
    found = await client.tasks.get(run.task_id)
    window = (
        f" over {iso(run.data_start_time)} .. {iso(run.data_end_time)}"
        if run.data_start_time is not None and run.data_end_time is not None
        else ""
    )
    return (
        f"Cancel run {run.id} of task '{found.name}'{window}? Results it already stored are kept; the rest of the "
        "run is dropped."
    )


ConfirmCancel = Annotated[Confirmed, confirmation(_cancel_question)]


@tool_errors
async def cancel_task_run(
    ctx: ToolContext, run_id: TaskRunId, confirmed: ConfirmCancel, confirm: Confirm = False
) -> CancelTaskRunResult:
    """Cancel a PENDING or RUNNING task run; what it already scored is kept. Asks the user first: clients that
    support it show a confirmation form; otherwise pass confirm=true only after the user said yes. Use it when a
    backfill was started over the wrong window or with wrong settings, or costs more than wanted."""
    client = app_state(ctx).client
    try:
        cancelled = await client.tasks.cancel_run(run_id)
    except ConflictError as exc:
        raise ToolError(
            f"{exc.detail or exc.title} — nothing to cancel; get_task_run(run_id='{run_id}') shows what it did"
        ) from None
    current = await client.tasks.get(cancelled.task_id)
    scored = cancelled.num_successes or 0
    kept = "it had stored no results yet"
    if scored:
        columns = ", ".join(f"eval.{i.eval_name}" for i in await _evaluator_infos(client, current, strict=False))
        kept = f"{scored} results it had stored stay on their records" + (f" ({columns})" if columns else "")
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
    register_tool(server, delete_task, title="Delete a task", kind="delete")
    register_tool(server, trigger_backfill, title="Backfill: run a task over past spans", kind="create", calls_llm=True)
    register_tool(server, get_task_run, title="Show a task run and diagnose it", kind="read")
    register_tool(server, cancel_task_run, title="Cancel a task run", kind="delete")
