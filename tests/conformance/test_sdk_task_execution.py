"""The official SDK's ``trigger_run`` + ``wait_for_run`` against the served engine, whose runner executes the runs.

The judge's AI integration points at the stub LLM server on 127.0.0.1 (provider CUSTOM or OPEN_AI with a
``base_url``), so every judge call stays on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from arize import ArizeClient
from arize._generated.api_client.models.span_evaluator_input import SpanEvaluatorInput
from arize.ai_integrations.types import AiIntegrationProvider
from arize.tasks.types import RunStatus, TaskEvaluatorInput, TaskType

from tests.conformance.conftest import PROVIDER_API_KEY, SpanSender, judge_template
from tests.conformance.test_sdk_datasets import QUESTIONS
from tests.stubs.llm_server import StubServer, serve_stub

MAPPINGS = {"input": "attributes.input.value", "output": "attributes.output.value"}


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(label="factual", expected_key=PROVIDER_API_KEY) as served:
        yield served


def _integration(sdk: ArizeClient, stub: StubServer, provider: AiIntegrationProvider, key: str) -> str:
    integration = sdk.ai_integrations.create(
        name=f"stub-{provider.value.lower()}",
        provider=provider,
        api_key=key,
        base_url=stub.openai_url,
        model_names=["stub-model"],
    )
    assert integration.id is not None
    return integration.id


def _backfill_task(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender, integration_id: str, project: str
) -> Callable[..., str]:
    sdk.projects.create(name=project, space=space_id)
    send_spans.send(project, ["first", "second", "third"])
    judge = sdk.evaluators.create_template_evaluator(
        name=f"{project}-judge", space=space_id, commit_message="v1", template_config=judge_template(integration_id)
    )
    task = sdk.tasks.create_evaluation_task(
        name=f"{project}-backfill",
        task_type=TaskType.TEMPLATE_EVALUATION,
        evaluators=[TaskEvaluatorInput(SpanEvaluatorInput(evaluator_id=judge.id, column_mappings=MAPPINGS))],
        project=project,
        space=space_id,
    )
    start = datetime.now(UTC) - timedelta(hours=1)

    def trigger(**options: object) -> str:
        run = sdk.tasks.trigger_run(task=task.id or "", data_start_time=start, **options)
        assert run.id is not None
        return run.id

    return trigger


def test_a_backfill_triggered_by_the_sdk_completes_with_the_right_counts_and_a_rerun_is_cancelled_0_0_0(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender, stub: StubServer
) -> None:
    integration_id = _integration(sdk, stub, AiIntegrationProvider.CUSTOM, PROVIDER_API_KEY)
    trigger = _backfill_task(sdk, space_id, send_spans, integration_id, "sdk-backfill")

    done = sdk.tasks.wait_for_run(run_id=trigger(), poll_interval=0.05, timeout=30)
    assert done.status == RunStatus.COMPLETED
    assert (done.num_successes, done.num_errors, done.num_skipped) == (3, 0, 0)
    assert done.run_started_at is not None and done.run_finished_at is not None and done.failure_reason is None
    assert stub.served == 3 and all(r.key_matches for r in stub.requests)

    again = sdk.tasks.wait_for_run(run_id=trigger(), poll_interval=0.05, timeout=30)
    assert again.status == RunStatus.CANCELLED
    assert (again.num_successes, again.num_errors, again.num_skipped) == (0, 0, 0)
    assert again.failure_reason is not None and "override_evaluations" in again.failure_reason

    rescored = sdk.tasks.wait_for_run(run_id=trigger(override_evaluations=True), poll_interval=0.05, timeout=30)
    assert (rescored.status, rescored.num_successes) == (RunStatus.COMPLETED, 3)


def test_rejected_credentials_end_the_run_failed_with_a_reason_and_no_key(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender, stub: StubServer
) -> None:
    wrong_key = "sk-wrong-key-for-the-stub-3f9a"
    integration_id = _integration(sdk, stub, AiIntegrationProvider.OPEN_AI, wrong_key)
    trigger = _backfill_task(sdk, space_id, send_spans, integration_id, "sdk-bad-key")

    done = sdk.tasks.wait_for_run(run_id=trigger(), poll_interval=0.05, timeout=30)

    assert done.status == RunStatus.FAILED and done.num_successes == 0
    assert done.failure_reason is not None and "rejected its credentials (401)" in done.failure_reason
    shown = json.dumps(done.to_dict(), default=str)
    assert wrong_key not in shown and PROVIDER_API_KEY not in shown


def test_a_run_experiment_task_triggered_by_the_sdk_creates_its_experiment(
    sdk: ArizeClient, space_id: str, stub: StubServer
) -> None:
    integration_id = _integration(sdk, stub, AiIntegrationProvider.CUSTOM, PROVIDER_API_KEY)
    dataset = sdk.datasets.create(name="sdk-generation", space=space_id, examples=QUESTIONS)
    config = {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": integration_id,
        "model_name": "stub-model",
        "messages": [{"role": "USER", "content": "{question}"}],
        "input_variable_format": "F_STRING",
    }
    task = sdk.tasks.create_run_experiment_task(name="sdk-generate", dataset=dataset.id or "", run_configuration=config)

    run = sdk.tasks.trigger_run(task=task.id or "", experiment_name="sdk-generated", max_examples=2)
    done = sdk.tasks.wait_for_run(run_id=run.id or "", poll_interval=0.05, timeout=30)

    assert (done.status, done.num_successes, done.num_errors) == (RunStatus.COMPLETED, 2, 0)
    assert done.experiment_id is not None
    experiment = sdk.experiments.get(experiment=done.experiment_id)
    assert experiment.name == "sdk-generated" and experiment.dataset_id == dataset.id
    runs = sdk.experiments.list_runs(experiment=done.experiment_id).experiment_runs or []
    assert sorted(r.output for r in runs) == ["factual", "factual"]
