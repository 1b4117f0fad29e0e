"""Storage of tasks and task runs (their request bodies are checked by ``api.task_bodies``).

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
from datetime import datetime
from typing import Any

from ...models.tasks import (
    Task,
    TaskEvaluator,
    TaskQueryFilters,
    TaskQueryMapping,
    TaskRun,
)
from .annotations import LOCAL_ANNOTATOR
from .documents import EvaluationRunParameters, ExperimentRunParameters, TaskDoc, TaskRunDoc
from .objects import (
    StoredObject,
    document,
    get_object,
    insert_object,
    list_objects,
    require_object,
    update_document,
)

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "CONTINUOUS_CURSOR",
    "EXPERIMENT_KIND",
    "LOCAL_USER_ID",
    "TASK_KIND",
    "TASK_RUN_KIND",
    "active_run",
    "delete_task_records",
    "insert_run",
    "parse_time",
    "pending_runs",
    "require_run",
    "require_task",
    "run_model",
    "save_run",
    "task_model",
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
"""Task document key (``TaskDoc.continuous_cursor``), named for SQL that reads it with ``json_extract``."""
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
    doc = document(task, TaskDoc)
    evaluators = []
    for entry in doc.evaluators or []:
        evaluator = get_object(conn, EVALUATOR_KIND, entry.evaluator_num)
        mappings = entry.query_mappings
        evaluators.append(
            TaskEvaluator(
                evaluator_id=entry.evaluator_id,
                evaluator_name=evaluator.name if evaluator is not None else None,
                evaluator_version_id=entry.evaluator_version_id,
                query_filter=entry.query_filter,
                column_mappings=entry.column_mappings,
                query_mappings=[TaskQueryMapping.model_validate(m) for m in mappings] if mappings is not None else None,
            )
        )
    query_filters = doc.query_filters
    run_configuration = doc.run_configuration
    return Task(
        id=task.id,
        name=task.name or "",
        type=doc.type,
        project_id=doc.project_id,
        dataset_id=doc.dataset_id,
        sampling_rate=doc.sampling_rate,
        is_continuous=doc.is_continuous,
        query_filter=doc.query_filter,
        query_filters=TaskQueryFilters.model_validate(query_filters.to_body()) if query_filters is not None else None,
        evaluators=evaluators,
        experiment_ids=list(doc.experiment_ids or []),
        run_configuration=run_configuration.to_body() if run_configuration is not None else None,
        last_run_at=doc.last_run_at,
        created_at=task.created,
        updated_at=task.updated,
        created_by_user_id=doc.created_by_user_id,
    )


def run_model(conn: sqlite3.Connection, run: StoredObject) -> TaskRun:
    """The wire shape of a stored task run."""
    doc = document(run, TaskRunDoc)
    # Beyond AX's own fields (``TaskRun`` allows extra keys), shown only when there is something to show.
    extra: dict[str, Any] = {}
    if doc.notes:
        extra["notes"] = doc.notes
    if doc.errors_sample:
        extra["errors_sample"] = doc.errors_sample
    return TaskRun(
        id=run.id,
        task_id=doc.task_id or _id_of(conn, TASK_KIND, run.parent_num) or "",
        experiment_id=doc.experiment_id,
        status=doc.status,
        run_started_at=doc.run_started_at,
        run_finished_at=doc.run_finished_at,
        data_start_time=doc.data_start_time,
        data_end_time=doc.data_end_time,
        num_successes=doc.num_successes,
        num_errors=doc.num_errors,
        num_skipped=doc.num_skipped,
        created_at=run.created,
        created_by_user_id=doc.created_by_user_id,
        failure_reason=doc.failure_reason,
        **extra,
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
    parameters: EvaluationRunParameters | ExperimentRunParameters,
    data_start_time: str | None = None,
    data_end_time: str | None = None,
) -> StoredObject:
    """Store a new PENDING run of ``task`` (the trigger route, continuous ticks and chained runs all use this)."""
    doc = TaskRunDoc(
        task_id=task.id,
        task_type=document(task, TaskDoc).type,
        status="PENDING",
        experiment_id=None,
        experiment_num=None,
        run_started_at=None,
        run_finished_at=None,
        data_start_time=data_start_time,
        data_end_time=data_end_time,
        num_successes=0,
        num_errors=0,
        num_skipped=0,
        failure_reason=None,
        created_by_user_id=LOCAL_USER_ID,
        parameters=parameters.to_body(),
    )
    body = doc.to_body()
    return insert_object(conn, TASK_RUN_KIND, body=body, now=now, space_num=task.space_num, parent_num=task.num)


def save_run(conn: sqlite3.Connection, run: StoredObject, doc: TaskRunDoc, *, now: str) -> StoredObject:
    """Store a run's changed document (status, counts, times, failure_reason, experiment…)."""
    return update_document(conn, run, doc, now=now)


def delete_task_records(conn: sqlite3.Connection, task: StoredObject) -> None:
    """Delete a task's runs and the task itself (evaluation results it wrote stay on their records)."""
    conn.execute("DELETE FROM objects WHERE kind = ? AND parent_num = ?", (TASK_RUN_KIND, task.num))
    conn.execute("DELETE FROM objects WHERE num = ?", (task.num,))


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO 8601 timestamp as a datetime."""
    return datetime.fromisoformat(value) if value else None
