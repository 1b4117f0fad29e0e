"""``/v2/tasks`` and ``/v2/task-runs``: tasks, triggers, runs and cancellation.

A trigger stores a PENDING run carrying every parameter the runner needs (see ``store.tasks``); executing it is
the runner's job. Readings of AX where the contract is silent, kept here in one place:

* A trigger while the task already has a PENDING or RUNNING run is a 409 (AX declares a 409 on trigger without
  naming its cause; this is our reading).
* A trigger sets the task's ``last_run_at`` at once: to the run's ``data_end_time`` for project tasks (so the
  next trigger's default start continues where this window ended), to the trigger time otherwise.
* ``data_start_time`` / ``data_end_time`` on a dataset-based task are a 400 (AX calls them "not applicable"; we
  say so instead of ignoring them).
* An ``AGENT_CALL`` run configuration is stored, but triggering it is a 422: it calls an agent integration of
  Arize AX that the local engine cannot reach.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models._base import iso
from ....models.tasks import (
    DEFAULT_MAX_SPANS,
    EVALUATION_TASK_TYPES,
    MAX_RUN_WINDOW,
    CreateEvaluationTaskRequest,
    CreateRunExperimentTaskRequest,
    Task,
    TaskRun,
    TaskType,
    TriggerEvaluationTaskRunRequest,
    TriggerRunExperimentTaskRunRequest,
    UpdateEvaluationTaskRequest,
    UpdateRunExperimentTaskRequest,
    run_window_too_long,
)
from ...store.db import sql_chunks
from ...store.documents import EvaluationRunParameters, ExperimentRunParameters, TaskDoc, TaskRunDoc
from ...store.objects import (
    StoredObject,
    document,
    find_by_name,
    get_object,
    insert_object,
    list_objects,
    other_named,
    require_object,
    update_document,
)
from ...store.spans import require_span_time
from ...store.tasks import (
    ACTIVE_RUN_STATUSES,
    DATASET_KIND,
    DATASET_VERSION_KIND,
    EXPERIMENT_KIND,
    LOCAL_USER_ID,
    PROJECT_KIND,
    TASK_KIND,
    TASK_RUN_KIND,
    active_run,
    delete_task_records,
    insert_run,
    parse_time,
    require_run,
    require_task,
    run_model,
    save_run,
    task_model,
)
from ..context import EngineContext, engine_of
from ..http import describe_validation_error, json_response, query_str, read_body, read_limit
from ..object_routes import (
    delete_route,
    object_page_response,
    object_route,
    resource_routes,
    space_list_params,
    space_objects_response,
    write_response,
)
from ..task_bodies import (
    check_example_filter,
    check_query_filters,
    check_task_filter,
    require_experiments,
    resolve_evaluators,
    resolve_run_configuration,
)

__all__ = ["routes"]

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=BaseModel)
X = TypeVar("X", bound=BaseModel)

TASK_TYPES = ("TEMPLATE_EVALUATION", "CODE_EVALUATION", "RUN_EXPERIMENT")
RUN_STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
CANCEL_REASON = "Cancelled by user."


class _TypeProbe(BaseModel):
    """Reads ``type`` first, so the rest of a create body is checked against the right shape."""

    model_config = ConfigDict(extra="allow")
    type: TaskType


class _JsonObject(BaseModel):
    model_config = ConfigDict(extra="allow")


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(400, describe_validation_error(exc)) from None


def _raw(probe: BaseModel) -> dict[str, Any]:
    return probe.model_dump(mode="python")


async def _body_for_task_type(
    request: Request, evaluation: type[E], experiment: type[X], *, optional: bool = False
) -> tuple[str, E | X]:
    """The path's task ID and the request body, checked against the shape for that task's type."""
    task_id = request.path_params["task_id"]
    engine = engine_of(request)
    task_type = await engine.store.read(lambda conn: document(require_task(conn, task_id), TaskDoc).type)
    raw = _raw(await read_body(request, _JsonObject, optional=optional))
    if task_type == "RUN_EXPERIMENT":
        return task_id, _validate(experiment, raw)
    return task_id, _validate(evaluation, raw)


def _store_body(conn: sqlite3.Connection, obj: StoredObject, doc: TaskDoc) -> None:
    # last_run_at is bookkeeping of runs, not an edit of the task, so updated_at stays as it was.
    body = doc.to_body()
    obj.body = body
    conn.execute("UPDATE objects SET body = ? WHERE num = ?", (json.dumps(body), obj.num))


def _check_unique_name(conn: sqlite3.Connection, name: str, space_num: int | None, task_num: int | None = None) -> None:
    other = other_named(conn, TASK_KIND, name, space_num=space_num, own_num=task_num)
    if other is not None:
        raise ProblemError(409, f"a task named '{name}' already exists in this space ({other.id}); pick another name")


def _source(conn: sqlite3.Connection, task: StoredObject, kind: str, num: int | None, what: str) -> StoredObject:
    found = get_object(conn, kind, num) if num is not None else None
    if found is None:
        raise ProblemError(
            422, f"the {what} of task '{task.name}' no longer exists; delete the task or create a new one"
        )
    return found


# ---------------------------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------------------------


async def list_tasks(request: Request) -> Response:
    limit, spaces = read_limit(request), space_list_params(request)
    task_type = query_str(request, "type")
    project_id, dataset_id = query_str(request, "project_id"), query_str(request, "dataset_id")
    if task_type is not None and task_type not in TASK_TYPES:
        raise ProblemError(400, f"type must be one of {', '.join(TASK_TYPES)}, got {task_type!r}")

    def where(conn: sqlite3.Connection) -> list[tuple[str, Any]]:
        where: list[tuple[str, Any]] = []
        if project_id is not None:
            project = require_object(conn, PROJECT_KIND, project_id, label="project")
            where.append(("json_extract(body, '$.project_num') = ?", project.num))
        if dataset_id is not None:
            dataset = require_object(conn, DATASET_KIND, dataset_id, label="dataset")
            where.append(("json_extract(body, '$.dataset_num') = ?", dataset.num))
        if task_type is not None:
            where.append(("json_extract(body, '$.type') = ?", task_type))
        return where

    return await space_objects_response(
        request,
        TASK_KIND,
        "tasks",
        scope="tasks",
        render=task_model,
        limit=limit,
        spaces=spaces,
        where=where,
        scope_params=(task_type, project_id, dataset_id),
    )


get_task = object_route("task_id", require_task, task_model)


def _evaluation_task_doc(
    conn: sqlite3.Connection, body: CreateEvaluationTaskRequest, now: str
) -> tuple[TaskDoc, StoredObject]:
    dataset_based = body.dataset_id is not None
    if dataset_based:
        source = require_object(conn, DATASET_KIND, body.dataset_id or "", label="dataset_id: dataset")
    else:
        source = require_object(conn, PROJECT_KIND, body.project_id or "", label="project_id: project")
    _check_unique_name(conn, body.name, source.space_num)
    check_task_filter("query_filter", body.query_filter, dataset_based=dataset_based)
    query_filters = check_query_filters(body.query_filters)
    query_ids = {f.id for f in query_filters.filters} if query_filters else set()
    evaluators, granularity = resolve_evaluators(
        conn,
        body.evaluators,
        task_type=body.type,
        space_num=source.space_num,
        dataset_based=dataset_based,
        query_ids=query_ids,
    )
    experiments = (
        require_experiments(conn, "experiment_ids", body.experiment_ids or [], source) if dataset_based else []
    )
    doc = TaskDoc(
        type=body.type,
        project_id=None if dataset_based else source.id,
        project_num=None if dataset_based else source.num,
        dataset_id=source.id if dataset_based else None,
        dataset_num=source.num if dataset_based else None,
        sampling_rate=None if dataset_based else (body.sampling_rate if body.sampling_rate is not None else 1.0),
        is_continuous=bool(body.is_continuous),
        query_filter=body.query_filter,
        query_filters=query_filters,
        data_granularity=granularity,
        evaluators=evaluators,
        experiment_ids=[e.id for e in experiments],
        experiment_nums=[e.num for e in experiments],
        run_configuration=None,
        last_run_at=None,
        created_by_user_id=LOCAL_USER_ID,
    )
    if doc.is_continuous:
        doc.continuous_cursor = now
    return doc, source


def _run_experiment_task_doc(
    conn: sqlite3.Connection, body: CreateRunExperimentTaskRequest
) -> tuple[TaskDoc, StoredObject]:
    dataset = require_object(conn, DATASET_KIND, body.dataset_id, label="dataset_id: dataset")
    _check_unique_name(conn, body.name, dataset.space_num)
    doc = TaskDoc(
        type="RUN_EXPERIMENT",
        project_id=None,
        project_num=None,
        dataset_id=dataset.id,
        dataset_num=dataset.num,
        sampling_rate=None,
        is_continuous=False,
        query_filter=None,
        query_filters=None,
        data_granularity=None,
        evaluators=[],
        experiment_ids=[],
        experiment_nums=[],
        run_configuration=resolve_run_configuration(conn, body.run_configuration, space_num=dataset.space_num),
        last_run_at=None,
        created_by_user_id=LOCAL_USER_ID,
    )
    return doc, dataset


async def create_task(request: Request) -> Response:
    engine = engine_of(request)
    probe = await read_body(request, _TypeProbe)
    body: CreateEvaluationTaskRequest | CreateRunExperimentTaskRequest
    if probe.type == "RUN_EXPERIMENT":
        body = _validate(CreateRunExperimentTaskRequest, _raw(probe))
    else:
        body = _validate(CreateEvaluationTaskRequest, _raw(probe))

    def run(conn: sqlite3.Connection) -> Task:
        if isinstance(body, CreateRunExperimentTaskRequest):
            doc, source = _run_experiment_task_doc(conn, body)
        else:
            doc, source = _evaluation_task_doc(conn, body, engine.now())
        task = insert_object(
            conn,
            TASK_KIND,
            name=body.name,
            body=doc.to_body(),
            now=engine.now(),
            space_num=source.space_num,
            parent_num=source.num,
        )
        return task_model(conn, task)

    return await write_response(request, run, 201)


def _update_evaluation_task(
    conn: sqlite3.Connection, engine: EngineContext, task: StoredObject, body: UpdateEvaluationTaskRequest
) -> StoredObject:
    doc = document(task, TaskDoc)
    fields = body.model_fields_set
    dataset_based = doc.dataset_num is not None
    if body.name is not None:
        _check_unique_name(conn, body.name, task.space_num, task.num)
    if "sampling_rate" in fields:
        if dataset_based:
            raise ProblemError(400, "sampling_rate applies only to project-based tasks; this task runs on a dataset")
        doc.sampling_rate = body.sampling_rate
    if "is_continuous" in fields:
        if dataset_based and body.is_continuous:
            raise ProblemError(400, "is_continuous must be false for a dataset-based task; trigger runs instead")
        if body.is_continuous and not doc.is_continuous:
            # A continuous schedule starts from spans received from now on (backfill the past with a trigger).
            doc.continuous_cursor = engine.now()
        elif not body.is_continuous:
            doc.unset("continuous_cursor")
        doc.is_continuous = body.is_continuous
    if "query_filter" in fields:
        check_task_filter("query_filter", body.query_filter, dataset_based=dataset_based)
        doc.query_filter = body.query_filter
    if "query_filters" in fields:
        doc.query_filters = check_query_filters(body.query_filters)
    query_ids = {f.id for f in doc.query_filters.filters} if doc.query_filters else set()
    if body.evaluators is not None:
        doc.evaluators, doc.data_granularity = resolve_evaluators(
            conn,
            body.evaluators,
            task_type=doc.type,
            space_num=task.space_num,
            dataset_based=dataset_based,
            query_ids=query_ids,
        )
    else:
        for index, entry in enumerate(doc.evaluators or []):
            for mapping in entry.query_mappings or []:
                missing = sorted(set(mapping["query_ids"]) - query_ids)
                if missing:
                    raise ProblemError(
                        400,
                        f"query_filters: evaluators[{index}] maps variable '{mapping['variable_name']}' from query "
                        f"{', '.join(missing)}, which this change would leave undeclared; keep it or send new "
                        "evaluators as well",
                    )
    trace_shape = any(e.query_mappings is not None for e in doc.evaluators or [])
    if trace_shape and doc.query_filter is not None:
        raise ProblemError(
            400,
            "query_filter belongs to the span shape but the task's evaluators use the trace/session shape "
            "(query_mappings); send query_filter: null and use query_filters",
        )
    if not trace_shape and doc.query_filters is not None:
        raise ProblemError(
            400,
            "query_filters belongs to the trace/session shape but the task's evaluators use the span shape; "
            "send query_filters: null and use query_filter, or send evaluators with query_mappings",
        )
    return update_document(conn, task, doc, now=engine.now(), name=body.name)


async def update_task(request: Request) -> Response:
    engine = engine_of(request)
    task_id, body = await _body_for_task_type(request, UpdateEvaluationTaskRequest, UpdateRunExperimentTaskRequest)

    def run(conn: sqlite3.Connection) -> Task:
        task = require_task(conn, task_id)
        if isinstance(body, UpdateEvaluationTaskRequest):
            return task_model(conn, _update_evaluation_task(conn, engine, task, body))
        doc = document(task, TaskDoc)
        if body.name is not None:
            _check_unique_name(conn, body.name, task.space_num, task.num)
        if body.run_configuration is not None:
            doc.run_configuration = resolve_run_configuration(conn, body.run_configuration, space_num=task.space_num)
        return task_model(conn, update_document(conn, task, doc, now=engine.now(), name=body.name))

    return await write_response(request, run)


delete_task = delete_route("task_id", require_task, delete_task_records)


# ---------------------------------------------------------------------------------------------------------------
# Triggers
# ---------------------------------------------------------------------------------------------------------------


def _evaluation_trigger(
    conn: sqlite3.Connection, engine: EngineContext, task: StoredObject, body: TriggerEvaluationTaskRunRequest
) -> tuple[EvaluationRunParameters, str | None, str | None, str]:
    """Parameters, data window and the task's new ``last_run_at`` for an evaluation task's run."""
    doc = document(task, TaskDoc)
    now = engine.clock()
    if doc.dataset_num is not None:
        given = [f for f in ("data_start_time", "data_end_time") if getattr(body, f) is not None]
        if given:
            raise ProblemError(
                400,
                f"{' and '.join(given)}: a dataset-based task evaluates experiment runs, not a time window; omit "
                "the window (use experiment_ids to choose which experiments to evaluate)",
            )
        if body.experiment_ids is not None:
            if not body.experiment_ids:
                raise ProblemError(
                    400, "experiment_ids must list at least one experiment; omit it to use the task's experiments"
                )
            dataset = _source(conn, task, DATASET_KIND, doc.dataset_num, "dataset")
            experiments = require_experiments(conn, "experiment_ids", body.experiment_ids, dataset)
            experiment_ids, experiment_nums = [e.id for e in experiments], [e.num for e in experiments]
        else:
            experiment_ids, experiment_nums = list(doc.experiment_ids or []), list(doc.experiment_nums or [])
        start = end = None
        last_run_at = iso(now)
    else:
        if body.experiment_ids is not None:
            raise ProblemError(
                400, "experiment_ids applies only to dataset-based tasks; a project task evaluates a time window"
            )
        _source(conn, task, PROJECT_KIND, doc.project_num, "project")
        for label in ("data_start_time", "data_end_time"):
            if (given_time := getattr(body, label)) is not None:
                require_span_time(label, given_time)
        previous = parse_time(doc.last_run_at)
        start_time = body.data_start_time or previous
        if start_time is None:
            raise ProblemError(
                400,
                "data_start_time is required on the first run of a project task (it has never run, so there is no "
                "last run to continue from): pass the start of the window to evaluate, at most "
                f"{MAX_RUN_WINDOW.days} days before data_end_time",
            )
        end_time = body.data_end_time or now
        if start_time >= end_time:
            raise ProblemError(
                400,
                f"data_start_time ({iso(start_time)}) must be before data_end_time ({iso(end_time)})"
                + ("" if body.data_start_time else "; it defaulted to the task's last run, so pass data_start_time"),
            )
        if (days := run_window_too_long(start_time, end_time)) is not None:
            raise ProblemError(
                400,
                f"the data window {iso(start_time)} .. {iso(end_time)} spans {days:.1f} days; a run covers at most "
                f"{MAX_RUN_WINDOW.days} days: split the backfill into several runs"
                + ("" if body.data_start_time else " (data_start_time defaulted to the task's last run)"),
            )
        experiment_ids, experiment_nums = [], []
        start, end = iso(start_time), iso(end_time)
        last_run_at = end
    params = EvaluationRunParameters(
        max_spans=body.max_spans if body.max_spans is not None else DEFAULT_MAX_SPANS,
        override_evaluations=bool(body.override_evaluations),
        experiment_ids=experiment_ids,
        experiment_nums=experiment_nums,
    )
    return params, start, end, last_run_at


def _unknown_examples(conn: sqlite3.Connection, column: str, key: int, example_ids: list[str]) -> list[str]:
    known: set[str] = set()
    for chunk in sql_chunks(example_ids):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT example_id FROM dataset_examples WHERE {column} = ? AND example_id IN ({marks})", (key, *chunk)
        )
        known.update(row[0] for row in rows)
    return [e for e in example_ids if e not in known]


def _run_experiment_trigger(
    conn: sqlite3.Connection, task: StoredObject, body: TriggerRunExperimentTaskRunRequest
) -> ExperimentRunParameters:
    """Parameters for a ``RUN_EXPERIMENT`` task's run."""
    doc = document(task, TaskDoc)
    dataset = _source(conn, task, DATASET_KIND, doc.dataset_num, "dataset")
    config = doc.run_configuration
    if config is not None and config.experiment_type == "AGENT_CALL":
        raise ProblemError(
            422,
            "this task's run_configuration is AGENT_CALL, which calls an agent integration of Arize AX; the local "
            "engine cannot run it (use LLM_GENERATION or TEMPLATE_EVALUATION, or run this task on Arize AX)",
        )
    existing = find_by_name(conn, EXPERIMENT_KIND, body.experiment_name, parent_num=dataset.num)
    reserved = conn.execute(
        "SELECT 1 FROM objects WHERE kind = ? AND json_extract(body, '$.status') IN (?, ?)"
        " AND json_extract(body, '$.parameters.dataset_num') = ?"
        " AND json_extract(body, '$.parameters.experiment_name') = ?",
        (TASK_RUN_KIND, *ACTIVE_RUN_STATUSES, dataset.num, body.experiment_name),
    ).fetchone()
    if existing is not None or reserved is not None:
        raise ProblemError(
            409,
            f"experiment_name: dataset '{dataset.name}' already has an experiment named '{body.experiment_name}'"
            + (" (a pending run will create it)" if existing is None else f" ({existing.id})")
            + "; choose another name",
        )
    version: StoredObject | None
    if body.dataset_version_id is not None:
        version = require_object(
            conn, DATASET_VERSION_KIND, body.dataset_version_id, label="dataset_version_id: version"
        )
        if version.parent_num != dataset.num:
            raise ProblemError(
                422,
                f"dataset_version_id: version '{body.dataset_version_id}' belongs to another dataset, not to "
                f"'{dataset.name}'; omit it to use the latest version",
            )
    else:
        versions, _ = list_objects(conn, DATASET_VERSION_KIND, limit=1, parent_num=dataset.num)
        version = versions[0] if versions else None
    example_ids: list[str] | None = None
    if body.example_ids is not None:
        if not body.example_ids:
            raise ProblemError(400, "example_ids must list at least one example; omit it to use every example")
        example_ids = list(dict.fromkeys(body.example_ids))
        if version is not None:
            unknown = _unknown_examples(conn, "version_num", version.num, example_ids)
        else:
            unknown = _unknown_examples(conn, "dataset_num", dataset.num, example_ids)
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise ProblemError(
                422, f"example_ids: {len(unknown)} not in dataset '{dataset.name}' at this version: {shown}"
            )
    check_example_filter("query_filter", body.query_filter)
    evaluation_tasks: list[StoredObject] = []
    for index, evaluation_task_id in enumerate(body.evaluation_task_ids or []):
        other = require_task(conn, evaluation_task_id)
        other_doc = document(other, TaskDoc)
        if other_doc.type not in EVALUATION_TASK_TYPES:
            raise ProblemError(
                422,
                f"evaluation_task_ids[{index}]: task '{other.name}' is a {other_doc.type} task, not an evaluation task",
            )
        if other_doc.dataset_num != dataset.num:
            raise ProblemError(
                422,
                f"evaluation_task_ids[{index}]: task '{other.name}' does not evaluate dataset '{dataset.name}'; "
                "chain only dataset-based evaluation tasks on this task's dataset",
            )
        if all(t.num != other.num for t in evaluation_tasks):
            evaluation_tasks.append(other)
    return ExperimentRunParameters(
        experiment_name=body.experiment_name,
        dataset_num=dataset.num,
        dataset_version_id=version.id if version is not None else None,
        dataset_version_num=version.num if version is not None else None,
        example_ids=example_ids,
        max_examples=body.max_examples,
        query_filter=body.query_filter,
        tracing_metadata=body.tracing_metadata,
        evaluation_task_ids=[t.id for t in evaluation_tasks],
        evaluation_task_nums=[t.num for t in evaluation_tasks],
    )


async def trigger_task(request: Request) -> Response:
    engine = engine_of(request)
    task_id, body = await _body_for_task_type(
        request, TriggerEvaluationTaskRunRequest, TriggerRunExperimentTaskRunRequest, optional=True
    )

    def run(conn: sqlite3.Connection) -> TaskRun:
        task = require_task(conn, task_id)
        start = end = None
        params: EvaluationRunParameters | ExperimentRunParameters
        if isinstance(body, TriggerRunExperimentTaskRunRequest):
            params = _run_experiment_trigger(conn, task, body)
            last_run_at = engine.now()
        else:
            params, start, end, last_run_at = _evaluation_trigger(conn, engine, task, body)
        busy = active_run(conn, task)
        if busy is not None:
            busy_status = document(busy, TaskRunDoc).status
            raise ProblemError(
                409,
                f"task '{task.name}' already has a {busy_status} run ({busy.id}); wait for it to finish or "
                f"cancel it (POST /v2/task-runs/{busy.id}/cancel) before triggering another",
            )
        created = insert_run(conn, task, now=engine.now(), parameters=params, data_start_time=start, data_end_time=end)
        doc = document(task, TaskDoc)
        doc.last_run_at = last_run_at
        _store_body(conn, task, doc)
        return run_model(conn, created)

    response = await write_response(request, run, 201)
    engine.runner.notify()
    return response


# ---------------------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------------------


async def list_runs(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    limit = read_limit(request)
    status = query_str(request, "status")
    if status is not None:
        status = status.upper()
        if status not in RUN_STATUSES:
            raise ProblemError(400, f"status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        task = require_task(conn, task_id)
        where: list[tuple[str, Any]] = []
        if status is not None:
            where.append(("json_extract(body, '$.status') = ?", status))
        return list_objects(conn, TASK_RUN_KIND, limit=limit, after=after, parent_num=task.num, where=where)

    scope = f"task-runs|{task_id}|{status}"
    return await object_page_response(request, "task_runs", scope=scope, fetch=fetch, render=run_model)


get_run = object_route("run_id", require_run, run_model)


async def cancel_run(request: Request) -> Response:
    engine = engine_of(request)

    def run(conn: sqlite3.Connection) -> tuple[int, TaskRun]:
        task_run = require_run(conn, request.path_params["run_id"])
        doc = document(task_run, TaskRunDoc)
        status = doc.status
        if status not in ACTIVE_RUN_STATUSES:
            raise ProblemError(
                409,
                f"task run '{task_run.id}' is already {status}; only PENDING or RUNNING runs can be cancelled",
            )
        now = engine.now()
        doc.status, doc.run_finished_at, doc.failure_reason = "CANCELLED", now, CANCEL_REASON
        cancelled = save_run(conn, task_run, doc, now=now)
        return task_run.num, run_model(conn, cancelled)

    run_num, cancelled = await engine.store.write(run)
    # The runner stops the run within seconds and rewrites the reason with how far it got.
    engine.runner.request_cancel(run_num)
    return json_response(cancelled)


routes = [
    *resource_routes("/v2/tasks", "task_id", list_tasks, create_task, get_task, update_task, delete_task),
    Route("/v2/tasks/{task_id}/trigger", trigger_task, methods=["POST"]),
    Route("/v2/tasks/{task_id}/runs", list_runs, methods=["GET"]),
    Route("/v2/task-runs/{run_id}", get_run, methods=["GET"]),
    Route("/v2/task-runs/{run_id}/cancel", cancel_run, methods=["POST"]),
]
