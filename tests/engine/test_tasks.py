"""Tasks and task runs on the engine, through the client: every create, update and trigger rule of AX."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.objects import get_object, update_object
from arize_skills.engine.store.tasks import pending_runs
from arize_skills.errors import (
    APIStatusError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from arize_skills.models._base import iso
from arize_skills.models.ids import decode_id
from arize_skills.models.tasks import CreateEvaluationTaskRequest, SpanEvaluatorInput, parse_query_expression

from .tasks_setup import (
    DatasetInfo,
    Evaluator,
    add_ai_integration,
    add_dataset,
    add_evaluator,
    add_space,
    llm_generation,
    span_task,
)


@dataclass
class Env:
    """One space with a project, two datasets, evaluators of every kind and an AI integration."""

    client: AsyncArizeClient
    engine: Engine
    project_id: str
    judge: Evaluator
    judge2: Evaluator
    code: Evaluator
    trace_judge: Evaluator
    session_judge: Evaluator
    data: DatasetInfo
    other_data: DatasetInfo
    integration_id: str

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.client.request("POST", "/v2/tasks", json_body=body)
        return result

    async def trigger(self, task_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.client.request("POST", f"/v2/tasks/{task_id}/trigger", json_body=body)
        return result

    async def task_names(self) -> list[str]:
        return sorted([t.name async for t in self.client.tasks.list()])


@pytest.fixture
async def env(client: AsyncArizeClient, engine: Engine) -> Env:
    project = await client.projects.create("chatbot")
    return Env(
        client=client,
        engine=engine,
        project_id=project.id,
        judge=await add_evaluator(client, "correctness"),
        judge2=await add_evaluator(client, "relevance", versions=2),
        code=await add_evaluator(client, "valid-json", kind="CODE"),
        trace_judge=await add_evaluator(client, "trace-quality", granularity="TRACE"),
        session_judge=await add_evaluator(client, "session-goal", granularity="SESSION"),
        data=await add_dataset(client, "questions", experiments=2),
        other_data=await add_dataset(client, "other"),
        integration_id=await add_ai_integration(client),
    )


def now() -> datetime:
    return datetime.now(UTC)


def dataset_task(env: Env, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "dataset-judge",
        "type": "TEMPLATE_EVALUATION",
        "dataset_id": env.data.id,
        "experiment_ids": [env.data.experiment_ids[0]],
        "evaluators": [{"evaluator_id": env.judge.id, "column_mappings": {"output": "output"}}],
    }
    body.update(extra)
    return body


def trace_task(env: Env, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "trace-judge",
        "type": "TEMPLATE_EVALUATION",
        "project_id": env.project_id,
        "query_filters": {"filters": [{"id": "A", "filter": "span_kind = 'LLM'"}]},
        "evaluators": [
            {
                "evaluator_id": env.trace_judge.id,
                "query_mappings": [
                    {"variable_name": "output", "query_ids": ["A"], "attribute_path": "attributes.output.value"}
                ],
            }
        ],
    }
    body.update(extra)
    return body


def run_experiment_task(env: Env, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "generate",
        "type": "RUN_EXPERIMENT",
        "dataset_id": env.data.id,
        "run_configuration": llm_generation(env.integration_id),
    }
    body.update(extra)
    return body


async def stored_run(engine: Engine, run_id: str) -> dict[str, Any]:
    decoded = decode_id(run_id)
    assert decoded is not None

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        found = get_object(conn, "TaskRun", decoded.number)
        assert found is not None
        return found.body

    return await engine.store.read(read)


async def set_run_status(engine: Engine, run_id: str, status: str) -> None:
    """What the runner will do: move a run to another status."""
    decoded = decode_id(run_id)
    assert decoded is not None

    def write(conn: sqlite3.Connection) -> None:
        found = get_object(conn, "TaskRun", decoded.number)
        assert found is not None
        update_object(conn, found, now=engine.now(), body={**found.body, "status": status})

    await engine.store.write(write)


# ---------------------------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------------------------


async def test_a_project_task_is_created_with_ax_defaults_and_reads_back_the_same(env: Env) -> None:
    created = await env.post(span_task(env.project_id, env.judge.id, query_filter="span_kind = 'LLM'"))
    decoded = decode_id(created["id"])
    assert decoded is not None and decoded.type_name == "Task"
    assert created["type"] == "TEMPLATE_EVALUATION"
    assert created["project_id"] == env.project_id and created["dataset_id"] is None
    assert created["sampling_rate"] == 1.0 and created["is_continuous"] is False
    assert created["query_filter"] == "span_kind = 'LLM'" and created["query_filters"] is None
    assert created["evaluators"] == [
        {
            "evaluator_id": env.judge.id,
            "evaluator_name": "correctness",
            "evaluator_version_id": None,
            "query_filter": None,
            "column_mappings": {"input": "attributes.input.value", "output": "attributes.output.value"},
            "query_mappings": None,
        }
    ]
    assert created["experiment_ids"] == [] and created["run_configuration"] is None
    assert created["last_run_at"] is None and created["created_by_user_id"]
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    assert await env.client.request("GET", f"/v2/tasks/{created['id']}") == created
    listed = await env.client.request("GET", "/v2/tasks")
    assert listed["tasks"] == [created]


async def test_a_continuous_sampled_task_keeps_its_sampling_rate_and_flag(env: Env) -> None:
    created = await env.post(span_task(env.project_id, env.judge.id, sampling_rate=0.25, is_continuous=True))
    assert created["sampling_rate"] == 0.25 and created["is_continuous"] is True


async def test_an_evaluator_can_be_pinned_to_one_of_its_versions(env: Env) -> None:
    body = span_task(env.project_id, env.judge2.id)
    body["evaluators"][0]["evaluator_version_id"] = env.judge2.version_ids[0]
    created = await env.post(body)
    assert created["evaluators"][0]["evaluator_version_id"] == env.judge2.version_ids[0]


async def test_a_dataset_task_keeps_its_experiments_and_has_no_sampling(env: Env) -> None:
    created = await env.post(dataset_task(env, experiment_ids=env.data.experiment_ids))
    assert created["dataset_id"] == env.data.id and created["project_id"] is None
    assert created["experiment_ids"] == env.data.experiment_ids
    assert created["sampling_rate"] is None and created["is_continuous"] is False


async def test_a_code_evaluation_task_runs_code_evaluators(env: Env) -> None:
    body = span_task(env.project_id, env.code.id, type="CODE_EVALUATION")
    created = await env.post(body)
    assert created["type"] == "CODE_EVALUATION" and created["evaluators"][0]["evaluator_name"] == "valid-json"


async def test_a_trace_task_echoes_a_synthesized_expression_for_a_single_filter(env: Env) -> None:
    created = await env.post(trace_task(env))
    assert created["query_filter"] is None
    assert created["query_filters"] == {"filters": [{"id": "A", "filter": "span_kind = 'LLM'"}], "expression": "A"}
    assert created["evaluators"][0]["query_mappings"] == [
        {"variable_name": "output", "query_ids": ["A"], "attribute_path": "attributes.output.value"}
    ]
    assert created["evaluators"][0]["column_mappings"] is None


async def test_a_trace_task_with_several_filters_keeps_their_expression(env: Env) -> None:
    filters = {
        "filters": [{"id": "A", "filter": "span_kind = 'LLM'"}, {"id": "B", "filter": "status_code = 'ERROR'"}],
        "expression": "A AND NOT (B)",
    }
    created = await env.post(trace_task(env, query_filters=filters))
    assert created["query_filters"] == filters


def _mutate(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is ...:
                body.pop(key, None)
            else:
                body[key] = value

    return apply


def _evaluator_change(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        body["evaluators"][0].update(changes)

    return apply


def _duplicate_evaluator(body: dict[str, Any]) -> None:
    body["evaluators"].append(dict(body["evaluators"][0]))


def _add_trace_evaluator(body: dict[str, Any]) -> None:
    body["evaluators"].append(
        {"evaluator_id": "x", "query_mappings": [{"variable_name": "v", "query_ids": [], "attribute_path": "a"}]}
    )


def _filters(filters: list[dict[str, str]], expression: str | None = None) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        body["query_filters"] = {"filters": filters, **({"expression": expression} if expression else {})}
        body["evaluators"] = [
            {
                "evaluator_id": body["evaluators"][0]["evaluator_id"],
                "query_mappings": [{"variable_name": "v", "query_ids": [], "attribute_path": "attributes.input.value"}],
            }
        ]

    return apply


LLM = {"id": "A", "filter": "span_kind = 'LLM'"}

SCHEMA_RULES = [
    pytest.param(_mutate(dataset_id="RGF0YXNldDo5OTk="), "exactly one of project_id", id="project-and-dataset"),
    pytest.param(_mutate(project_id=...), "exactly one of project_id", id="neither-project-nor-dataset"),
    pytest.param(
        _mutate(experiment_ids=["RXhwZXJpbWVudDox"]), "experiment_ids applies only", id="experiments-on-project"
    ),
    pytest.param(_mutate(sampling_rate=1.5), "sampling_rate", id="sampling-rate-above-1"),
    pytest.param(_mutate(sampling_rate=-0.1), "sampling_rate", id="sampling-rate-below-0"),
    pytest.param(_mutate(is_continuous="yes"), "is_continuous", id="continuous-not-bool"),
    pytest.param(_mutate(name=""), "name", id="empty-name"),
    pytest.param(_mutate(evaluators=[]), "evaluators", id="no-evaluators"),
    pytest.param(_mutate(evaluators=...), "evaluators", id="evaluators-missing"),
    pytest.param(_mutate(type="SQL_EVALUATION"), "type", id="unknown-type"),
    pytest.param(_mutate(type=...), "type", id="type-missing"),
    pytest.param(_mutate(colour="blue"), "colour: unknown field", id="unknown-field"),
    pytest.param(_mutate(run_configuration={}), "run_configuration: applies only to RUN_EXPERIMENT", id="run-config"),
    pytest.param(
        _mutate(query_filter="span_kind = 'LLM'", query_filters={"filters": [LLM]}),
        "mutually exclusive",
        id="filter-and-filters",
    ),
    pytest.param(_duplicate_evaluator, "listed more than once", id="duplicate-evaluator"),
    pytest.param(_add_trace_evaluator, "mix the span shape", id="shapes-mixed-across-evaluators"),
    pytest.param(
        _evaluator_change(query_mappings=[{"variable_name": "v", "query_ids": [], "attribute_path": "a"}]),
        "mixes the trace/session shape",
        id="shapes-mixed-in-one-evaluator",
    ),
    pytest.param(_mutate(query_filters={"filters": [LLM]}), "span shape", id="filters-with-span-evaluators"),
    pytest.param(
        _filters([LLM, {"id": "B", "filter": "status_code = 'OK'"}]), "expression is required", id="no-expression"
    ),
    pytest.param(_filters([LLM], "A AND C"), "not declared", id="expression-names-undeclared-id"),
    pytest.param(_filters([LLM], "A AND"), "expected", id="expression-does-not-parse"),
    pytest.param(_filters([LLM, dict(LLM)], "A"), "duplicate id", id="duplicate-filter-ids"),
    pytest.param(_filters([{"id": "F", "filter": "span_kind = 'LLM'"}]), "id", id="filter-id-out-of-range"),
    pytest.param(_filters([{"id": "A", "filter": "x" * 2001}]), "2000", id="filter-too-long"),
    pytest.param(_filters([LLM, {"id": "B", "filter": "name = 'x'"}], "A OR B" * 100), "512", id="long-expression"),
    pytest.param(_filters([]), "filters", id="no-filters"),
    pytest.param(_filters([LLM] + [{"id": c, "filter": "name = 'x'"} for c in "BCDEA"], "A"), "5", id="six-filters"),
    pytest.param(_mutate(query_filter="span_kind = = 'LLM'"), "query_filter: invalid filter", id="bad-task-filter"),
    pytest.param(_mutate(query_filter="   "), "query_filter", id="blank-task-filter"),
    pytest.param(
        _evaluator_change(query_filter="latency_ms >"),
        "evaluators[0].query_filter: invalid filter",
        id="bad-eval-filter",
    ),
    pytest.param(
        _filters([{"id": "A", "filter": "no_such_column = 1"}]),
        "query_filters.filters[0].filter",
        id="bad-named-filter",
    ),
    pytest.param(_evaluator_change(column_mappings={"input": 3}), "column_mappings", id="mapping-not-a-string"),
]


@pytest.mark.parametrize(("change", "message"), SCHEMA_RULES)
async def test_a_malformed_evaluation_task_is_a_400_naming_the_field_and_writes_nothing(
    env: Env, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    body = span_task(env.project_id, env.judge.id)
    change(body)
    with pytest.raises(BadRequestError) as caught:
        await env.post(body)
    assert message in (caught.value.detail or "")
    assert await env.task_names() == []


async def test_a_query_mapping_of_an_undeclared_query_is_a_400(env: Env) -> None:
    body = trace_task(env)
    body["evaluators"][0]["query_mappings"][0]["query_ids"] = ["B"]
    with pytest.raises(BadRequestError, match=r"query_ids: B not declared"):
        await env.post(body)


DATASET_RULES = [
    pytest.param({"experiment_ids": []}, "experiment_ids must list at least one", id="no-experiments"),
    pytest.param({"experiment_ids": ...}, "experiment_ids must list at least one", id="experiments-missing"),
    pytest.param({"sampling_rate": 0.5}, "sampling_rate applies only to project", id="sampling-rate"),
    pytest.param({"is_continuous": True}, "is_continuous must be false", id="continuous"),
]


@pytest.mark.parametrize(("changes", "message"), DATASET_RULES)
async def test_dataset_tasks_need_experiments_and_take_no_project_settings(
    env: Env, changes: dict[str, Any], message: str
) -> None:
    body = dataset_task(env)
    _mutate(**changes)(body)
    with pytest.raises(BadRequestError, match=message):
        await env.post(body)


async def test_a_dataset_task_may_say_is_continuous_false(env: Env) -> None:
    assert (await env.post(dataset_task(env, is_continuous=False)))["is_continuous"] is False


async def test_a_dataset_task_filter_is_checked_against_experiment_run_columns(env: Env) -> None:
    created = await env.post(dataset_task(env, query_filter="eval.quality.score < 0.5"))
    assert created["query_filter"] == "eval.quality.score < 0.5"
    with pytest.raises(BadRequestError, match="query_filter: invalid filter"):
        await env.post(dataset_task(env, name="other", query_filter="span_kind = = 'LLM'"))


async def test_experiments_of_another_dataset_are_a_422_and_unknown_ones_a_404(env: Env) -> None:
    with pytest.raises(UnprocessableEntityError, match="belongs to another dataset"):
        await env.post(dataset_task(env, experiment_ids=[env.other_data.experiment_ids[0]]))
    with pytest.raises(NotFoundError, match=r"experiment_ids\[0\]"):
        await env.post(dataset_task(env, experiment_ids=["RXhwZXJpbWVudDo5OTk5"]))


async def test_a_task_name_is_unique_in_its_space(env: Env) -> None:
    await env.post(span_task(env.project_id, env.judge.id, name="same"))
    with pytest.raises(ConflictError, match="already exists"):
        await env.post(dataset_task(env, name="same"))
    assert await env.task_names() == ["same"]


async def test_a_task_with_a_missing_project_dataset_or_evaluator_is_a_404(env: Env) -> None:
    with pytest.raises(NotFoundError, match="project"):
        await env.post(span_task("TW9kZWw6OTk5", env.judge.id))
    with pytest.raises(NotFoundError, match="dataset"):
        await env.post(dataset_task(env, dataset_id=env.project_id))
    with pytest.raises(NotFoundError, match=r"evaluators\[0\]"):
        await env.post(span_task(env.project_id, "RXZhbHVhdG9yOjk5OQ=="))
    with pytest.raises(NotFoundError, match="evaluator_version_id"):
        body = span_task(env.project_id, env.judge.id)
        body["evaluators"][0]["evaluator_version_id"] = "RXZhbHVhdG9yVmVyc2lvbjo5OTk="
        await env.post(body)


async def test_an_evaluator_of_another_space_is_not_found_from_the_task(env: Env) -> None:
    elsewhere = await add_space(env.client, "elsewhere")
    foreign = await add_evaluator(env.client, "foreign", space=elsewhere)
    with pytest.raises(NotFoundError, match="not found in the space"):
        await env.post(span_task(env.project_id, foreign.id))


def _version_of_another(env: Env, body: dict[str, Any]) -> None:
    body["evaluators"][0]["evaluator_version_id"] = env.judge2.version_ids[1]


def _code_evaluator(env: Env, body: dict[str, Any]) -> None:
    body["evaluators"][0]["evaluator_id"] = env.code.id


def _template_evaluator_on_code_task(env: Env, body: dict[str, Any]) -> None:
    body["type"] = "CODE_EVALUATION"


def _trace_evaluator_in_span_shape(env: Env, body: dict[str, Any]) -> None:
    body["evaluators"][0]["evaluator_id"] = env.trace_judge.id


def _span_evaluator_in_trace_shape(env: Env, body: dict[str, Any]) -> None:
    body.pop("query_filter", None)
    body["evaluators"] = trace_task(env)["evaluators"]
    body["query_filters"] = trace_task(env)["query_filters"]
    body["evaluators"][0]["evaluator_id"] = env.judge.id


def _trace_and_session(env: Env, body: dict[str, Any]) -> None:
    trace = trace_task(env)
    body["query_filters"] = trace["query_filters"]
    second = {**trace["evaluators"][0], "evaluator_id": env.session_judge.id}
    body["evaluators"] = [trace["evaluators"][0], second]


def _trace_shape_on_dataset(env: Env, body: dict[str, Any]) -> None:
    body.pop("project_id")
    body["dataset_id"] = env.data.id
    body["experiment_ids"] = env.data.experiment_ids[:1]
    trace = trace_task(env)
    body["evaluators"] = trace["evaluators"]
    body["query_filters"] = trace["query_filters"]


SEMANTIC_RULES = [
    pytest.param(_version_of_another, "belongs to another evaluator", id="version-of-another-evaluator"),
    pytest.param(_code_evaluator, "is a CODE evaluator", id="code-evaluator-on-template-task"),
    pytest.param(_template_evaluator_on_code_task, "is a TEMPLATE evaluator", id="template-evaluator-on-code-task"),
    pytest.param(_trace_evaluator_in_span_shape, "attach it with query_mappings", id="trace-evaluator-span-shape"),
    pytest.param(_span_evaluator_in_trace_shape, "attach it with column_mappings", id="span-evaluator-trace-shape"),
    pytest.param(_trace_and_session, "same data scope", id="trace-and-session-evaluators"),
    pytest.param(_trace_shape_on_dataset, "dataset-based task", id="trace-shape-on-dataset"),
]


@pytest.mark.parametrize(("change", "message"), SEMANTIC_RULES)
async def test_an_evaluator_that_does_not_fit_the_task_is_a_422(
    env: Env, change: Callable[[Env, dict[str, Any]], None], message: str
) -> None:
    body = span_task(env.project_id, env.judge.id)
    change(env, body)
    with pytest.raises(UnprocessableEntityError, match=message):
        await env.post(body)
    assert await env.task_names() == []


# ---------------------------------------------------------------------------------------------------------------
# RUN_EXPERIMENT tasks
# ---------------------------------------------------------------------------------------------------------------


async def test_a_run_experiment_task_stores_its_configuration_with_provider_defaults(env: Env) -> None:
    created = await env.post(run_experiment_task(env))
    assert created["type"] == "RUN_EXPERIMENT" and created["dataset_id"] == env.data.id
    assert created["evaluators"] == [] and created["experiment_ids"] == []
    assert created["run_configuration"] == {**llm_generation(env.integration_id), "provider_parameters": {}}
    assert created["is_continuous"] is False and created["sampling_rate"] is None


async def test_every_run_configuration_type_is_accepted(env: Env) -> None:
    judge = {
        "experiment_type": "TEMPLATE_EVALUATION",
        "ai_integration_id": env.integration_id,
        "template": "Is {{output}} correct?",
        "provide_explanation": True,
        "classification_choices": {"correct": 1, "incorrect": 0},
        "column_mapping": {"output": "answer"},
        "evaluator_version_id": env.judge.version_ids[0],
        "invocation_parameters": {
            "temperature": 0,
            "response_format": {"type": "JSON_SCHEMA", "json_schema": {"name": "v", "schema": {"type": "object"}}},
            "reasoning_effort": "xhigh",
            "stop": ["\n"],
        },
    }
    tools = llm_generation(
        env.integration_id,
        messages=[
            {"role": "SYSTEM", "content": "Be brief."},
            {
                "role": "ASSISTANT",
                "tool_calls": [{"id": "c1", "type": "FUNCTION", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "TOOL", "tool_call_id": "c1", "content": "42"},
        ],
        tool_config={"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto"},
        provider_parameters={"region": "eu"},
    )
    agent = {
        "experiment_type": "AGENT_CALL",
        "integration_id": "SW50ZWdyYXRpb246MQ==",
        "input_template": {"q": "{{q}}"},
    }
    for index, config in enumerate([judge, tools, agent]):
        created = await env.post(run_experiment_task(env, name=f"t{index}", run_configuration=config))
        expected = copy.deepcopy(config) if config is agent else {"provider_parameters": {}, **copy.deepcopy(config)}
        if config is judge:
            expected["invocation_parameters"]["response_format"]["json_schema"]["strict"] = False
        assert created["run_configuration"] == expected


RUN_EXPERIMENT_RULES = [
    pytest.param({"project_id": "TW9kZWw6MQ=="}, "project_id: not allowed on RUN_EXPERIMENT", id="project"),
    pytest.param({"evaluators": []}, "evaluators: not allowed", id="evaluators"),
    pytest.param({"experiment_ids": []}, "experiment_ids: not allowed", id="experiment-ids"),
    pytest.param({"sampling_rate": 1}, "sampling_rate: not allowed", id="sampling-rate"),
    pytest.param({"is_continuous": False}, "is_continuous: not allowed", id="continuous"),
    pytest.param({"query_filter": "name = 'x'"}, "query_filter: not allowed", id="query-filter"),
    pytest.param({"run_configuration": ...}, "run_configuration", id="no-run-configuration"),
    pytest.param({"dataset_id": ...}, "dataset_id", id="no-dataset"),
    pytest.param({"run_configuration": {"experiment_type": "BATCH"}}, "experiment_type", id="unknown-experiment-type"),
    pytest.param({"run_configuration": {"messages": []}}, "experiment_type", id="experiment-type-missing"),
]


@pytest.mark.parametrize(("changes", "message"), RUN_EXPERIMENT_RULES)
async def test_a_run_experiment_task_takes_only_its_own_fields(env: Env, changes: dict[str, Any], message: str) -> None:
    body = run_experiment_task(env)
    _mutate(**changes)(body)
    with pytest.raises(BadRequestError, match=message):
        await env.post(body)


def _config(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        _mutate(**changes)(config)

    return apply


RUN_CONFIGURATION_RULES = [
    pytest.param(_config(messages=[]), "messages", id="no-messages"),
    pytest.param(_config(input_variable_format=...), "input_variable_format", id="no-format"),
    pytest.param(_config(input_variable_format="JINJA"), "input_variable_format", id="bad-format"),
    pytest.param(_config(ai_integration_id=...), "ai_integration_id", id="no-integration"),
    pytest.param(_config(messages=[{"role": "HUMAN", "content": "x"}]), "role", id="bad-role"),
    pytest.param(
        _config(messages=[{"role": "ASSISTANT", "tool_calls": [{"type": "FUNCTION", "function": {"name": "f"}}]}]),
        "arguments",
        id="tool-call-without-arguments",
    ),
    pytest.param(
        _config(
            messages=[
                {"role": "ASSISTANT", "tool_calls": [{"type": "FUNCTION", "function": {"name": "f", "arguments": "{"}}]}
            ]
        ),
        "JSON string",
        id="tool-call-arguments-not-json",
    ),
    pytest.param(_config(invocation_parameters={"service_tier": "priority"}), "service_tier", id="service-tier"),
    pytest.param(_config(invocation_parameters={"thinking_level": "medium"}), "thinking_level", id="thinking-level"),
    pytest.param(_config(invocation_parameters={"reasoning_effort": "max"}), "reasoning_effort", id="effort"),
    pytest.param(_config(invocation_parameters={"verbosity": "loud"}), "verbosity", id="verbosity"),
    pytest.param(_config(invocation_parameters={"max_tokens": 0}), "max_tokens", id="max-tokens-zero"),
    pytest.param(
        _config(invocation_parameters={"response_format": {"type": "XML"}}), "response_format", id="response-format"
    ),
    pytest.param(
        _config(experiment_type="TEMPLATE_EVALUATION", template="Is {{x}} ok?"),
        "provide_explanation",
        id="judge-without-provide-explanation",
    ),
    pytest.param(
        _config(experiment_type="TEMPLATE_EVALUATION", template="", provide_explanation=False),
        "template",
        id="judge-empty-template",
    ),
    pytest.param(
        _config(experiment_type="AGENT_CALL", integration_id="x", input_template={}), "unknown field", id="agent-extra"
    ),
]


@pytest.mark.parametrize(("change", "message"), RUN_CONFIGURATION_RULES)
async def test_a_malformed_run_configuration_is_a_400_naming_the_field(
    env: Env, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    body = run_experiment_task(env)
    change(body["run_configuration"])
    with pytest.raises(BadRequestError, match=message):
        await env.post(body)


async def test_a_run_configuration_must_name_an_ai_integration_the_space_can_use(env: Env) -> None:
    with pytest.raises(NotFoundError, match="ai_integration_id"):
        await env.post(run_experiment_task(env, run_configuration=llm_generation("TGxtSW50ZWdyYXRpb246OTk5")))
    elsewhere = await add_space(env.client, "elsewhere")
    scoped = await env.client.request(
        "POST",
        "/v2/ai-integrations",
        json_body={"name": "scoped", "provider": "OPEN_AI", "scopings": [{"space_id": elsewhere}]},
    )
    with pytest.raises(NotFoundError, match="not accessible to this space"):
        await env.post(run_experiment_task(env, run_configuration=llm_generation(scoped["id"])))
    assert await env.task_names() == []


# ---------------------------------------------------------------------------------------------------------------
# List, get, delete
# ---------------------------------------------------------------------------------------------------------------


async def test_tasks_are_listed_by_project_dataset_type_and_name_and_paged(env: Env) -> None:
    for index in range(3):
        await env.post(span_task(env.project_id, env.judge.id, name=f"prod-{index}"))
    await env.post(dataset_task(env, name="offline"))
    await env.post(run_experiment_task(env, name="generate"))

    async def names(**params: Any) -> list[str]:
        data = await env.client.request("GET", "/v2/tasks", params=params)
        return [t["name"] for t in data["tasks"]]

    assert await names(project_id=env.project_id) == ["prod-2", "prod-1", "prod-0"]
    assert await names(dataset_id=env.data.id) == ["generate", "offline"]
    assert await names(type="RUN_EXPERIMENT") == ["generate"]
    assert await names(name="PROD-1") == ["prod-1"]
    assert await names(space_id=env.client.space, dataset_id=env.other_data.id) == []
    first = await env.client.request("GET", "/v2/tasks", params={"limit": 2})
    assert first["pagination"]["has_more"] is True
    walked = [t.name async for t in env.client.tasks.list(limit=2)]
    assert walked == ["generate", "offline", "prod-2", "prod-1", "prod-0"]
    with pytest.raises(BadRequestError, match="type must be one of"):
        await names(type="EVAL")
    with pytest.raises(NotFoundError, match="project"):
        await names(project_id="TW9kZWw6OTk5")


async def test_a_deleted_task_takes_its_runs_with_it(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    run = await env.trigger(task["id"], {"data_start_time": iso(now() - timedelta(days=1))})
    assert await env.client.request("DELETE", f"/v2/tasks/{task['id']}") is None
    with pytest.raises(NotFoundError, match="task"):
        await env.client.request("GET", f"/v2/tasks/{task['id']}")
    with pytest.raises(NotFoundError, match="task run"):
        await env.client.request("GET", f"/v2/task-runs/{run['id']}")
    with pytest.raises(NotFoundError):
        await env.client.request("DELETE", f"/v2/tasks/{task['id']}")


# ---------------------------------------------------------------------------------------------------------------
# PATCH
# ---------------------------------------------------------------------------------------------------------------


async def test_patch_renames_resamples_clears_the_filter_and_replaces_the_evaluators(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id, query_filter="span_kind = 'LLM'"))
    patched = await env.client.request(
        "PATCH",
        f"/v2/tasks/{task['id']}",
        json_body={
            "name": "renamed",
            "sampling_rate": 0.5,
            "is_continuous": True,
            "query_filter": None,
            "evaluators": [{"evaluator_id": env.judge2.id, "evaluator_version_id": env.judge2.version_ids[0]}],
        },
    )
    assert patched["name"] == "renamed" and patched["sampling_rate"] == 0.5 and patched["is_continuous"] is True
    assert patched["query_filter"] is None
    assert [(e["evaluator_name"], e["evaluator_version_id"]) for e in patched["evaluators"]] == [
        ("relevance", env.judge2.version_ids[0])
    ]
    assert patched["created_at"] == task["created_at"]
    untouched = await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body={"name": "again"})
    assert untouched["evaluators"] == patched["evaluators"] and untouched["sampling_rate"] == 0.5


async def test_patch_can_switch_a_task_to_the_trace_shape_when_it_clears_the_span_filter(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id, query_filter="span_kind = 'LLM'"))
    trace = trace_task(env)
    change = {"evaluators": trace["evaluators"], "query_filters": trace["query_filters"]}
    with pytest.raises(BadRequestError, match="send query_filter: null"):
        await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body=change)
    patched = await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body={**change, "query_filter": None})
    assert patched["query_filter"] is None and patched["query_filters"]["expression"] == "A"


async def test_patch_cannot_drop_a_query_that_an_evaluator_maps_from(env: Env) -> None:
    task = await env.post(trace_task(env))
    with pytest.raises(BadRequestError, match="undeclared"):
        await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body={"query_filters": None})


PATCH_RULES = [
    pytest.param({}, BadRequestError, "at least one field", id="empty"),
    pytest.param({"type": "CODE_EVALUATION"}, BadRequestError, "type: cannot be changed", id="type"),
    pytest.param({"run_configuration": {}}, BadRequestError, "run_configuration: cannot be changed", id="run-config"),
    pytest.param({"evaluators": []}, BadRequestError, "evaluators", id="no-evaluators"),
    pytest.param({"name": None}, BadRequestError, "name cannot be null", id="null-name"),
    pytest.param({"sampling_rate": 2}, BadRequestError, "sampling_rate", id="sampling-rate"),
    pytest.param({"query_filter": "span_kind = = 1"}, BadRequestError, "query_filter: invalid filter", id="filter"),
    pytest.param(
        {"query_filters": {"filters": [{"id": "A", "filter": "name = 'x'"}]}},
        BadRequestError,
        "send query_filters: null",
        id="filters-on-span-task",
    ),
    pytest.param({"name": "taken"}, ConflictError, "already exists", id="duplicate-name"),
    pytest.param(
        {"evaluators": [{"evaluator_id": "RXZhbHVhdG9yOjk5OQ=="}]}, NotFoundError, "evaluator", id="missing-evaluator"
    ),
]


@pytest.mark.parametrize(("body", "error", "message"), PATCH_RULES)
async def test_patch_of_an_evaluation_task_follows_the_create_rules(
    env: Env, body: dict[str, Any], error: type[APIStatusError], message: str
) -> None:
    await env.post(span_task(env.project_id, env.judge.id, name="taken"))
    task = await env.post(span_task(env.project_id, env.judge.id, name="mine"))
    with pytest.raises(error, match=message):
        await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body=body)
    assert await env.client.request("GET", f"/v2/tasks/{task['id']}") == task


async def test_patch_of_a_dataset_task_rejects_project_settings(env: Env) -> None:
    task = await env.post(dataset_task(env))
    with pytest.raises(BadRequestError, match="sampling_rate applies only to project"):
        await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body={"sampling_rate": 0.5})
    with pytest.raises(BadRequestError, match="is_continuous must be false"):
        await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body={"is_continuous": True})


async def test_patch_of_a_run_experiment_task_replaces_its_configuration_and_nothing_else(env: Env) -> None:
    task = await env.post(run_experiment_task(env))
    config = llm_generation(env.integration_id, model_name="gpt-4o-mini")
    patched = await env.client.request(
        "PATCH", f"/v2/tasks/{task['id']}", json_body={"run_configuration": config, "name": "mini"}
    )
    assert patched["name"] == "mini" and patched["run_configuration"]["model_name"] == "gpt-4o-mini"
    for body, message in [
        ({}, "at least one field"),
        ({"sampling_rate": 0.5}, "sampling_rate: cannot be set on a RUN_EXPERIMENT"),
        ({"evaluators": [{"evaluator_id": env.judge.id}]}, "evaluators: cannot be set"),
        ({"run_configuration": {"experiment_type": "LLM_GENERATION"}}, "run_configuration"),
    ]:
        with pytest.raises(BadRequestError, match=message):
            await env.client.request("PATCH", f"/v2/tasks/{task['id']}", json_body=body)
    with pytest.raises(NotFoundError, match="ai_integration_id"):
        await env.client.request(
            "PATCH",
            f"/v2/tasks/{task['id']}",
            json_body={"run_configuration": llm_generation("TGxtSW50ZWdyYXRpb246OTk5")},
        )


# ---------------------------------------------------------------------------------------------------------------
# Trigger: evaluation tasks
# ---------------------------------------------------------------------------------------------------------------


async def test_the_first_run_of_a_project_task_needs_a_start_time(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    bodies: list[dict[str, Any] | None] = [None, {}]
    for body in bodies:
        with pytest.raises(BadRequestError, match="data_start_time is required on the first run"):
            await env.trigger(task["id"], body)
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}/runs"))["task_runs"] == []


async def test_a_trigger_stores_a_pending_run_with_server_defaults(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    start = now() - timedelta(days=2)
    before = now()
    run = await env.trigger(task["id"], {"data_start_time": iso(start)})
    after = now()
    decoded = decode_id(run["id"])
    assert decoded is not None and decoded.type_name == "TaskRun"
    assert run["task_id"] == task["id"] and run["status"] == "PENDING" and run["experiment_id"] is None
    assert run["data_start_time"] == iso(start)
    end = datetime.fromisoformat(run["data_end_time"])
    assert before - timedelta(seconds=1) <= end <= after + timedelta(seconds=1)
    assert (run["num_successes"], run["num_errors"], run["num_skipped"]) == (0, 0, 0)
    assert run["run_started_at"] is None and run["run_finished_at"] is None and run["failure_reason"] is None
    assert run["created_at"] and run["created_by_user_id"]
    stored = await stored_run(env.engine, run["id"])
    assert stored["parameters"] == {
        "max_spans": 10_000,
        "override_evaluations": False,
        "experiment_ids": [],
        "experiment_nums": [],
    }
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}"))["last_run_at"] == run["data_end_time"]
    assert await env.client.request("GET", f"/v2/task-runs/{run['id']}") == run

    def queue(conn: sqlite3.Connection) -> list[str]:
        return [r.id for r in pending_runs(conn)]

    assert await env.engine.store.read(queue) == [run["id"]]


async def test_a_second_trigger_waits_for_the_active_run_and_then_continues_from_the_last_window(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    first_end = now() - timedelta(days=1)
    first = await env.trigger(
        task["id"],
        {
            "data_start_time": iso(first_end - timedelta(days=1)),
            "data_end_time": iso(first_end),
            "max_spans": 5,
            "override_evaluations": True,
        },
    )
    assert (await stored_run(env.engine, first["id"]))["parameters"]["max_spans"] == 5
    with pytest.raises(ConflictError, match=f"already has a PENDING run \\({first['id']}\\)"):
        await env.trigger(task["id"], {})
    await set_run_status(env.engine, first["id"], "RUNNING")
    with pytest.raises(ConflictError, match="RUNNING run"):
        await env.trigger(task["id"], {})
    await set_run_status(env.engine, first["id"], "COMPLETED")
    second = await env.trigger(task["id"], {})
    assert second["data_start_time"] == iso(first_end)
    assert (await stored_run(env.engine, second["id"]))["parameters"]["override_evaluations"] is False


WINDOW_RULES = [
    pytest.param(timedelta(days=1), timedelta(days=2), "must be before data_end_time", id="start-after-end"),
    pytest.param(timedelta(days=1), timedelta(days=1), "must be before data_end_time", id="empty-window"),
    pytest.param(timedelta(days=31), timedelta(0), "at most 30 days", id="31-days"),
    pytest.param(timedelta(days=30, seconds=1), timedelta(0), "at most 30 days", id="30-days-and-a-second"),
]


@pytest.mark.parametrize(("start_ago", "end_ago", "message"), WINDOW_RULES)
async def test_the_data_window_must_be_ordered_and_at_most_30_days(
    env: Env, start_ago: timedelta, end_ago: timedelta, message: str
) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    end = now() - end_ago
    body = {"data_start_time": iso(now() - start_ago), "data_end_time": iso(end)}
    with pytest.raises(BadRequestError, match=message):
        await env.trigger(task["id"], body)
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}"))["last_run_at"] is None


async def test_a_window_of_exactly_30_days_is_accepted(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    end = now().replace(microsecond=0)
    run = await env.trigger(task["id"], {"data_start_time": iso(end - timedelta(days=30)), "data_end_time": iso(end)})
    assert run["data_end_time"] == iso(end)


async def test_a_defaulted_start_further_back_than_30_days_asks_for_a_start_time(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    old = await env.trigger(
        task["id"],
        {"data_start_time": iso(now() - timedelta(days=60)), "data_end_time": iso(now() - timedelta(days=40))},
    )
    await env.client.request("POST", f"/v2/task-runs/{old['id']}/cancel")
    with pytest.raises(BadRequestError, match="defaulted to the task's last run"):
        await env.trigger(task["id"], {})


EVALUATION_TRIGGER_RULES = [
    pytest.param({"max_spans": 0}, "max_spans", id="max-spans-zero"),
    pytest.param({"max_spans": "10"}, "max_spans", id="max-spans-string"),
    pytest.param({"override_evaluations": "true"}, "override_evaluations", id="override-string"),
    pytest.param({"data_start_time": "yesterday"}, "data_start_time", id="start-not-a-time"),
    pytest.param({"experiment_name": "x"}, "experiment_name: applies only to RUN_EXPERIMENT", id="experiment-name"),
    pytest.param({"max_examples": 3}, "max_examples: applies only to RUN_EXPERIMENT", id="max-examples"),
    pytest.param({"query_filter": "x = 1"}, "query_filter: applies only to RUN_EXPERIMENT", id="query-filter"),
    pytest.param({"experiment_ids": ["RXhwZXJpbWVudDox"]}, "experiment_ids applies only to dataset", id="experiments"),
    pytest.param({"foo": 1}, "foo: unknown field", id="unknown-field"),
]


@pytest.mark.parametrize(("extra", "message"), EVALUATION_TRIGGER_RULES)
async def test_a_bad_trigger_of_a_project_task_is_a_400_and_creates_no_run(
    env: Env, extra: dict[str, Any], message: str
) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    with pytest.raises(BadRequestError, match=message):
        await env.trigger(task["id"], {"data_start_time": iso(now() - timedelta(days=1)), **extra})
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}/runs"))["task_runs"] == []


async def test_a_dataset_task_run_evaluates_the_task_experiments_or_the_ones_given(env: Env) -> None:
    task = await env.post(dataset_task(env))
    run = await env.trigger(task["id"], None)
    assert run["data_start_time"] is None and run["data_end_time"] is None
    params = (await stored_run(env.engine, run["id"]))["parameters"]
    assert params["experiment_ids"] == [env.data.experiment_ids[0]] and params["max_spans"] == 10_000
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}"))["last_run_at"] is not None
    await env.client.request("POST", f"/v2/task-runs/{run['id']}/cancel")
    again = await env.trigger(task["id"], {"experiment_ids": env.data.experiment_ids})
    assert (await stored_run(env.engine, again["id"]))["parameters"]["experiment_ids"] == env.data.experiment_ids


DATASET_TRIGGER_RULES = [
    pytest.param({"data_start_time": "2026-01-01T00:00:00Z"}, BadRequestError, "not a time window", id="start"),
    pytest.param({"data_end_time": "2026-01-01T00:00:00Z"}, BadRequestError, "not a time window", id="end"),
    pytest.param({"experiment_ids": []}, BadRequestError, "at least one experiment", id="empty-experiments"),
    pytest.param({"experiment_ids": ["RXhwZXJpbWVudDo5OTk5"]}, NotFoundError, "experiment", id="unknown-experiment"),
]


@pytest.mark.parametrize(("body", "error", "message"), DATASET_TRIGGER_RULES)
async def test_a_dataset_task_trigger_takes_no_window_and_only_known_experiments(
    env: Env, body: dict[str, Any], error: type[APIStatusError], message: str
) -> None:
    task = await env.post(dataset_task(env))
    with pytest.raises(error, match=message):
        await env.trigger(task["id"], body)


async def test_a_dataset_task_trigger_rejects_experiments_of_another_dataset(env: Env) -> None:
    task = await env.post(dataset_task(env))
    with pytest.raises(UnprocessableEntityError, match="belongs to another dataset"):
        await env.trigger(task["id"], {"experiment_ids": env.other_data.experiment_ids})


async def test_a_trigger_of_a_missing_task_is_a_404(env: Env) -> None:
    with pytest.raises(NotFoundError, match="task"):
        await env.trigger("VGFzazo5OTk5", {})


# ---------------------------------------------------------------------------------------------------------------
# Trigger: RUN_EXPERIMENT tasks
# ---------------------------------------------------------------------------------------------------------------


async def test_a_run_experiment_trigger_stores_everything_the_runner_needs(env: Env) -> None:
    chained = await env.post(dataset_task(env, name="judge-after"))
    task = await env.post(run_experiment_task(env))
    run = await env.trigger(
        task["id"],
        {
            "experiment_name": "gpt-4o baseline",
            "example_ids": env.data.example_ids[:2],
            "query_filter": "topic = 'math'",
            "tracing_metadata": {"team": "search"},
            "evaluation_task_ids": [chained["id"]],
        },
    )
    assert run["status"] == "PENDING" and run["data_start_time"] is None and run["data_end_time"] is None
    assert run["experiment_id"] is None
    params = (await stored_run(env.engine, run["id"]))["parameters"]
    assert params["experiment_name"] == "gpt-4o baseline"
    assert params["dataset_version_id"] == env.data.version_id
    assert params["example_ids"] == env.data.example_ids[:2] and params["max_examples"] is None
    assert params["query_filter"] == "topic = 'math'" and params["tracing_metadata"] == {"team": "search"}
    assert params["evaluation_task_ids"] == [chained["id"]]
    await set_run_status(env.engine, run["id"], "COMPLETED")
    capped = await env.trigger(
        task["id"], {"experiment_name": "capped", "max_examples": 1, "dataset_version_id": env.data.version_id}
    )
    assert (await stored_run(env.engine, capped["id"]))["parameters"]["max_examples"] == 1


RUN_EXPERIMENT_TRIGGER_RULES = [
    pytest.param({}, BadRequestError, "experiment_name", id="no-experiment-name"),
    pytest.param({"experiment_name": ""}, BadRequestError, "experiment_name", id="empty-name"),
    pytest.param({"experiment_name": 'say "hi"'}, BadRequestError, "double quotes", id="quote-in-name"),
    pytest.param({"experiment_name": "a\\b"}, BadRequestError, "backslashes", id="backslash-in-name"),
    pytest.param({"experiment_name": "x" * 256}, BadRequestError, "experiment_name", id="name-too-long"),
    pytest.param({"experiment_name": "questions-exp0"}, ConflictError, "already has an experiment", id="name-taken"),
    pytest.param(
        {"experiment_name": "n", "example_ids": ["a"], "max_examples": 1},
        BadRequestError,
        "mutually exclusive",
        id="examples-and-max",
    ),
    pytest.param({"experiment_name": "n", "max_examples": 0}, BadRequestError, "max_examples", id="max-zero"),
    pytest.param({"experiment_name": "n", "example_ids": []}, BadRequestError, "at least one example", id="no-ids"),
    pytest.param(
        {"experiment_name": "n", "example_ids": ["nope"]}, UnprocessableEntityError, "1 not in dataset", id="unknown-id"
    ),
    pytest.param(
        {"experiment_name": "n", "query_filter": "topic = = 1"}, BadRequestError, "query_filter: invalid", id="filter"
    ),
    pytest.param(
        {"experiment_name": "n", "tracing_metadata": {"k": 1}}, BadRequestError, "tracing_metadata", id="metadata"
    ),
    pytest.param(
        {"experiment_name": "n", "data_start_time": "2026-01-01T00:00:00Z"},
        BadRequestError,
        "data_start_time: applies only to evaluation tasks",
        id="window",
    ),
    pytest.param({"experiment_name": "n", "max_spans": 3}, BadRequestError, "max_spans: applies only", id="max-spans"),
    pytest.param(
        {"experiment_name": "n", "dataset_version_id": "RGF0YXNldFZlcnNpb246OTk5OQ=="},
        NotFoundError,
        "dataset_version_id",
        id="unknown-version",
    ),
    pytest.param(
        {"experiment_name": "n", "evaluation_task_ids": ["VGFzazo5OTk5"]},
        NotFoundError,
        "task",
        id="unknown-evaluation-task",
    ),
]


@pytest.mark.parametrize(("body", "error", "message"), RUN_EXPERIMENT_TRIGGER_RULES)
async def test_a_bad_run_experiment_trigger_is_refused_and_creates_no_run(
    env: Env, body: dict[str, Any], error: type[APIStatusError], message: str
) -> None:
    task = await env.post(run_experiment_task(env))
    with pytest.raises(error, match=message):
        await env.trigger(task["id"], body)
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}/runs"))["task_runs"] == []
    assert (await env.client.request("GET", f"/v2/tasks/{task['id']}"))["last_run_at"] is None


async def test_a_run_experiment_trigger_checks_what_belongs_to_its_dataset(env: Env) -> None:
    task = await env.post(run_experiment_task(env))
    other_version = {"experiment_name": "n", "dataset_version_id": env.other_data.version_id}
    with pytest.raises(UnprocessableEntityError, match="belongs to another dataset"):
        await env.trigger(task["id"], other_version)
    with pytest.raises(UnprocessableEntityError, match="not in dataset"):
        await env.trigger(task["id"], {"experiment_name": "n", "example_ids": env.other_data.example_ids[:1]})
    generator = await env.post(run_experiment_task(env, name="other-generator"))
    with pytest.raises(UnprocessableEntityError, match="not an evaluation task"):
        await env.trigger(task["id"], {"experiment_name": "n", "evaluation_task_ids": [generator["id"]]})
    project_task = await env.post(span_task(env.project_id, env.judge.id))
    with pytest.raises(UnprocessableEntityError, match="does not evaluate dataset"):
        await env.trigger(task["id"], {"experiment_name": "n", "evaluation_task_ids": [project_task["id"]]})


async def test_an_experiment_name_reserved_by_a_pending_run_is_taken(env: Env) -> None:
    first = await env.post(run_experiment_task(env))
    second = await env.post(run_experiment_task(env, name="second"))
    await env.trigger(first["id"], {"experiment_name": "nightly"})
    with pytest.raises(ConflictError, match="a pending run will create it"):
        await env.trigger(second["id"], {"experiment_name": "nightly"})


async def test_an_agent_call_task_is_stored_but_cannot_run_locally(env: Env) -> None:
    config = {"experiment_type": "AGENT_CALL", "integration_id": "SW50ZWdyYXRpb246MQ==", "input_template": {}}
    task = await env.post(run_experiment_task(env, run_configuration=config))
    with pytest.raises(UnprocessableEntityError, match="local engine cannot run it"):
        await env.trigger(task["id"], {"experiment_name": "agent"})


# ---------------------------------------------------------------------------------------------------------------
# Runs: list, get, cancel
# ---------------------------------------------------------------------------------------------------------------


async def test_runs_are_listed_newest_first_by_status_and_paged(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    run_ids = []
    for days in (10, 8, 6, 4):
        run = await env.trigger(
            task["id"],
            {
                "data_start_time": iso(now() - timedelta(days=days)),
                "data_end_time": iso(now() - timedelta(days=days - 1)),
            },
        )
        run_ids.append(run["id"])
        await set_run_status(env.engine, run["id"], "COMPLETED" if days % 4 else "FAILED")
    path = f"/v2/tasks/{task['id']}/runs"
    listed = await env.client.request("GET", path)
    assert [r["id"] for r in listed["task_runs"]] == run_ids[::-1]
    assert listed["pagination"] == {"has_more": False}
    failed = await env.client.request("GET", path, params={"status": "FAILED"})
    assert [r["id"] for r in failed["task_runs"]] == [run_ids[3], run_ids[1]]
    lower = await env.client.request("GET", path, params={"status": "completed"})
    assert [r["id"] for r in lower["task_runs"]] == [run_ids[2], run_ids[0]]
    page = await env.client.request("GET", path, params={"limit": 3})
    assert len(page["task_runs"]) == 3 and page["pagination"]["has_more"] is True
    rest = await env.client.request("GET", path, params={"limit": 3, "cursor": page["pagination"]["next_cursor"]})
    assert [r["id"] for r in rest["task_runs"]] == [run_ids[0]]
    with pytest.raises(BadRequestError, match="cursor"):
        await env.client.request("GET", path, params={"status": "FAILED", "cursor": page["pagination"]["next_cursor"]})
    with pytest.raises(BadRequestError, match="status must be one of"):
        await env.client.request("GET", path, params={"status": "DONE"})
    with pytest.raises(NotFoundError, match="task"):
        await env.client.request("GET", "/v2/tasks/VGFzazo5OTk5/runs")


async def test_cancel_stops_a_pending_or_running_run_once_and_says_why(env: Env) -> None:
    task = await env.post(span_task(env.project_id, env.judge.id))
    run = await env.trigger(task["id"], {"data_start_time": iso(now() - timedelta(hours=5))})
    cancelled = await env.client.request("POST", f"/v2/task-runs/{run['id']}/cancel")
    assert cancelled["status"] == "CANCELLED" and cancelled["failure_reason"] == "Cancelled by user."
    assert cancelled["run_finished_at"] is not None and cancelled["data_start_time"] == run["data_start_time"]
    with pytest.raises(ConflictError, match="already CANCELLED"):
        await env.client.request("POST", f"/v2/task-runs/{run['id']}/cancel")
    running = await env.trigger(task["id"], {})
    await set_run_status(env.engine, running["id"], "RUNNING")
    assert (await env.client.request("POST", f"/v2/task-runs/{running['id']}/cancel"))["status"] == "CANCELLED"
    done = await env.trigger(task["id"], {"data_start_time": iso(now() - timedelta(hours=1))})
    await set_run_status(env.engine, done["id"], "COMPLETED")
    with pytest.raises(ConflictError, match="already COMPLETED; only PENDING or RUNNING"):
        await env.client.request("POST", f"/v2/task-runs/{done['id']}/cancel")
    with pytest.raises(NotFoundError, match="task run"):
        await env.client.request("POST", "/v2/task-runs/VGFza1J1bjo5OTk5/cancel")


# ---------------------------------------------------------------------------------------------------------------
# The client resource
# ---------------------------------------------------------------------------------------------------------------


async def test_the_client_creates_updates_and_triggers_tasks_by_name(env: Env) -> None:
    tasks = env.client.tasks
    created = await tasks.create(
        name="prod",
        type="TEMPLATE_EVALUATION",
        project="chatbot",
        evaluators=[{"evaluator_id": "correctness", "column_mappings": {"output": "attributes.output.value"}}],
        query_filter="span_kind = 'LLM'",
        is_continuous=True,
    )
    assert created.project_id == env.project_id and created.evaluators[0].evaluator_id == env.judge.id
    assert [t.id async for t in tasks.list(project="chatbot")] == [created.id]
    assert (await tasks.get("prod")).id == created.id
    updated = await tasks.update("prod", query_filter=None, sampling_rate=0.5)
    assert updated.query_filter is None and updated.sampling_rate == 0.5
    with pytest.raises(ValueError, match="run_configuration applies only to RUN_EXPERIMENT"):
        await tasks.update("prod", run_configuration=llm_generation(env.integration_id))
    with pytest.raises(ValueError, match="nothing to update"):
        await tasks.update("prod")
    with pytest.raises(ValueError, match="experiment_name do not apply"):
        await tasks.trigger_run("prod", experiment_name="x")
    run = await tasks.trigger_run("prod", data_start_time=now() - timedelta(hours=2))
    assert run.data_end_time is not None and abs((run.data_end_time - now()).total_seconds()) < 60
    assert [r.id async for r in tasks.list_runs("prod", status="PENDING")] == [run.id]
    assert (await tasks.get_run(run.id)).status == "PENDING"
    assert (await tasks.cancel_run(run.id)).failure_reason == "Cancelled by user."
    await tasks.delete("prod")
    assert [t async for t in tasks.list()] == []


async def test_the_client_runs_experiment_tasks_with_integration_and_experiment_names(env: Env) -> None:
    tasks = env.client.tasks
    created = await tasks.create(
        name="gen", type="RUN_EXPERIMENT", dataset="questions", run_configuration=llm_generation("openai")
    )
    assert created.run_configuration is not None
    assert created.run_configuration["ai_integration_id"] == env.integration_id
    judge = await tasks.create(
        name="judge",
        type="TEMPLATE_EVALUATION",
        dataset="questions",
        experiment_ids=["questions-exp1"],
        evaluators=[{"evaluator_id": "correctness"}],
    )
    assert judge.experiment_ids == [env.data.experiment_ids[1]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        await tasks.trigger_run("gen", experiment_name="x", example_ids=["a"], max_examples=1)
    with pytest.raises(ValueError, match="experiment_name is required"):
        await tasks.trigger_run("gen")
    with pytest.raises(ValueError, match="data_start_time do not apply"):
        await tasks.trigger_run("gen", experiment_name="x", data_start_time=now())
    run = await tasks.trigger_run("gen", experiment_name="first", max_examples=2, evaluation_task_ids=["judge"])
    params = (await stored_run(env.engine, run.id))["parameters"]
    assert params["evaluation_task_ids"] == [judge.id] and params["max_examples"] == 2
    updated = await tasks.update("gen", run_configuration=llm_generation("openai", model_name="o3"))
    assert updated.run_configuration is not None and updated.run_configuration["model_name"] == "o3"
    with pytest.raises(ValueError, match="sampling_rate cannot be set on RUN_EXPERIMENT"):
        await tasks.update("gen", sampling_rate=0.1)


async def test_the_client_checks_a_create_body_before_sending_it(env: Env) -> None:
    with pytest.raises(ValueError, match="exactly one of project_id"):
        await env.client.tasks.create(name="x", type="CODE_EVALUATION", evaluators=[{"evaluator_id": "valid-json"}])
    with pytest.raises(ValueError, match="name and type are required"):
        await env.client.tasks.create(project="chatbot")
    request = CreateEvaluationTaskRequest(
        type="CODE_EVALUATION",
        name="json-check",
        project_id="chatbot",
        evaluators=[SpanEvaluatorInput(evaluator_id="valid-json")],
    )
    with pytest.raises(ValueError, match="not both"):
        await env.client.tasks.create(request, name="other")
    assert await env.task_names() == []
    created = await env.client.tasks.create(request)
    assert created.project_id == env.project_id and created.evaluators[0].evaluator_id == env.code.id


def test_query_expressions_parse_with_precedence_and_evaluate() -> None:
    tree = parse_query_expression("A OR B AND NOT C", {"A", "B", "C"})
    assert tree.ids() == {"A", "B", "C"}
    assert tree.evaluate({"B"}) and not tree.evaluate({"B", "C"}) and tree.evaluate({"A", "C"})
    grouped = parse_query_expression("(A OR B) and not C", {"A", "B", "C"})
    assert grouped.op == "AND" and not grouped.evaluate({"A", "C"}) and grouped.evaluate({"B"})
    for bad in ("", "A B", "(A", "A OR", "NOT", "A AND D"):
        with pytest.raises(ValueError, match="expression"):
            parse_query_expression(bad, {"A", "B"})
