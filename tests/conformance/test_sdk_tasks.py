"""The official SDK creates, reads, updates, triggers and deletes tasks on the engine.

These tests check the tasks API surface, so the engine serves them with its task runner off: a trigger stores a
PENDING run that stays PENDING, and the SDK must parse it, list it, wait on it (bounded) and cancel it. Execution
through the SDK is covered by ``test_sdk_task_execution.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import ApiException, NotFoundException
from arize._generated.api_client.models.span_evaluator_input import SpanEvaluatorInput
from arize._generated.api_client.models.task_query_mapping_input import TaskQueryMappingInput
from arize._generated.api_client.models.trace_or_session_evaluator_input import TraceOrSessionEvaluatorInput
from arize.evaluators.types import CodeConfigRequest, DataGranularity, ManagedCodeConfigRequest, ManagedCodeEvaluator
from arize.experiments.types import ExperimentTaskFieldNames
from arize.tasks.types import (
    LlmGenerationRunConfig,
    RunStatus,
    Task,
    TaskEvaluatorInput,
    TaskQueryFilter,
    TaskQueryFilters,
    TaskType,
)

from tests.conformance.conftest import judge_template
from tests.conformance.test_sdk_datasets import QUESTIONS
from tests.conftest import LiveEngine, serve_engine

MAPPINGS = {"input": "attributes.input.value", "output": "attributes.output.value"}


@pytest.fixture
def live_engine(tmp_path: Path) -> Iterator[LiveEngine]:
    """The engine on loopback HTTP with its task runner off, so triggered runs stay PENDING."""
    with serve_engine(tmp_path / "live-engine", run_tasks=False) as served:
        yield served


def _judge(sdk: ArizeClient, space_id: str, ai_integration_id: str, name: str = "task-judge") -> str:
    created = sdk.evaluators.create_template_evaluator(
        name=name, space=space_id, commit_message="v1", template_config=judge_template(ai_integration_id)
    )
    return created.id


def _span_evaluator(evaluator_id: str, **kwargs: object) -> TaskEvaluatorInput:
    return TaskEvaluatorInput(SpanEvaluatorInput(evaluator_id=evaluator_id, **kwargs))


def _project_task(
    sdk: ArizeClient,
    space_id: str,
    ai_integration_id: str,
    *,
    project: str,
    name: str,
    judge: str = "task-judge",
    **options: Any,
) -> tuple[str, Task]:
    """A new project and a TEMPLATE_EVALUATION task on its spans, by project ID, with a new judge attached.

    Returns the judge's ID and the task.
    """
    project_id = sdk.projects.create(name=project, space=space_id).id
    judge_id = _judge(sdk, space_id, ai_integration_id, name=judge)
    task = sdk.tasks.create_evaluation_task(
        name=name,
        task_type=TaskType.TEMPLATE_EVALUATION,
        evaluators=[_span_evaluator(judge_id, column_mappings=MAPPINGS)],
        project=project_id,
        **options,
    )
    return judge_id, task


def test_a_project_task_is_created_listed_and_fetched_by_name(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    project = sdk.projects.create(name="support-bot", space=space_id)
    judge_id = _judge(sdk, space_id, ai_integration_id)
    task = sdk.tasks.create_evaluation_task(
        name="Prod hallucination",
        task_type=TaskType.TEMPLATE_EVALUATION,
        evaluators=[_span_evaluator(judge_id, column_mappings=MAPPINGS)],
        project="support-bot",
        space=space_id,
        sampling_rate=0.5,
        is_continuous=False,
        query_filter="span_kind = 'LLM'",
    )
    assert task.id and task.name == "Prod hallucination" and task.type == TaskType.TEMPLATE_EVALUATION
    assert task.project_id == project.id and task.dataset_id is None
    assert task.sampling_rate == 0.5 and task.is_continuous is False and task.query_filter == "span_kind = 'LLM'"
    assert task.run_configuration is None
    [attached] = task.evaluators or []
    assert attached.evaluator_id == judge_id and attached.evaluator_name == "task-judge"
    assert attached.column_mappings == MAPPINGS and attached.evaluator_version_id is None

    by_project = sdk.tasks.list(project="support-bot", space=space_id)
    assert by_project.pagination is not None
    assert [t.id for t in by_project.tasks or []] == [task.id]
    by_type = sdk.tasks.list(space=space_id, task_type=TaskType.CODE_EVALUATION)
    assert by_type.tasks == []

    fetched = sdk.tasks.get(task="Prod hallucination", space=space_id)
    assert fetched.id == task.id and fetched.created_at is not None


def test_an_update_changes_only_the_fields_sent_and_null_clears_the_filter(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    judge_id, task = _project_task(
        sdk,
        space_id,
        ai_integration_id,
        project="updatable",
        name="tunable",
        query_filter="status_code = 'ERROR'",
        sampling_rate=0.1,
    )
    updated = sdk.tasks.update(task=task.id or "", sampling_rate=1.0, query_filter=None, is_continuous=True)
    assert updated.sampling_rate == 1.0 and updated.query_filter is None and updated.is_continuous is True
    assert updated.name == "tunable" and [e.evaluator_id for e in updated.evaluators or []] == [judge_id]

    renamed = sdk.tasks.update(task="tunable", space=space_id, name="tuned")
    assert renamed.name == "tuned" and renamed.sampling_rate == 1.0


def test_a_trigger_stores_a_pending_run_that_is_listed_waited_on_and_cancelled(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    _, task = _project_task(sdk, space_id, ai_integration_id, project="triggered", name="backfill")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    run = sdk.tasks.trigger_run(task=task.id or "", data_start_time=start, max_spans=100)
    assert run.id and run.task_id == task.id and run.status == RunStatus.PENDING
    assert run.data_start_time == start and run.data_end_time is not None and run.data_end_time > start
    assert (run.num_successes, run.num_errors, run.num_skipped) == (0, 0, 0) and run.failure_reason is None

    pending = sdk.tasks.list_runs(task="backfill", space=space_id, status=RunStatus.PENDING)
    assert [r.id for r in pending.task_runs or []] == [run.id]
    assert sdk.tasks.get_run(run_id=run.id).status == RunStatus.PENDING
    assert sdk.tasks.get(task=task.id or "").last_run_at is not None

    with pytest.raises(TimeoutError, match="PENDING"):
        sdk.tasks.wait_for_run(run_id=run.id, poll_interval=0.05, timeout=0.2)

    cancelled = sdk.tasks.cancel_run(run_id=run.id)
    assert cancelled.status == RunStatus.CANCELLED and cancelled.id == run.id
    assert sdk.tasks.wait_for_run(run_id=run.id, poll_interval=0.05, timeout=5).status == RunStatus.CANCELLED
    assert sdk.tasks.list_runs(task=task.id or "", status=RunStatus.PENDING).task_runs == []


def test_a_dataset_code_evaluation_task_targets_experiments(sdk: ArizeClient, space_id: str) -> None:
    dataset = sdk.datasets.create(name="task-dataset", space=space_id, examples=QUESTIONS)
    examples = sdk.datasets.list_examples(dataset=dataset.id or "").examples or []
    experiment = sdk.experiments.create(
        name="to-score",
        dataset=dataset.id,
        experiment_runs=[{"example_id": e.id, "output": str(e.additional_properties["answer"])} for e in examples],
        task_fields=ExperimentTaskFieldNames(output="output", example_id="example_id"),
    )
    code = sdk.evaluators.create_code_evaluator(
        name="json-output",
        space=space_id,
        commit_message="v1",
        code_config=CodeConfigRequest(
            ManagedCodeConfigRequest(
                type="MANAGED",
                name="json_output",
                managed_evaluator=ManagedCodeEvaluator.JSON_PARSEABLE,
                variables=["output"],
            )
        ),
    )
    task = sdk.tasks.create_evaluation_task(
        name="score-experiments",
        task_type=TaskType.CODE_EVALUATION,
        evaluators=[_span_evaluator(code.id, column_mappings={"output": "output"})],
        dataset="task-dataset",
        space=space_id,
        experiment_ids=[experiment.id or ""],
    )
    assert task.type == TaskType.CODE_EVALUATION and task.dataset_id == dataset.id and task.project_id is None
    assert task.experiment_ids == [experiment.id]

    run = sdk.tasks.trigger_run(task=task.id or "", experiment_ids=[experiment.id or ""])
    assert run.status == RunStatus.PENDING and run.task_id == task.id
    assert [t.id for t in sdk.tasks.list(dataset=dataset.id).tasks or []] == [task.id]


def test_a_run_experiment_task_round_trips_its_run_configuration(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    dataset = sdk.datasets.create(name="generation-inputs", space=space_id, examples=QUESTIONS)
    config = {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": ai_integration_id,
        "model_name": "gpt-4o-mini",
        "messages": [{"role": "SYSTEM", "content": "Answer briefly."}, {"role": "USER", "content": "{question}"}],
        "input_variable_format": "F_STRING",
    }
    task = sdk.tasks.create_run_experiment_task(
        name="generate-answers", dataset=dataset.id or "", run_configuration=config
    )
    assert task.type == TaskType.RUN_EXPERIMENT and task.dataset_id == dataset.id
    assert isinstance(task.run_configuration, LlmGenerationRunConfig)
    assert task.run_configuration.ai_integration_id == ai_integration_id
    assert [m.content for m in task.run_configuration.messages or []] == ["Answer briefly.", "{question}"]

    renamed = sdk.tasks.update(task=task.id or "", name="generate")
    assert renamed.name == "generate" and isinstance(renamed.run_configuration, LlmGenerationRunConfig)

    run = sdk.tasks.trigger_run(task=task.id or "", experiment_name="gen-run-1", max_examples=2)
    assert run.status == RunStatus.PENDING and run.task_id == task.id and run.data_start_time is None


def test_a_deleted_task_is_gone_with_its_runs(sdk: ArizeClient, space_id: str, ai_integration_id: str) -> None:
    _, task = _project_task(sdk, space_id, ai_integration_id, project="ephemeral", name="short-lived")
    run = sdk.tasks.trigger_run(task=task.id or "", data_start_time=datetime.now(UTC) - timedelta(hours=1))
    sdk.tasks.delete(task="short-lived", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.tasks.get(task=task.id or "")
    with pytest.raises(NotFoundException):
        sdk.tasks.get_run(run_id=run.id or "")


def test_a_first_project_run_without_a_window_start_is_refused_naming_data_start_time(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    _, task = _project_task(sdk, space_id, ai_integration_id, project="windowless", name="needs-start")
    with pytest.raises(ApiException) as caught:
        sdk.tasks.trigger_run(task=task.id or "")
    assert caught.value.status in (400, 422)
    assert caught.value.data is not None and "data_start_time" in (caught.value.data.detail or "")
    assert sdk.tasks.list_runs(task=task.id or "").task_runs == []


def test_lists_accept_a_space_name_as_the_space_name_filter(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    judge_id, _ = _project_task(
        sdk, space_id, ai_integration_id, project="named-space", name="space-name-task", judge="space-name-judge"
    )
    # A space given by name is sent as ``space_name=default`` (a substring filter), not resolved to an ID.
    assert [t.name for t in sdk.tasks.list(space="default").tasks or []] == ["space-name-task"]
    assert [e.id for e in sdk.evaluators.list(space="default").evaluators or []] == [judge_id]
    assert sdk.tasks.list(space="no-such-space").tasks == []


def test_a_trace_shaped_task_round_trips_query_filters_and_query_mappings(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    project = sdk.projects.create(name="traced", space=space_id)
    config = judge_template(ai_integration_id)
    config.data_granularity = DataGranularity.TRACE
    judge = sdk.evaluators.create_template_evaluator(
        name="trace-judge", space=space_id, commit_message="v1", template_config=config
    )
    mappings = [
        TaskQueryMappingInput(variable_name="input", query_ids=["A"], attribute_path="attributes.input.value"),
        TaskQueryMappingInput(variable_name="output", query_ids=[], attribute_path="attributes.output.value"),
    ]
    task = sdk.tasks.create_evaluation_task(
        name="trace-task",
        task_type=TaskType.TEMPLATE_EVALUATION,
        evaluators=[TaskEvaluatorInput(TraceOrSessionEvaluatorInput(evaluator_id=judge.id, query_mappings=mappings))],
        project=project.id,
        query_filters=TaskQueryFilters(filters=[TaskQueryFilter(id="A", filter="span_kind = 'LLM'")]),
    )
    assert task.query_filter is None and task.query_filters is not None
    # A single filter created without an expression reads back with the synthesized expression "A".
    assert task.query_filters.expression == "A"
    assert [(f.id, f.filter) for f in task.query_filters.filters] == [("A", "span_kind = 'LLM'")]
    [attached] = task.evaluators or []
    assert attached.column_mappings is None
    assert [(m.variable_name, m.query_ids, m.attribute_path) for m in attached.query_mappings or []] == [
        ("input", ["A"], "attributes.input.value"),
        ("output", [], "attributes.output.value"),
    ]

    two = TaskQueryFilters(
        filters=[
            TaskQueryFilter(id="A", filter="span_kind = 'LLM'"),
            TaskQueryFilter(id="B", filter="status_code = 'ERROR'"),
        ],
        expression="A AND B",
    )
    updated = sdk.tasks.update(task=task.id or "", query_filters=two)
    assert updated.query_filters is not None and updated.query_filters.expression == "A AND B"
    assert [f.id for f in updated.query_filters.filters] == ["A", "B"]
