"""Tasks and task runs (``/v2/tasks``, ``/v2/task-runs``).

A task ties evaluators to a data source: a project (spans, optionally continuous) or a dataset (experiment
runs). ``RUN_EXPERIMENT`` tasks instead carry a ``run_configuration`` that generates an experiment server-side.
Create bodies are a oneOf keyed on ``type``; PATCH and trigger bodies carry no ``type`` and take the shape of
the stored task's type, so each model here rejects the fields of the other shape with a message saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from ..foundation.repeats import repeated
from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .evaluators import InvocationParamsRequest, ToolConfigRequest

__all__ = [
    "DEFAULT_MAX_SPANS",
    "EVALUATION_TASK_TYPES",
    "MAX_RUN_WINDOW",
    "TERMINAL_RUN_STATUSES",
    "run_window_too_long",
    "AgentCallRunConfig",
    "CreateEvaluationTaskRequest",
    "CreateRunExperimentTaskRequest",
    "CreateTaskRequest",
    "LlmGenerationRunConfig",
    "LlmMessage",
    "QueryExpression",
    "QueryId",
    "RunConfiguration",
    "SpanEvaluatorInput",
    "Task",
    "TaskEvaluator",
    "TaskEvaluatorInput",
    "TaskList",
    "TaskQueryFilter",
    "TaskQueryFilterInput",
    "TaskQueryFilters",
    "TaskQueryFiltersInput",
    "TaskQueryMapping",
    "TaskQueryMappingInput",
    "TaskRun",
    "TaskRunList",
    "TaskRunStatus",
    "TaskType",
    "TemplateEvaluationRunConfig",
    "ToolCall",
    "ToolCallFunction",
    "TraceOrSessionEvaluatorInput",
    "TriggerEvaluationTaskRunRequest",
    "TriggerRunExperimentTaskRunRequest",
    "UpdateEvaluationTaskRequest",
    "UpdateRunExperimentTaskRequest",
    "evaluator_shape",
    "parse_query_expression",
]

DEFAULT_MAX_SPANS = 10_000
"""The most records a task run scores when its trigger gives no ``max_spans`` (AX's default)."""
MAX_RUN_WINDOW = timedelta(days=30)
"""The longest data window one task run covers (AX's limit)."""


def run_window_too_long(start: datetime, end: datetime) -> float | None:
    """How many days the window ``start``..``end`` spans when that is more than one task run may cover, else
    ``None`` (each side words its own refusal: the engine as AX does, the tools for an agent)."""
    span = end - start
    return span / timedelta(days=1) if span > MAX_RUN_WINDOW else None


TaskType = Literal["TEMPLATE_EVALUATION", "CODE_EVALUATION", "RUN_EXPERIMENT"]
TaskRunStatus = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
QueryId = Literal["A", "B", "C", "D", "E"]

EVALUATION_TASK_TYPES: frozenset[str] = frozenset({"TEMPLATE_EVALUATION", "CODE_EVALUATION"})
TERMINAL_RUN_STATUSES: frozenset[str] = frozenset({"COMPLETED", "FAILED", "CANCELLED"})

StrictBool = Annotated[bool, Field(strict=True)]
StrictInt = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True)]
Fraction = Annotated[float, Field(strict=True, ge=0, le=1)]

# Fields that belong to one task shape only; sending one to the other shape is a 400 that says why.
EVALUATION_CREATE_ONLY = ("project_id", "evaluators", "experiment_ids", "sampling_rate", "is_continuous")
EVALUATION_FILTER_FIELDS = ("query_filter", "query_filters")
EVALUATION_UPDATE_FIELDS = ("sampling_rate", "is_continuous", "query_filter", "query_filters", "evaluators")
EVALUATION_TRIGGER_FIELDS = ("data_start_time", "data_end_time", "max_spans", "override_evaluations", "experiment_ids")
RUN_EXPERIMENT_TRIGGER_FIELDS = (
    "experiment_name",
    "dataset_version_id",
    "example_ids",
    "max_examples",
    "query_filter",
    "tracing_metadata",
    "evaluation_task_ids",
)


def _reject_foreign(data: Any, fields: tuple[str, ...], message: str) -> Any:
    if isinstance(data, dict):
        present = [f for f in fields if f in data]
        if present:
            raise ValueError(f"{', '.join(present)}: {message}")
    return data


# ---------------------------------------------------------------------------------------------------------------
# Query filters (trace/session shape) and their boolean expression
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryExpression:
    """A parsed ``query_filters.expression``: ``A``, ``NOT x``, ``x AND y``, ``x OR y``, with parentheses."""

    op: Literal["ID", "NOT", "AND", "OR"]
    query_id: str | None = None
    args: tuple[QueryExpression, ...] = ()

    def ids(self) -> set[str]:
        """Every query ID the expression names."""
        if self.op == "ID":
            return {self.query_id or ""}
        return set().union(*(arg.ids() for arg in self.args))

    def evaluate(self, matched: AbstractSet[str]) -> bool:
        """Whether a unit that matched the queries in ``matched`` is admitted."""
        if self.op == "ID":
            return self.query_id in matched
        if self.op == "NOT":
            return not self.args[0].evaluate(matched)
        if self.op == "AND":
            return all(arg.evaluate(matched) for arg in self.args)
        return any(arg.evaluate(matched) for arg in self.args)


_EXPRESSION_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z]+)|(?P<paren>[()]))")


def parse_query_expression(text: str, declared: AbstractSet[str]) -> QueryExpression:
    """Parse a boolean expression over the declared query IDs (``A AND (B OR NOT C)``).

    Raises:
        ValueError: the expression does not parse or names an undeclared query ID.
    """
    tokens: list[tuple[str, int]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _EXPRESSION_TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"expression {text!r}: unexpected character at position {position}")
        token = match.group("word") or match.group("paren")
        tokens.append((token, match.start(match.lastgroup or 0)))
        position = match.end()
    if not tokens:
        raise ValueError("expression must not be empty: combine the filter ids, for example 'A AND B'")
    index = 0

    def peek() -> str | None:
        return tokens[index][0].upper() if index < len(tokens) else None

    def fail(expected: str) -> ValueError:
        if index < len(tokens):
            return ValueError(f"expression {text!r}: expected {expected} at position {tokens[index][1]}")
        return ValueError(f"expression {text!r}: expected {expected} at the end")

    def parse_or() -> QueryExpression:
        nonlocal index
        items = [parse_and()]
        while peek() == "OR":
            index += 1
            items.append(parse_and())
        return items[0] if len(items) == 1 else QueryExpression("OR", args=tuple(items))

    def parse_and() -> QueryExpression:
        nonlocal index
        items = [parse_not()]
        while peek() == "AND":
            index += 1
            items.append(parse_not())
        return items[0] if len(items) == 1 else QueryExpression("AND", args=tuple(items))

    def parse_not() -> QueryExpression:
        nonlocal index
        token = peek()
        if token == "NOT":
            index += 1
            return QueryExpression("NOT", args=(parse_not(),))
        if token == "(":
            index += 1
            inner = parse_or()
            if peek() != ")":
                raise fail("')'")
            index += 1
            return inner
        if token is not None and tokens[index][0] in declared:
            index += 1
            return QueryExpression("ID", query_id=tokens[index - 1][0])
        if token is not None and re.fullmatch(r"[A-E]", tokens[index][0]):
            raise ValueError(
                f"expression {text!r} names query {tokens[index][0]!r}, which is not declared in filters "
                f"(declared: {', '.join(sorted(declared))})"
            )
        raise fail(f"a filter id ({', '.join(sorted(declared))}), NOT or '('")

    tree = parse_or()
    if index != len(tokens):
        raise fail("AND, OR or the end")
    return tree


class TaskQueryFilterInput(RequestModel):
    """One named query of the trace/session shape: an ID ``A``–``E`` and a spans filter."""

    id: QueryId
    filter: str = Field(max_length=2000)


class TaskQueryFiltersInput(RequestModel):
    """Task-level named queries (trace/session shape) and the expression combining them."""

    filters: list[TaskQueryFilterInput] = Field(min_length=1, max_length=5)
    expression: str | None = Field(default=None, max_length=512)

    @model_validator(mode="after")
    def _check(self) -> TaskQueryFiltersInput:
        ids = [f.id for f in self.filters]
        if duplicates := repeated(ids):
            raise ValueError(f"filters: duplicate id {', '.join(duplicates)}; each filter needs its own id A-E")
        if self.expression is None:
            if len(ids) > 1:
                raise ValueError(
                    f"expression is required when there are {len(ids)} filters: combine their ids, for example "
                    f"'{' AND '.join(ids)}'"
                )
        else:
            parse_query_expression(self.expression, set(ids))
        return self


class TaskQueryMappingInput(RequestModel):
    """Feeds one evaluator variable from an attribute of the units admitted by some queries (trace/session)."""

    variable_name: str = Field(max_length=256)
    query_ids: list[QueryId] = Field(max_length=5)
    attribute_path: str = Field(max_length=1024)


# ---------------------------------------------------------------------------------------------------------------
# Evaluators attached to a task
# ---------------------------------------------------------------------------------------------------------------


class SpanEvaluatorInput(RequestModel):
    """An evaluator on a span-shape task: optional filter (ANDed with the task's) and variable → column mappings."""

    evaluator_id: str = Field(min_length=1)
    evaluator_version_id: str | None = None
    query_filter: str | None = None
    column_mappings: dict[str, str] | None = None


class TraceOrSessionEvaluatorInput(RequestModel):
    """An evaluator on a trace/session-shape task: variables fed through ``query_mappings``."""

    evaluator_id: str = Field(min_length=1)
    evaluator_version_id: str | None = None
    query_mappings: list[TaskQueryMappingInput] = Field(min_length=1, max_length=50)


def evaluator_shape(value: Any) -> str:
    """``"span"`` or ``"trace_or_session"``: which evaluator shape a request entry has."""
    if isinstance(value, TraceOrSessionEvaluatorInput):
        return "trace_or_session"
    if isinstance(value, dict) and "query_mappings" in value:
        return "trace_or_session"
    return "span"


TaskEvaluatorInput = Annotated[
    Annotated[SpanEvaluatorInput, Tag("span")] | Annotated[TraceOrSessionEvaluatorInput, Tag("trace_or_session")],
    Discriminator(evaluator_shape),
]
"""An evaluator entry: span shape or trace/session shape (chosen by the presence of ``query_mappings``)."""

_SPAN_ONLY_KEYS = ("query_filter", "column_mappings")


def _check_evaluator_entries(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    shapes = set()
    for index, entry in enumerate(value):
        if isinstance(entry, dict) and "query_mappings" in entry:
            mixed = [k for k in _SPAN_ONLY_KEYS if k in entry]
            if mixed:
                raise ValueError(
                    f"evaluators[{index}] mixes the trace/session shape (query_mappings) with the span shape "
                    f"({', '.join(mixed)}); use one shape"
                )
        shapes.add(evaluator_shape(entry))
    if len(shapes) > 1:
        raise ValueError(
            "evaluators mix the span shape (column_mappings / query_filter) and the trace/session shape "
            "(query_mappings); every evaluator of a task must use the same shape"
        )
    ids = [e.get("evaluator_id") if isinstance(e, dict) else getattr(e, "evaluator_id", None) for e in value]
    duplicates = sorted({str(i) for i in ids if i is not None and ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"evaluator_id {', '.join(duplicates)} is listed more than once")
    return value


def _check_filter_shapes(query_filter: str | None, query_filters: Any, evaluators: list[Any] | None) -> None:
    if query_filter is not None and query_filters is not None:
        raise ValueError(
            "query_filter (span shape) and query_filters (trace/session shape) are mutually exclusive; send one"
        )
    if not evaluators:
        return
    shape = evaluator_shape(evaluators[0])
    if shape == "span" and query_filters is not None:
        raise ValueError(
            "query_filters belongs to the trace/session shape but the evaluators use the span shape; "
            "use query_filter, or give the evaluators query_mappings"
        )
    if shape == "trace_or_session" and query_filter is not None:
        raise ValueError(
            "query_filter belongs to the span shape but the evaluators use the trace/session shape "
            "(query_mappings); use query_filters"
        )


# ---------------------------------------------------------------------------------------------------------------
# Run configuration of RUN_EXPERIMENT tasks
# ---------------------------------------------------------------------------------------------------------------


class ToolCallFunction(RequestModel):
    """The function a tool call invokes; ``arguments`` is a JSON string."""

    name: str
    arguments: str

    @field_validator("arguments")
    @classmethod
    def _json_text(cls, value: str) -> str:
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f'arguments must be a JSON string, for example \'{{"city": "Paris"}}\': {exc}') from None
        return value


class ToolCall(RequestModel):
    """A tool call made by the assistant in a prompt message."""

    id: str | None = None
    type: Literal["FUNCTION"]
    function: ToolCallFunction


class LlmMessage(RequestModel):
    """One prompt message."""

    role: Literal["USER", "ASSISTANT", "SYSTEM", "TOOL"]
    content: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] | None = None


class LlmGenerationRunConfig(RequestModel):
    """Run a prompt on each dataset example through an AI integration; the outputs become the experiment."""

    experiment_type: Literal["LLM_GENERATION"]
    ai_integration_id: str = Field(min_length=1)
    model_name: str | None = None
    messages: list[LlmMessage] = Field(min_length=1)
    input_variable_format: Literal["F_STRING", "MUSTACHE", "NONE"]
    invocation_parameters: InvocationParamsRequest | None = None
    provider_parameters: dict[str, Any] | None = None
    tool_config: ToolConfigRequest | None = None
    prompt_version_id: str | None = None


class TemplateEvaluationRunConfig(RequestModel):
    """Judge each dataset example with an LLM template (``{{var}}`` placeholders, ``column_mapping`` singular)."""

    experiment_type: Literal["TEMPLATE_EVALUATION"]
    ai_integration_id: str = Field(min_length=1)
    model_name: str | None = None
    template: str = Field(min_length=1)
    provide_explanation: StrictBool
    classification_choices: dict[str, Number] | None = None
    column_mapping: dict[str, str] | None = None
    evaluator_version_id: str | None = None
    invocation_parameters: InvocationParamsRequest | None = None
    provider_parameters: dict[str, Any] | None = None


class AgentCallRunConfig(RequestModel):
    """Call an agent integration with a JSON body per example (Arize AX only: the local engine cannot run it)."""

    experiment_type: Literal["AGENT_CALL"]
    integration_id: str = Field(min_length=1)
    input_template: dict[str, Any]


RunConfiguration = Annotated[
    LlmGenerationRunConfig | TemplateEvaluationRunConfig | AgentCallRunConfig,
    Field(discriminator="experiment_type"),
]
"""A ``RUN_EXPERIMENT`` task's configuration, keyed on ``experiment_type``."""


# ---------------------------------------------------------------------------------------------------------------
# Create / update / trigger bodies
# ---------------------------------------------------------------------------------------------------------------


class CreateEvaluationTaskRequest(RequestModel):
    """``POST /v2/tasks`` for ``TEMPLATE_EVALUATION`` / ``CODE_EVALUATION`` tasks (identical bodies)."""

    type: Literal["TEMPLATE_EVALUATION", "CODE_EVALUATION"]
    name: Name
    project_id: str | None = None
    dataset_id: str | None = None
    experiment_ids: list[str] | None = None
    sampling_rate: Fraction | None = None
    is_continuous: StrictBool | None = None
    query_filter: str | None = None
    query_filters: TaskQueryFiltersInput | None = None
    evaluators: list[TaskEvaluatorInput] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data, ("run_configuration",), "applies only to RUN_EXPERIMENT tasks; evaluation tasks take evaluators"
        )

    @field_validator("evaluators", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        return _check_evaluator_entries(value)

    @model_validator(mode="after")
    def _rules(self) -> CreateEvaluationTaskRequest:
        if (self.project_id is None) == (self.dataset_id is None):
            raise ValueError("exactly one of project_id (spans) or dataset_id (experiment runs) is required")
        if self.project_id is not None and self.experiment_ids:
            raise ValueError("experiment_ids applies only to dataset-based tasks; omit it for a project task")
        if self.dataset_id is not None:
            if not self.experiment_ids:
                raise ValueError("experiment_ids must list at least one experiment of the dataset for a dataset task")
            if self.sampling_rate is not None:
                raise ValueError("sampling_rate applies only to project-based tasks; omit it for a dataset task")
            if self.is_continuous:
                raise ValueError("is_continuous must be false or omitted for a dataset-based task")
        _check_filter_shapes(self.query_filter, self.query_filters, self.evaluators)
        return self


class CreateRunExperimentTaskRequest(RequestModel):
    """``POST /v2/tasks`` for a ``RUN_EXPERIMENT`` task: run a configuration over a dataset on each trigger."""

    type: Literal["RUN_EXPERIMENT"]
    name: Name
    dataset_id: str = Field(min_length=1)
    run_configuration: RunConfiguration

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data,
            (*EVALUATION_CREATE_ONLY, *EVALUATION_FILTER_FIELDS),
            "not allowed on RUN_EXPERIMENT tasks, which take dataset_id and run_configuration only",
        )


CreateTaskRequest = Annotated[CreateEvaluationTaskRequest | CreateRunExperimentTaskRequest, Field(discriminator="type")]
"""``POST /v2/tasks``: a oneOf keyed on ``type``."""


class UpdateEvaluationTaskRequest(RequestModel):
    """``PATCH /v2/tasks/{id}`` of an evaluation task; ``evaluators`` replaces the whole list (pins included)."""

    name: Name | None = None
    sampling_rate: Fraction | None = None
    is_continuous: StrictBool | None = None
    query_filter: str | None = None
    query_filters: TaskQueryFiltersInput | None = None
    evaluators: list[TaskEvaluatorInput] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data, ("run_configuration", "type"), "cannot be changed on an evaluation task (type is fixed at create)"
        )

    @field_validator("evaluators", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        return _check_evaluator_entries(value)

    @model_validator(mode="after")
    def _rules(self) -> UpdateEvaluationTaskRequest:
        if not self.model_fields_set:
            raise ValueError(
                "at least one field is required: name, sampling_rate, is_continuous, query_filter, query_filters "
                "or evaluators"
            )
        for field in ("name", "sampling_rate", "is_continuous", "evaluators"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; omit it to leave it unchanged")
        _check_filter_shapes(self.query_filter, self.query_filters, self.evaluators)
        return self


class UpdateRunExperimentTaskRequest(RequestModel):
    """``PATCH /v2/tasks/{id}`` of a ``RUN_EXPERIMENT`` task; ``run_configuration`` replaces the stored one."""

    name: Name | None = None
    run_configuration: RunConfiguration | None = None

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data,
            (*EVALUATION_UPDATE_FIELDS, "type"),
            "cannot be set on a RUN_EXPERIMENT task, which takes name and run_configuration only",
        )

    @model_validator(mode="after")
    def _rules(self) -> UpdateRunExperimentTaskRequest:
        if not self.model_fields_set:
            raise ValueError("at least one field is required: name or run_configuration")
        for field in ("name", "run_configuration"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; omit it to leave it unchanged")
        return self


class TriggerEvaluationTaskRunRequest(RequestModel):
    """``POST /v2/tasks/{id}/trigger`` of an evaluation task; ``{}`` uses the server defaults."""

    data_start_time: Timestamp | None = None
    data_end_time: Timestamp | None = None
    max_spans: StrictInt | None = Field(default=None, ge=1)
    override_evaluations: StrictBool | None = None
    experiment_ids: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data,
            tuple(f for f in RUN_EXPERIMENT_TRIGGER_FIELDS if f not in EVALUATION_TRIGGER_FIELDS),
            "applies only to RUN_EXPERIMENT tasks; an evaluation task's trigger takes data_start_time, "
            "data_end_time, max_spans, override_evaluations and experiment_ids",
        )


_EXPERIMENT_NAME = re.compile(r'^[^"\\]*$')


class TriggerRunExperimentTaskRunRequest(RequestModel):
    """``POST /v2/tasks/{id}/trigger`` of a ``RUN_EXPERIMENT`` task: creates experiment ``experiment_name``."""

    experiment_name: Name
    dataset_version_id: str | None = None
    example_ids: list[str] | None = None
    max_examples: StrictInt | None = Field(default=None, ge=1)
    query_filter: str | None = None
    tracing_metadata: dict[str, str] | None = None
    evaluation_task_ids: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _foreign_fields(cls, data: Any) -> Any:
        return _reject_foreign(
            data,
            EVALUATION_TRIGGER_FIELDS,
            "applies only to evaluation tasks; a RUN_EXPERIMENT trigger takes experiment_name, dataset_version_id, "
            "example_ids or max_examples, query_filter, tracing_metadata and evaluation_task_ids",
        )

    @field_validator("experiment_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _EXPERIMENT_NAME.match(value):
            raise ValueError('must not contain double quotes (") or backslashes (\\)')
        return value

    @model_validator(mode="after")
    def _rules(self) -> TriggerRunExperimentTaskRunRequest:
        if self.example_ids is not None and self.max_examples is not None:
            raise ValueError("example_ids and max_examples are mutually exclusive; send at most one")
        return self


# ---------------------------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------------------------


class TaskQueryFilter(ResponseModel):
    """One named query of a trace/session task."""

    id: str | None = None
    filter: str | None = None


class TaskQueryFilters(ResponseModel):
    """A trace/session task's queries; ``expression`` is ``"A"`` when one filter was created without one."""

    filters: list[TaskQueryFilter] | None = None
    expression: str | None = None


class TaskQueryMapping(ResponseModel):
    """One variable → queries + attribute mapping of a trace/session evaluator."""

    variable_name: str | None = None
    query_ids: list[str] | None = None
    attribute_path: str | None = None


class TaskEvaluator(ResponseModel):
    """An evaluator attached to a task; ``evaluator_version_id`` null means "latest version"."""

    evaluator_id: str
    evaluator_name: str | None = None
    evaluator_version_id: str | None = None
    query_filter: str | None = None
    column_mappings: dict[str, str] | None = None
    query_mappings: list[TaskQueryMapping] | None = None


def _none_as_empty(value: Any) -> Any:
    # AX documents these lists as empty where they do not apply; a null there must not break parsing.
    return [] if value is None else value


class Task(ResponseModel):
    """A task: evaluators on a project or dataset, or a run-experiment configuration on a dataset."""

    id: str
    name: str
    type: TaskType
    project_id: str | None = None
    dataset_id: str | None = None
    sampling_rate: float | None = None
    is_continuous: bool | None = None
    query_filter: str | None = None
    query_filters: TaskQueryFilters | None = None
    evaluators: Annotated[list[TaskEvaluator], BeforeValidator(_none_as_empty)] = Field(default_factory=list)
    experiment_ids: Annotated[list[str], BeforeValidator(_none_as_empty)] = Field(default_factory=list)
    run_configuration: dict[str, Any] | None = None
    last_run_at: Timestamp | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    created_by_user_id: str | None = None


class TaskList(ResponseModel):
    """``GET /v2/tasks``."""

    tasks: list[Task]
    pagination: Pagination


class TaskRun(ResponseModel):
    """One run of a task: its status, data window, counts and (for FAILED / CANCELLED) the reason."""

    id: str
    task_id: str
    experiment_id: str | None = None
    status: str
    run_started_at: Timestamp | None = None
    run_finished_at: Timestamp | None = None
    data_start_time: Timestamp | None = None
    data_end_time: Timestamp | None = None
    num_successes: int | None = None
    num_errors: int | None = None
    num_skipped: int | None = None
    created_at: Timestamp | None = None
    created_by_user_id: str | None = None
    failure_reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the run is COMPLETED, FAILED or CANCELLED (compared case-insensitively, as AX's prose varies)."""
        return self.status.upper() in TERMINAL_RUN_STATUSES


class TaskRunList(ResponseModel):
    """``GET /v2/tasks/{id}/runs``."""

    task_runs: list[TaskRun]
    pagination: Pagination
