"""Storage and validation of tasks and task runs.

A task is a ``Task`` object in the space of its project or dataset, with that project or dataset as its parent.
Its document holds::

    type, project_id / project_num, dataset_id / dataset_num, sampling_rate, is_continuous,
    query_filter, query_filters ({filters, expression}), data_granularity (SPAN | TRACE | SESSION),
    evaluators: [{evaluator_id, evaluator_num, evaluator_version_id, evaluator_version_num,
                  query_filter, column_mappings, query_mappings}],
    experiment_ids / experiment_nums, run_configuration (RUN_EXPERIMENT only), last_run_at, created_by_user_id

A run is a ``TaskRun`` object whose parent is the task. Its document holds what the runner needs and what the
API returns::

    task_type, status, experiment_id / experiment_num, run_started_at, run_finished_at,
    data_start_time, data_end_time, num_successes, num_errors, num_skipped, failure_reason, created_by_user_id,
    parameters: evaluation tasks  {max_spans, override_evaluations, experiment_ids, experiment_nums}
                RUN_EXPERIMENT    {experiment_name, dataset_num, dataset_version_id, dataset_version_num,
                                   example_ids, max_examples, query_filter, tracing_metadata,
                                   evaluation_task_ids, evaluation_task_nums}

Evaluators are read straight from the ``objects`` table (``Evaluator`` with ``EvaluatorVersion`` children): the
evaluator's ``type`` and the version's ``template_config`` / ``code_config`` (its ``data_granularity``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..errors import FilterError, ProblemError
from ..models.tasks import (
    AgentCallRunConfig,
    LlmGenerationRunConfig,
    SpanEvaluatorInput,
    Task,
    TaskEvaluator,
    TaskQueryFilters,
    TaskQueryFiltersInput,
    TaskQueryMapping,
    TaskRun,
    TemplateEvaluationRunConfig,
    TraceOrSessionEvaluatorInput,
)
from .annotations import LOCAL_ANNOTATOR
from .filters import example_filter_sql, run_filter_sql, span_filter_sql
from .integrations import require_accessible_integration
from .objects import StoredObject, get_object, insert_object, list_objects, require_object, update_object

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "CONTINUOUS_CURSOR",
    "DEFAULT_MAX_SPANS",
    "EXPERIMENT_KIND",
    "LOCAL_USER_ID",
    "MAX_WINDOW_DAYS",
    "TASK_KIND",
    "TASK_RUN_KIND",
    "active_run",
    "check_example_filter",
    "check_query_filters",
    "check_task_filter",
    "delete_task_records",
    "insert_run",
    "parse_time",
    "pending_runs",
    "require_experiments",
    "require_run",
    "require_task",
    "resolve_evaluators",
    "resolve_run_configuration",
    "run_model",
    "task_model",
    "update_run",
]

TASK_KIND = "Task"
TASK_RUN_KIND = "TaskRun"
PROJECT_KIND = "Model"
DATASET_KIND = "Dataset"
DATASET_VERSION_KIND = "DatasetVersion"
EXPERIMENT_KIND = "Experiment"
EVALUATOR_KIND = "Evaluator"
EVALUATOR_VERSION_KIND = "EvaluatorVersion"

ACTIVE_RUN_STATUSES = ("PENDING", "RUNNING")
CONTINUOUS_CURSOR = "continuous_cursor"
"""Task document key: the ``received_at`` time from which the next continuous run takes newly received spans."""
RUN_EXTRA_FIELDS = ("notes", "errors_sample")
"""Run document fields the runner writes that the API returns beyond AX's own (``TaskRun`` allows extra keys):
``notes`` (what happened besides the counts, e.g. a resume after an engine restart) and ``errors_sample`` (the
last few per-record errors, each ``{record, evaluator, message}``)."""
DEFAULT_MAX_SPANS = 10_000
MAX_WINDOW_DAYS = 30
LOCAL_USER_ID = LOCAL_ANNOTATOR["id"]

# The evaluator type each evaluation task type runs.
EVALUATOR_TYPE_FOR_TASK = {"TEMPLATE_EVALUATION": "TEMPLATE", "CODE_EVALUATION": "CODE"}


def require_task(conn: sqlite3.Connection, task_id: str) -> StoredObject:
    """Load a task by global ID or raise a 404 problem."""
    return require_object(conn, TASK_KIND, task_id, label="task")


def require_run(conn: sqlite3.Connection, run_id: str) -> StoredObject:
    """Load a task run by global ID or raise a 404 problem."""
    return require_object(conn, TASK_RUN_KIND, run_id, label="task run")


def _id_of(conn: sqlite3.Connection, kind: str, num: int | None) -> str | None:
    found = get_object(conn, kind, num) if num is not None else None
    return found.id if found is not None else None


def task_model(conn: sqlite3.Connection, task: StoredObject) -> Task:
    """The wire shape of a stored task (evaluator names are read fresh, so a rename shows)."""
    doc = task.body
    evaluators = []
    for entry in doc.get("evaluators") or []:
        evaluator = get_object(conn, EVALUATOR_KIND, entry["evaluator_num"])
        mappings = entry.get("query_mappings")
        evaluators.append(
            TaskEvaluator(
                evaluator_id=entry["evaluator_id"],
                evaluator_name=evaluator.name if evaluator is not None else None,
                evaluator_version_id=entry.get("evaluator_version_id"),
                query_filter=entry.get("query_filter"),
                column_mappings=entry.get("column_mappings"),
                query_mappings=[TaskQueryMapping.model_validate(m) for m in mappings] if mappings is not None else None,
            )
        )
    query_filters = doc.get("query_filters")
    return Task(
        id=task.id,
        name=task.name or "",
        type=doc["type"],
        project_id=doc.get("project_id"),
        dataset_id=doc.get("dataset_id"),
        sampling_rate=doc.get("sampling_rate"),
        is_continuous=doc.get("is_continuous"),
        query_filter=doc.get("query_filter"),
        query_filters=TaskQueryFilters.model_validate(query_filters) if query_filters is not None else None,
        evaluators=evaluators,
        experiment_ids=list(doc.get("experiment_ids") or []),
        run_configuration=doc.get("run_configuration"),
        last_run_at=doc.get("last_run_at"),
        created_at=task.created,
        updated_at=task.updated,
        created_by_user_id=doc.get("created_by_user_id"),
    )


def run_model(conn: sqlite3.Connection, run: StoredObject) -> TaskRun:
    """The wire shape of a stored task run."""
    doc = run.body
    return TaskRun(
        id=run.id,
        task_id=doc.get("task_id") or _id_of(conn, TASK_KIND, run.parent_num) or "",
        experiment_id=doc.get("experiment_id"),
        status=doc["status"],
        run_started_at=doc.get("run_started_at"),
        run_finished_at=doc.get("run_finished_at"),
        data_start_time=doc.get("data_start_time"),
        data_end_time=doc.get("data_end_time"),
        num_successes=doc.get("num_successes", 0),
        num_errors=doc.get("num_errors", 0),
        num_skipped=doc.get("num_skipped", 0),
        created_at=run.created,
        created_by_user_id=doc.get("created_by_user_id"),
        failure_reason=doc.get("failure_reason"),
        **{key: doc[key] for key in RUN_EXTRA_FIELDS if doc.get(key)},
    )


def active_run(conn: sqlite3.Connection, task: StoredObject) -> StoredObject | None:
    """The task's PENDING or RUNNING run, if any."""
    row = conn.execute(
        "SELECT num FROM objects WHERE kind = ? AND parent_num = ? AND json_extract(body, '$.status') IN (?, ?)"
        " ORDER BY num DESC LIMIT 1",
        (TASK_RUN_KIND, task.num, *ACTIVE_RUN_STATUSES),
    ).fetchone()
    return get_object(conn, TASK_RUN_KIND, row[0]) if row else None


def pending_runs(conn: sqlite3.Connection, *, limit: int = 100) -> list[StoredObject]:
    """PENDING runs, oldest first: the runner's queue."""
    runs, _ = list_objects(
        conn, TASK_RUN_KIND, limit=limit, newest_first=False, where=[("json_extract(body, '$.status') = ?", "PENDING")]
    )
    return runs


def insert_run(
    conn: sqlite3.Connection,
    task: StoredObject,
    *,
    now: str,
    parameters: dict[str, Any],
    data_start_time: str | None = None,
    data_end_time: str | None = None,
) -> StoredObject:
    """Store a new PENDING run of ``task`` (the trigger route, continuous ticks and chained runs all use this)."""
    doc: dict[str, Any] = {
        "task_id": task.id,
        "task_type": task.body["type"],
        "status": "PENDING",
        "experiment_id": None,
        "experiment_num": None,
        "run_started_at": None,
        "run_finished_at": None,
        "data_start_time": data_start_time,
        "data_end_time": data_end_time,
        "num_successes": 0,
        "num_errors": 0,
        "num_skipped": 0,
        "failure_reason": None,
        "created_by_user_id": LOCAL_USER_ID,
        "parameters": parameters,
    }
    return insert_object(conn, TASK_RUN_KIND, body=doc, now=now, space_num=task.space_num, parent_num=task.num)


def update_run(conn: sqlite3.Connection, run: StoredObject, *, now: str, **changes: Any) -> StoredObject:
    """Store new values for fields of a run's document (status, counts, times, failure_reason, experiment…)."""
    return update_object(conn, run, now=now, body={**run.body, **changes})


def delete_task_records(conn: sqlite3.Connection, task: StoredObject) -> None:
    """Delete a task's runs and the task itself (evaluation results it wrote stay on their records)."""
    conn.execute("DELETE FROM objects WHERE kind = ? AND parent_num = ?", (TASK_RUN_KIND, task.num))
    conn.execute("DELETE FROM objects WHERE num = ?", (task.num,))


# ---------------------------------------------------------------------------------------------------------------
# Validation helpers (each raises ProblemError with the status AX uses)
# ---------------------------------------------------------------------------------------------------------------


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


def check_query_filters(query_filters: TaskQueryFiltersInput | None) -> dict[str, Any] | None:
    """Validate each named query's filter; return the stored form (``expression`` synthesised as ``"A"``)."""
    if query_filters is None:
        return None
    for index, entry in enumerate(query_filters.filters):
        _compile(f"query_filters.filters[{index}].filter", entry.filter, span_filter_sql)
    filters = [{"id": f.id, "filter": f.filter} for f in query_filters.filters]
    expression = query_filters.expression if query_filters.expression is not None else filters[0]["id"]
    return {"filters": filters, "expression": expression}


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


def _evaluator_config(version: StoredObject) -> dict[str, Any]:
    for key in ("template_config", "code_config", "remote_config"):
        config = version.body.get(key)
        if isinstance(config, dict):
            return config
    return {}


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
) -> tuple[list[dict[str, Any]], str]:
    """Check a task's evaluator list and return its stored form and the common data granularity.

    Raises:
        ProblemError: 404 for an evaluator or version that does not exist in the space; 422 for a version of
            another evaluator, an evaluator of the wrong type, a granularity that does not fit the shape, or
            evaluators of different granularities; 400 for a bad filter or an undeclared query ID.
    """
    stored: list[dict[str, Any]] = []
    granularities: dict[str, str] = {}
    wanted_type = EVALUATOR_TYPE_FOR_TASK[task_type]
    for index, entry in enumerate(entries):
        where = f"evaluators[{index}]"
        evaluator = require_object(conn, EVALUATOR_KIND, entry.evaluator_id, label=f"{where}: evaluator")
        if evaluator.space_num != space_num:
            raise ProblemError(
                404, f"{where}: evaluator '{entry.evaluator_id}' was not found in the space of the task's data source"
            )
        evaluator_type = evaluator.body.get("type")
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
        granularity = str(_evaluator_config(version).get("data_granularity") or "SPAN").upper()
        doc: dict[str, Any] = {
            "evaluator_id": evaluator.id,
            "evaluator_num": evaluator.num,
            "evaluator_version_id": version.id if entry.evaluator_version_id is not None else None,
            "evaluator_version_num": version.num if entry.evaluator_version_id is not None else None,
            "query_filter": None,
            "column_mappings": None,
            "query_mappings": None,
        }
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
            doc["query_mappings"] = [m.model_dump(mode="json") for m in entry.query_mappings]
        else:
            if granularity != "SPAN":
                raise ProblemError(
                    422,
                    f"{where}: evaluator '{evaluator.name}' works on whole {granularity.lower()}s (data_granularity "
                    f"{granularity}); attach it with query_mappings and give the task query_filters",
                )
            check_task_filter(f"{where}.query_filter", entry.query_filter, dataset_based=dataset_based)
            doc["query_filter"] = entry.query_filter
            doc["column_mappings"] = entry.column_mappings
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
) -> dict[str, Any]:
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
    return stored


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO 8601 timestamp as a datetime."""
    return datetime.fromisoformat(value) if value else None
