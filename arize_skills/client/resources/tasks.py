"""``client.tasks``: tasks, their runs, triggers and waiting for a run to finish."""

from __future__ import annotations

import builtins
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

from ...errors import RunTimeoutError
from ...models._base import Pagination
from ...models.tasks import (
    EVALUATION_TRIGGER_FIELDS,
    AgentCallRunConfig,
    CreateEvaluationTaskRequest,
    CreateRunExperimentTaskRequest,
    CreateTaskRequest,
    LlmGenerationRunConfig,
    SpanEvaluatorInput,
    Task,
    TaskQueryFiltersInput,
    TaskRun,
    TaskRunStatus,
    TaskType,
    TemplateEvaluationRunConfig,
    TraceOrSessionEvaluatorInput,
    TriggerEvaluationTaskRunRequest,
    TriggerRunExperimentTaskRunRequest,
    UpdateEvaluationTaskRequest,
    UpdateRunExperimentTaskRequest,
)
from .._paginator import AsyncPaginator, Page
from .._resource import Resource
from .projects import space_params

__all__ = ["NOT_GIVEN", "NotGiven", "Tasks"]

M = TypeVar("M", bound=BaseModel)

EvaluatorEntry = SpanEvaluatorInput | TraceOrSessionEvaluatorInput | Mapping[str, Any]
RunConfigurationInput = LlmGenerationRunConfig | TemplateEvaluationRunConfig | AgentCallRunConfig | Mapping[str, Any]
OnPoll = Callable[[TaskRun], Awaitable[None] | None]

_CREATE_ADAPTER: TypeAdapter[CreateEvaluationTaskRequest | CreateRunExperimentTaskRequest] = TypeAdapter(
    CreateTaskRequest
)

# In the order ``trigger_run`` takes them, which its error lists (``RUN_EXPERIMENT_TRIGGER_FIELDS`` differs).
RUN_EXPERIMENT_TRIGGER_ARGS = (
    "experiment_name",
    "dataset_version_id",
    "max_examples",
    "example_ids",
    "query_filter",
    "tracing_metadata",
    "evaluation_task_ids",
)


class NotGiven:
    """The type of ``NOT_GIVEN``: "leave this field as it is" in ``update`` (``None`` clears a filter)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN = NotGiven()


def _plain(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(value)


class Tasks(Resource):
    """Tasks (evaluation and run-experiment), triggers, runs, cancellation and ``wait_for_run``.

    Anything that names a resource (task, project, dataset, evaluator, AI integration, experiment) takes its ID
    or its exact name; names are resolved in ``space`` (default: the client's space).
    """

    # -- listing and reading -----------------------------------------------------------------------------------

    def _lazy_list(
        self, key: str, model: type[M], resolve: Callable[[], Awaitable[tuple[str, dict[str, Any]]]]
    ) -> AsyncPaginator[M]:
        """A paginator whose path and parameters need name resolution, done once on the first fetch."""
        resolved: list[tuple[str, dict[str, Any]]] = []

        async def fetch(cursor: str | None) -> Page[M]:
            if not resolved:
                resolved.append(await resolve())
            path, params = resolved[0]
            query = {**params, **({"cursor": cursor} if cursor else {})}
            data = await self._request("GET", path, params=query)
            items = [model.model_validate(item) for item in data.get(key, [])]
            pagination = Pagination.model_validate(data.get("pagination") or {})
            return Page(items, pagination.has_more, pagination.next_cursor if pagination.has_more else None)

        return AsyncPaginator(fetch)

    def list(
        self,
        *,
        space: str | None = None,
        name: str | None = None,
        project: str | None = None,
        dataset: str | None = None,
        type: TaskType | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[Task]:
        """Tasks, optionally by space (ID, or name as a substring filter), name substring, project, dataset, type."""

        async def resolve() -> tuple[str, dict[str, Any]]:
            query: dict[str, Any] = {**space_params(space or self._client.space), "limit": limit}
            if name is not None:
                query["name"] = name
            if project is not None:
                query["project_id"] = await self._client.resolve.id_of("project", project, space=space)
            if dataset is not None:
                query["dataset_id"] = await self._client.resolve.id_of("dataset", dataset, space=space)
            if type is not None:
                query["type"] = type
            return "/v2/tasks", query

        return self._lazy_list("tasks", Task, resolve)

    async def get(self, task: str, *, space: str | None = None) -> Task:
        """One task, by ID or exact name."""
        task_id = await self._client.resolve.id_of("task", task, space=space)
        return await self._get_model(Task, f"/v2/tasks/{task_id}")

    # -- create / update / delete --------------------------------------------------------------------------------

    async def create(
        self,
        request: CreateEvaluationTaskRequest | CreateRunExperimentTaskRequest | None = None,
        *,
        name: str | None = None,
        type: TaskType | None = None,
        project: str | None = None,
        dataset: str | None = None,
        evaluators: Sequence[EvaluatorEntry] | None = None,
        experiment_ids: Sequence[str] | None = None,
        sampling_rate: float | None = None,
        is_continuous: bool | None = None,
        query_filter: str | None = None,
        query_filters: TaskQueryFiltersInput | Mapping[str, Any] | None = None,
        run_configuration: RunConfigurationInput | None = None,
        space: str | None = None,
    ) -> Task:
        """Create a task from a request model or from keyword arguments.

        Evaluation tasks (``TEMPLATE_EVALUATION`` / ``CODE_EVALUATION``) take ``evaluators`` and exactly one of
        ``project`` (spans; ``sampling_rate``, ``is_continuous``) or ``dataset`` (with ``experiment_ids``).
        ``RUN_EXPERIMENT`` tasks take ``dataset`` and ``run_configuration``. Names of the project, dataset,
        evaluators, experiments and AI integration are resolved to IDs.

        Raises:
            ValueError: both a request and keyword arguments, or a body that breaks the schema (checked before
                anything is sent).
            APIStatusError: the server refused it (409 duplicate name, 404 unknown reference, 422 rule).
        """
        fields: dict[str, Any] = {
            "name": name,
            "type": type,
            "project_id": project,
            "dataset_id": dataset,
            "evaluators": [_plain(e) for e in evaluators] if evaluators is not None else None,
            "experiment_ids": list(experiment_ids) if experiment_ids is not None else None,
            "sampling_rate": sampling_rate,
            "is_continuous": is_continuous,
            "query_filter": query_filter,
            "query_filters": _plain(query_filters) if query_filters is not None else None,
            "run_configuration": _plain(run_configuration) if run_configuration is not None else None,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        if request is not None:
            if body:
                raise ValueError(f"pass either a request model or keyword arguments, not both (got {', '.join(body)})")
            body = request.to_body()
        elif name is None or type is None:
            raise ValueError("name and type are required to create a task")
        _CREATE_ADAPTER.validate_python(body)
        body = await self._resolve_create_names(body, space)
        checked = _CREATE_ADAPTER.validate_python(body)
        return Task.model_validate(await self._request("POST", "/v2/tasks", body=checked.to_body()))

    async def _resolve_create_names(self, body: dict[str, Any], space: str | None) -> dict[str, Any]:
        resolve = self._client.resolve
        body = dict(body)
        if body.get("project_id") is not None:
            body["project_id"] = await resolve.id_of("project", body["project_id"], space=space)
        if body.get("dataset_id") is not None:
            body["dataset_id"] = await resolve.id_of("dataset", body["dataset_id"], space=space)
        if body.get("evaluators") is not None:
            body["evaluators"] = await self._resolve_evaluators(body["evaluators"], space)
        if body.get("experiment_ids"):
            body["experiment_ids"] = [
                await resolve.experiment_id(e, dataset=body.get("dataset_id"), space=space)
                for e in body["experiment_ids"]
            ]
        if body.get("run_configuration") is not None:
            body["run_configuration"] = await self._resolve_run_configuration(body["run_configuration"], space)
        return body

    async def _resolve_evaluators(self, entries: Sequence[Any], space: str | None) -> builtins.list[dict[str, Any]]:
        resolved = []
        for entry in entries:
            item = _plain(entry)
            if isinstance(item.get("evaluator_id"), str):
                item["evaluator_id"] = await self._client.resolve.id_of("evaluator", item["evaluator_id"], space=space)
            resolved.append(item)
        return resolved

    async def _resolve_run_configuration(self, config: Any, space: str | None) -> dict[str, Any]:
        item = _plain(config)
        if isinstance(item.get("ai_integration_id"), str):
            item["ai_integration_id"] = await self._client.resolve.id_of(
                "ai_integration", item["ai_integration_id"], space=space
            )
        return item

    async def update(
        self,
        task: str,
        *,
        space: str | None = None,
        name: str | NotGiven = NOT_GIVEN,
        sampling_rate: float | NotGiven = NOT_GIVEN,
        is_continuous: bool | NotGiven = NOT_GIVEN,
        query_filter: str | None | NotGiven = NOT_GIVEN,
        query_filters: TaskQueryFiltersInput | Mapping[str, Any] | None | NotGiven = NOT_GIVEN,
        evaluators: Sequence[EvaluatorEntry] | NotGiven = NOT_GIVEN,
        run_configuration: RunConfigurationInput | NotGiven = NOT_GIVEN,
    ) -> Task:
        """Change a task. Fields left out stay as they are; ``query_filter=None`` / ``query_filters=None`` clear.

        The task is read first to learn its type, as the official SDK does: evaluation tasks take ``name``,
        ``sampling_rate``, ``is_continuous``, ``query_filter``, ``query_filters`` and ``evaluators`` (which
        replaces the whole list, version pins included); ``RUN_EXPERIMENT`` tasks take ``name`` and
        ``run_configuration`` (which replaces the stored one).

        Raises:
            ValueError: nothing to change, or a field that does not apply to this task's type.
        """
        current = await self.get(task, space=space)
        given: dict[str, Any] = {
            key: value
            for key, value in {
                "name": name,
                "sampling_rate": sampling_rate,
                "is_continuous": is_continuous,
                "query_filter": query_filter,
                "query_filters": query_filters,
                "evaluators": evaluators,
                "run_configuration": run_configuration,
            }.items()
            if not isinstance(value, NotGiven)
        }
        if not given:
            raise ValueError("nothing to update: pass at least one field")
        body: dict[str, Any]
        if current.type == "RUN_EXPERIMENT":
            wrong = [k for k in given if k not in ("name", "run_configuration")]
            if wrong:
                raise ValueError(
                    f"{', '.join(wrong)} cannot be set on RUN_EXPERIMENT task '{current.name}'; "
                    "it takes name and run_configuration"
                )
            if "run_configuration" in given:
                given["run_configuration"] = await self._resolve_run_configuration(given["run_configuration"], space)
            body = UpdateRunExperimentTaskRequest.model_validate(given).to_body()
        else:
            if "run_configuration" in given:
                raise ValueError(
                    f"run_configuration applies only to RUN_EXPERIMENT tasks; '{current.name}' is {current.type}"
                )
            if given.get("query_filters") is not None:
                given["query_filters"] = _plain(given["query_filters"])
            if "evaluators" in given:
                given["evaluators"] = await self._resolve_evaluators(given["evaluators"], space)
            body = UpdateEvaluationTaskRequest.model_validate(given).to_body()
        return Task.model_validate(await self._request("PATCH", f"/v2/tasks/{current.id}", body=body))

    async def delete(self, task: str, *, space: str | None = None) -> None:
        """Delete a task and its runs (evaluation results already written stay)."""
        task_id = await self._client.resolve.id_of("task", task, space=space)
        await self._request("DELETE", f"/v2/tasks/{task_id}")

    # -- runs ------------------------------------------------------------------------------------------------------

    async def trigger_run(
        self,
        task: str,
        *,
        space: str | None = None,
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        max_spans: int | None = None,
        override_evaluations: bool | None = None,
        experiment_ids: Sequence[str] | None = None,
        experiment_name: str | None = None,
        dataset_version_id: str | None = None,
        max_examples: int | None = None,
        example_ids: Sequence[str] | None = None,
        query_filter: str | None = None,
        tracing_metadata: Mapping[str, str] | None = None,
        evaluation_task_ids: Sequence[str] | None = None,
    ) -> TaskRun:
        """Start a run of a task; returns the new run (PENDING). The request is never retried blindly.

        Evaluation tasks take ``data_start_time`` (required on a project task's first run), ``data_end_time``
        (default now; when only the start is given it is set to now here, as the ``ax`` CLI does),
        ``max_spans`` (default 10 000), ``override_evaluations`` and, for dataset tasks, ``experiment_ids``.
        ``RUN_EXPERIMENT`` tasks take ``experiment_name`` (required), ``dataset_version_id``, ``max_examples``
        or ``example_ids``, ``query_filter``, ``tracing_metadata`` and ``evaluation_task_ids``.

        Raises:
            ValueError: ``example_ids`` with ``max_examples``, a missing ``experiment_name``, or arguments that
                do not apply to this task's type.
        """
        if example_ids is not None and max_examples is not None:
            raise ValueError("example_ids and max_examples are mutually exclusive; pass at most one")
        args: dict[str, Any] = {
            "data_start_time": data_start_time,
            "data_end_time": data_end_time,
            "max_spans": max_spans,
            "override_evaluations": override_evaluations,
            "experiment_ids": list(experiment_ids) if experiment_ids is not None else None,
            "experiment_name": experiment_name,
            "dataset_version_id": dataset_version_id,
            "max_examples": max_examples,
            "example_ids": list(example_ids) if example_ids is not None else None,
            "query_filter": query_filter,
            "tracing_metadata": dict(tracing_metadata) if tracing_metadata is not None else None,
            "evaluation_task_ids": list(evaluation_task_ids) if evaluation_task_ids is not None else None,
        }
        given = {k: v for k, v in args.items() if v is not None}
        current = await self.get(task, space=space)
        body: dict[str, Any]
        if current.type == "RUN_EXPERIMENT":
            wrong = [k for k in given if k not in RUN_EXPERIMENT_TRIGGER_ARGS]
            if wrong:
                raise ValueError(
                    f"{', '.join(wrong)} do not apply to RUN_EXPERIMENT task '{current.name}'; it takes "
                    f"{', '.join(RUN_EXPERIMENT_TRIGGER_ARGS)}"
                )
            if experiment_name is None:
                raise ValueError("experiment_name is required to trigger a RUN_EXPERIMENT task")
            if "evaluation_task_ids" in given:
                given["evaluation_task_ids"] = [
                    await self._client.resolve.id_of("task", t, space=space) for t in given["evaluation_task_ids"]
                ]
            body = TriggerRunExperimentTaskRunRequest.model_validate(given).to_body()
        else:
            wrong = [k for k in given if k not in EVALUATION_TRIGGER_FIELDS]
            if wrong:
                raise ValueError(
                    f"{', '.join(wrong)} do not apply to {current.type} task '{current.name}'; it takes "
                    f"{', '.join(EVALUATION_TRIGGER_FIELDS)}"
                )
            if data_start_time is not None and data_end_time is None and current.project_id and not experiment_ids:
                given["data_end_time"] = datetime.now(UTC)
            if given.get("experiment_ids"):
                given["experiment_ids"] = [
                    await self._client.resolve.experiment_id(e, dataset=current.dataset_id, space=space)
                    for e in given["experiment_ids"]
                ]
            body = TriggerEvaluationTaskRunRequest.model_validate(given).to_body()
        data = await self._request("POST", f"/v2/tasks/{current.id}/trigger", body=body, idempotent=False)
        return TaskRun.model_validate(data)

    def list_runs(
        self, task: str, *, space: str | None = None, status: TaskRunStatus | None = None, limit: int = 50
    ) -> AsyncPaginator[TaskRun]:
        """A task's runs, newest first, optionally of one status."""

        async def resolve() -> tuple[str, dict[str, Any]]:
            task_id = await self._client.resolve.id_of("task", task, space=space)
            query: dict[str, Any] = {"limit": limit}
            if status is not None:
                query["status"] = status.upper()
            return f"/v2/tasks/{task_id}/runs", query

        return self._lazy_list("task_runs", TaskRun, resolve)

    async def get_run(self, run_id: str) -> TaskRun:
        """One task run: status, window, counts, ``failure_reason``."""
        return await self._get_model(TaskRun, f"/v2/task-runs/{run_id}")

    async def cancel_run(self, run_id: str) -> TaskRun:
        """Cancel a PENDING or RUNNING run (409 once it has finished)."""
        return TaskRun.model_validate(await self._request("POST", f"/v2/task-runs/{run_id}/cancel"))

    async def wait_for_run(
        self,
        run_id: str,
        *,
        poll_interval: float = 5.0,
        timeout: float = 600.0,
        on_poll: OnPoll | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> TaskRun:
        """Poll a run until it is COMPLETED, FAILED or CANCELLED and return it (FAILED / CANCELLED are returned,
        not raised: read ``failure_reason``).

        The first poll is immediate; then it sleeps ``min(poll_interval, time left)`` with the client's ``sleep``
        between polls. ``on_poll(run)`` (sync or async) sees every polled run, for progress reports. ``clock`` is
        the monotonic clock the deadline is measured on.

        Raises:
            ValueError: ``poll_interval`` or ``timeout`` is not a positive number.
            RunTimeoutError: the run was still PENDING / RUNNING at the deadline (it keeps running on the server).
        """
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not (isinstance(poll_interval, int | float) and math.isfinite(poll_interval) and poll_interval > 0):
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        sleep = self._client._core.sleep
        deadline = clock() + timeout
        while True:
            run = await self.get_run(run_id)
            if on_poll is not None:
                outcome = on_poll(run)
                if inspect.isawaitable(outcome):
                    await outcome
            if run.is_terminal:
                return run
            remaining = deadline - clock()
            if remaining <= 0:
                raise RunTimeoutError(
                    f"task run {run_id} did not reach a terminal state within {timeout:g}s (last status: "
                    f"{run.status}); it keeps running on the server: wait again, or cancel it with cancel_run",
                    run_id=run_id,
                    last_status=run.status,
                )
            await sleep(min(poll_interval, remaining))
