"""Checking task request bodies against what is stored: filters that parse, experiments of the task's dataset,
evaluators the task can run, and run configurations whose references exist (each refusal a problem with the status
AX uses)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import FilterError, ProblemError
from ...models.tasks import (
    AgentCallRunConfig,
    LlmGenerationRunConfig,
    SpanEvaluatorInput,
    TaskQueryFiltersInput,
    TemplateEvaluationRunConfig,
    TraceOrSessionEvaluatorInput,
)
from ..query.filters import example_filter_sql, run_filter_sql, span_filter_sql
from ..store.documents import (
    EvaluatorDoc,
    EvaluatorVersionDoc,
    QueryFilterDoc,
    QueryFiltersDoc,
    RunConfigurationDoc,
    TaskEvaluatorDoc,
)
from ..store.integrations import require_accessible_integration
from ..store.objects import StoredObject, document, get_object, list_objects, require_object
from ..store.tasks import EVALUATOR_KIND, EVALUATOR_TYPE_FOR_TASK, EVALUATOR_VERSION_KIND, EXPERIMENT_KIND

__all__ = [
    "check_example_filter",
    "check_query_filters",
    "check_task_filter",
    "require_experiments",
    "resolve_evaluators",
    "resolve_run_configuration",
]


def _compile(field: str, text: str, compile_filter: Callable[[str], tuple[str, list[Any]]]) -> None:
    try:
        compile_filter(text)
    except FilterError as exc:
        raise ProblemError(400, f"{field}: {exc.detail}") from None


def check_task_filter(field: str, text: str | None, *, dataset_based: bool) -> None:
    """A task or evaluator ``query_filter``: over spans for project tasks, over experiment runs for dataset tasks."""
    if text is not None:
        _compile(field, text, run_filter_sql if dataset_based else span_filter_sql)


def check_example_filter(field: str, text: str | None) -> None:
    """A ``RUN_EXPERIMENT`` trigger's ``query_filter`` (over dataset examples)."""
    if text is not None:
        _compile(field, text, example_filter_sql)


def check_query_filters(query_filters: TaskQueryFiltersInput | None) -> QueryFiltersDoc | None:
    """Validate each named query's filter; return the stored form (``expression`` synthesised as ``"A"``)."""
    if query_filters is None:
        return None
    for index, entry in enumerate(query_filters.filters):
        _compile(f"query_filters.filters[{index}].filter", entry.filter, span_filter_sql)
    filters = [QueryFilterDoc(id=f.id, filter=f.filter) for f in query_filters.filters]
    expression = query_filters.expression if query_filters.expression is not None else filters[0].id
    return QueryFiltersDoc(filters=filters, expression=expression)


def require_experiments(
    conn: sqlite3.Connection, field: str, experiment_ids: Sequence[str], dataset: StoredObject
) -> list[StoredObject]:
    """Load experiments (404 if missing) that must belong to ``dataset`` (422 otherwise); duplicates collapse."""
    found: list[StoredObject] = []
    for index, experiment_id in enumerate(experiment_ids):
        experiment = require_object(conn, EXPERIMENT_KIND, experiment_id, label=f"{field}[{index}]: experiment")
        if experiment.parent_num != dataset.num:
            raise ProblemError(
                422,
                f"{field}[{index}]: experiment '{experiment_id}' belongs to another dataset, not to dataset "
                f"'{dataset.name}' ({dataset.id}); list experiments of this task's dataset",
            )
        if all(e.num != experiment.num for e in found):
            found.append(experiment)
    return found


def _latest_version(conn: sqlite3.Connection, evaluator: StoredObject) -> StoredObject | None:
    versions, _ = list_objects(conn, EVALUATOR_VERSION_KIND, limit=1, parent_num=evaluator.num)
    return versions[0] if versions else None


def resolve_evaluators(
    conn: sqlite3.Connection,
    entries: Sequence[SpanEvaluatorInput | TraceOrSessionEvaluatorInput],
    *,
    task_type: str,
    space_num: int | None,
    dataset_based: bool,
    query_ids: set[str],
) -> tuple[list[TaskEvaluatorDoc], str]:
    """Check a task's evaluator list and return its stored form and the common data granularity.

    Raises:
        ProblemError: 404 for an evaluator or version that does not exist in the space; 422 for a version of
            another evaluator, an evaluator of the wrong type, a granularity that does not fit the shape, or
            evaluators of different granularities; 400 for a bad filter or an undeclared query ID.
    """
    stored: list[TaskEvaluatorDoc] = []
    granularities: dict[str, str] = {}
    wanted_type = EVALUATOR_TYPE_FOR_TASK[task_type]
    for index, entry in enumerate(entries):
        where = f"evaluators[{index}]"
        evaluator = require_object(conn, EVALUATOR_KIND, entry.evaluator_id, label=f"{where}: evaluator")
        if evaluator.space_num != space_num:
            raise ProblemError(
                404, f"{where}: evaluator '{entry.evaluator_id}' was not found in the space of the task's data source"
            )
        evaluator_type = document(evaluator, EvaluatorDoc).type
        if evaluator_type != wanted_type:
            raise ProblemError(
                422,
                f"{where}: evaluator '{evaluator.name}' is a {evaluator_type} evaluator; a {task_type} task runs "
                f"{wanted_type} evaluators",
            )
        version: StoredObject | None
        if entry.evaluator_version_id is not None:
            version = require_object(
                conn, EVALUATOR_VERSION_KIND, entry.evaluator_version_id, label=f"{where}.evaluator_version_id: version"
            )
            if version.parent_num != evaluator.num:
                raise ProblemError(
                    422,
                    f"{where}.evaluator_version_id: version '{entry.evaluator_version_id}' belongs to another "
                    f"evaluator, not to '{evaluator.name}'; pin one of its own versions or omit it for the latest",
                )
        else:
            version = _latest_version(conn, evaluator)
            if version is None:
                raise ProblemError(422, f"{where}: evaluator '{evaluator.name}' has no version to run")
        granularity = document(version, EvaluatorVersionDoc).data_granularity()
        pinned = entry.evaluator_version_id is not None
        doc = TaskEvaluatorDoc(
            evaluator_id=evaluator.id,
            evaluator_num=evaluator.num,
            evaluator_version_id=version.id if pinned else None,
            evaluator_version_num=version.num if pinned else None,
            query_filter=None,
            column_mappings=None,
            query_mappings=None,
        )
        if isinstance(entry, TraceOrSessionEvaluatorInput):
            if dataset_based:
                raise ProblemError(
                    422,
                    f"{where}: a dataset-based task evaluates experiment runs one by one; use the span shape "
                    "(column_mappings) instead of query_mappings",
                )
            if granularity == "SPAN":
                raise ProblemError(
                    422,
                    f"{where}: evaluator '{evaluator.name}' works on single spans (data_granularity SPAN); "
                    "attach it with column_mappings, not query_mappings",
                )
            for m_index, mapping in enumerate(entry.query_mappings):
                unknown = sorted(set(mapping.query_ids) - query_ids)
                if unknown:
                    declared = ", ".join(sorted(query_ids)) or "none"
                    raise ProblemError(
                        400,
                        f"{where}.query_mappings[{m_index}].query_ids: {', '.join(unknown)} not declared in the "
                        f"task's query_filters (declared: {declared})",
                    )
            doc.query_mappings = [m.model_dump(mode="json") for m in entry.query_mappings]
        else:
            if granularity != "SPAN":
                raise ProblemError(
                    422,
                    f"{where}: evaluator '{evaluator.name}' works on whole {granularity.lower()}s (data_granularity "
                    f"{granularity}); attach it with query_mappings and give the task query_filters",
                )
            check_task_filter(f"{where}.query_filter", entry.query_filter, dataset_based=dataset_based)
            doc.query_filter = entry.query_filter
            doc.column_mappings = entry.column_mappings
        granularities[evaluator.name or evaluator.id] = granularity
        stored.append(doc)
    if len(set(granularities.values())) > 1:
        listed = ", ".join(f"'{name}' {value}" for name, value in granularities.items())
        raise ProblemError(
            422,
            f"evaluators: every evaluator of a task must work on the same data scope, got {listed}; "
            "split them into separate tasks",
        )
    return stored, next(iter(granularities.values()), "SPAN")


def resolve_run_configuration(
    conn: sqlite3.Connection,
    config: LlmGenerationRunConfig | TemplateEvaluationRunConfig | AgentCallRunConfig,
    *,
    space_num: int | None,
) -> RunConfigurationDoc:
    """Check a run configuration's references and return its stored form (``provider_parameters`` default ``{}``).

    Raises:
        ProblemError: 404 for an AI integration the space cannot use, or an evaluator version that does not exist.
    """
    if isinstance(config, LlmGenerationRunConfig | TemplateEvaluationRunConfig):
        space = get_object(conn, "Space", space_num) if space_num is not None else None
        if space is None:
            raise ProblemError(500, f"the task's data source refers to a missing space ({space_num})")
        try:
            require_accessible_integration(conn, config.ai_integration_id, space)
        except ProblemError as exc:
            raise ProblemError(exc.status, f"run_configuration.ai_integration_id: {exc.detail}") from None
    if isinstance(config, TemplateEvaluationRunConfig) and config.evaluator_version_id is not None:
        require_object(
            conn,
            EVALUATOR_VERSION_KIND,
            config.evaluator_version_id,
            label="run_configuration.evaluator_version_id: evaluator version",
        )
    stored = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(config, AgentCallRunConfig):
        stored.setdefault("provider_parameters", {})
    return RunConfigurationDoc.load(stored)
