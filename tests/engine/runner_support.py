"""What runner tests stand on: a judge integration pointing at the stub LLM server, evaluators, spans, runs.

Everything is made through the API (the client over the in-process engine) and spans arrive through
``POST /v1/traces``; runs are executed with ``await engine.runner.run_until_idle()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.otlp_payloads import ingest, span
from tests.stubs.llm_server import Failure, RecordedRequest, Reply, StubServer, ToolUse

PROVIDER_KEY = "sk-runner-test-secret-5c1e"
"""The key stored in judge integrations; it must never show in a run, a response or an error."""

BASE_TIME = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
JUDGE_TEMPLATE = "Question: {input}\nAnswer: {output}\nIs the answer correct? Answer correct or incorrect."


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait (bounded) until ``check`` holds, looking again every few milliseconds."""
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.01)


def answer_then_hang(stub_box: list[StubServer], answered: int) -> Callable[[RecordedRequest], Reply]:
    """A stub responder that answers ``answered`` requests and then makes every later request hang (the stub
    is ``stub_box[0]``, filled in once it is served)."""
    count = 0

    def respond(request: RecordedRequest) -> Reply:
        nonlocal count
        count += 1
        if count == answered:
            stub_box[0].fail(*[Failure.hang()] * 100)
        return ToolUse("record_judgement", {"explanation": "fine", "label": "correct"})

    return respond


def at(minutes: float) -> datetime:
    """``BASE_TIME`` plus some minutes."""
    return BASE_TIME + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp as the API takes it."""
    return moment.isoformat().replace("+00:00", "Z")


async def judge_integration(
    client: AsyncArizeClient,
    stub: StubServer,
    *,
    name: str = "stub-judge",
    provider: str = "OPEN_AI",
    api_key: str | None = PROVIDER_KEY,
    function_calling: bool = True,
) -> str:
    """An AI integration whose base URL is the stub's; returns its ID."""
    base_url = stub.url if provider == "ANTHROPIC" else stub.openai_url
    body: dict[str, Any] = {
        "name": name,
        "provider": provider,
        "base_url": base_url,
        "model_names": ["stub-model"],
        "function_calling_enabled": function_calling,
    }
    if api_key is not None:
        body["api_key"] = api_key
    created = await client.request("POST", "/v2/ai-integrations", json_body=body)
    return str(created["id"])


async def judge_evaluator(
    client: AsyncArizeClient,
    integration_id: str,
    *,
    name: str = "correctness",
    template: str = JUDGE_TEMPLATE,
    choices: Mapping[str, float] | None = None,
    explanations: bool = True,
    function_calling: bool = True,
    granularity: str | None = None,
) -> str:
    """A TEMPLATE evaluator (eval column ``name``) judging through ``integration_id``; returns its ID."""
    config: dict[str, Any] = {
        "name": name,
        "template": template,
        "include_explanations": explanations,
        "use_function_calling": function_calling,
        "classification_choices": dict(choices if choices is not None else {"correct": 1, "incorrect": 0}),
        "llm_config": {
            "ai_integration_id": integration_id,
            "model_name": "stub-model",
            "invocation_parameters": {"temperature": 0},
            "provider_parameters": {},
        },
    }
    if granularity is not None:
        config["data_granularity"] = granularity
    created = await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": client.space,
            "name": f"{name} judge",
            "type": "TEMPLATE",
            "version": {"commit_message": "v1", "template_config": config},
        },
    )
    return str(created["id"])


async def code_evaluator(
    client: AsyncArizeClient,
    name: str,
    managed: str,
    variables: Sequence[str],
    static_params: Sequence[Mapping[str, Any]] = (),
) -> str:
    """A MANAGED code evaluator; returns its ID."""
    config: dict[str, Any] = {
        "type": "MANAGED",
        "name": name,
        "managed_evaluator": managed,
        "variables": list(variables),
    }
    if static_params:
        config["static_params"] = [dict(p) for p in static_params]
    created = await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": client.space,
            "name": f"{name} check",
            "type": "CODE",
            "version": {"commit_message": "v1", "code_config": config},
        },
    )
    return str(created["id"])


def qa_span(
    number: int, *, minutes: float | None = None, trace: int | None = None, **attributes: Any
) -> dict[str, Any]:
    """An LLM span with a question and an answer; span ID derived from ``number``."""
    attrs: dict[str, Any] = {"input.value": f"question {number}", "output.value": f"answer {number}"}
    attrs.update(attributes)
    return span(
        f"{number:016x}",
        trace_id=f"{trace if trace is not None else number:032x}",
        start=at(minutes if minutes is not None else number),
        attributes=attrs,
        name=f"llm-{number}",
    )


async def add_spans(engine: Engine, project: str, spans: Sequence[dict[str, Any]]) -> None:
    """Ingest spans into ``project`` through ``POST /v1/traces`` (500 per request)."""
    for start in range(0, len(spans), 500):
        await ingest(engine, project, spans[start : start + 500])


async def project_id(client: AsyncArizeClient, name: str) -> str:
    """The ID of the project ``name`` in the default space, made now if neither ingest nor a test made it yet."""
    found = await client.request("GET", "/v2/projects", params={"name": name, "space_id": client.space})
    for project in found["projects"]:
        if project["name"] == name:
            return str(project["id"])
    created = await client.request("POST", "/v2/projects", json_body={"name": name, "space_id": client.space})
    return str(created["id"])


async def project_task(
    client: AsyncArizeClient,
    project: str,
    evaluators: Sequence[Mapping[str, Any]],
    *,
    name: str = "judge task",
    task_type: str = "TEMPLATE_EVALUATION",
    **extra: Any,
) -> str:
    """A project task over ``project``; returns its ID."""
    body: dict[str, Any] = {
        "name": name,
        "type": task_type,
        "project_id": await project_id(client, project),
        "evaluators": [dict(e) for e in evaluators],
    }
    body.update(extra)
    created = await client.request("POST", "/v2/tasks", json_body=body)
    return str(created["id"])


def mapped(evaluator_id: str, **extra: Any) -> dict[str, Any]:
    """A span-shape evaluator entry mapping ``input`` and ``output`` to the span's input and output values."""
    entry: dict[str, Any] = {
        "evaluator_id": evaluator_id,
        "column_mappings": {"input": "attributes.input.value", "output": "attributes.output.value"},
    }
    entry.update(extra)
    return entry


async def trigger(client: AsyncArizeClient, task_id: str, **body: Any) -> dict[str, Any]:
    """Trigger a run (datetimes become ISO strings); returns the run as the API shows it."""
    sent = {k: iso(v) if isinstance(v, datetime) else v for k, v in body.items()}
    run: dict[str, Any] = await client.request("POST", f"/v2/tasks/{task_id}/trigger", json_body=sent)
    return run


async def backfill(client: AsyncArizeClient, task_id: str, **body: Any) -> dict[str, Any]:
    """Trigger a run over the whole test time range (BASE_TIME - 1 h .. + 1 day) unless told otherwise."""
    body.setdefault("data_start_time", at(-60))
    body.setdefault("data_end_time", at(24 * 60))
    return await trigger(client, task_id, **body)


async def get_run(client: AsyncArizeClient, run_id: str) -> dict[str, Any]:
    """A run as the API shows it."""
    run: dict[str, Any] = await client.request("GET", f"/v2/task-runs/{run_id}")
    return run


async def span_evals(client: AsyncArizeClient, project: str) -> dict[str, dict[str, Any]]:
    """``{span_id: {eval name: {label, score, explanation}}}`` for the project's spans, read through the API."""
    body = {"project_id": await project_id(client, project), "start_time": iso(at(-60)), "end_time": iso(at(24 * 60))}
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = await client.request("POST", "/v2/spans", params=params, json_body=body)
        for item in page["spans"]:
            found[item["context"]["span_id"]] = {e["name"]: e for e in item.get("evaluations") or []}
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found
