"""``delete`` through the MCP protocol (both eras), against the engine: every kind, confirmation first.

Each kind is deleted only after the user's yes (``confirm=true``, or the elicitation form when the client can
show one); the question and the result name what is removed, by name and ID, and what goes with it.
"""

from __future__ import annotations

from datetime import timedelta

from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestParams, ElicitResult

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.mcp_server.state import AppState
from tests.engine.otlp_payloads import ingest, span
from tests.engine.tasks_setup import add_ai_integration, add_dataset, add_evaluator, span_task
from tests.mcp_server.conftest import FIXED_NOW, call, call_error


async def seeded_task(engine: Engine, client: AsyncArizeClient, name: str = "qa") -> dict[str, str]:
    """A project 'app' with one span, a code evaluator and a task ``name`` on the project using it."""
    await ingest(engine, "app", [span("0000000000000001", start=FIXED_NOW - timedelta(minutes=5))])
    project = await client.projects.get("app")
    evaluator = await add_evaluator(client, "json-check", kind="CODE")
    task = await client.request(
        "POST", "/v2/tasks", json_body=span_task(project.id, evaluator.id, name=name, type="CODE_EVALUATION")
    )
    return {"task": str(task["id"]), "evaluator": evaluator.id, "project": project.id}


async def names(client: AsyncArizeClient, kind: str) -> list[str]:
    listing = {
        "task": client.tasks.list(),
        "dataset": client.datasets.list(),
        "experiment": client.experiments.list(),
        "evaluator": client.evaluators.list(),
        "annotation_config": client.annotation_configs.list(),
        "ai_integration": client.ai_integrations.list(),
    }[kind]
    return sorted([item.name async for item in listing])


# --- tasks (the cases delete_task had) ---------------------------------------------------------------------------


async def test_deleting_a_task_needs_the_users_yes_and_names_the_task_and_its_target(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    made = await seeded_task(engine, client)

    refused = await call_error(mcp_client, "delete", {"kind": "task", "name": "qa"})
    assert "Confirmation required: Delete task 'qa'" in refused
    assert made["task"] in refused and "on project 'app'" in refused and "confirm=true" in refused
    assert await names(client, "task") == ["qa"]

    result = await call(mcp_client, "delete", {"kind": "task", "name": "qa", "confirm": True})
    assert result["deleted"] == {"id": made["task"], "name": "qa"}
    assert result["kind"] == "task" and result["confirmed_by"] == "argument"
    assert await names(client, "task") == []


async def test_delete_asks_through_elicitation_when_the_client_can(
    mcp_server: MCPServer[AppState], mcp_client_mode: str, engine: Engine, client: AsyncArizeClient
) -> None:
    await seeded_task(engine, client)
    questions: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    async with Client(mcp_server, mode=mcp_client_mode, elicitation_callback=user) as mcp:
        result = await call(mcp, "delete", {"kind": "task", "name": "qa"})

    assert result["confirmed_by"] == "elicitation"
    assert questions and questions[0].startswith("Delete task 'qa'")
    assert await names(client, "task") == []


async def test_a_declined_confirmation_deletes_nothing(
    mcp_server: MCPServer[AppState], mcp_client_mode: str, client: AsyncArizeClient
) -> None:
    await add_dataset(client, "golden", experiments=1)

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="decline")

    async with Client(mcp_server, mode=mcp_client_mode, elicitation_callback=user) as mcp:
        text = await call_error(mcp, "delete", {"kind": "dataset", "name": "golden"})

    assert "nothing was changed" in text
    assert await names(client, "dataset") == ["golden"]


# --- datasets and experiments ------------------------------------------------------------------------------------


async def test_deleting_a_dataset_names_the_experiments_that_go_with_it(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    made = await add_dataset(client, "golden", experiments=2)
    await add_dataset(client, "other", experiments=1)

    question = await call_error(mcp_client, "delete", {"kind": "dataset", "name": "golden"})
    assert f"Delete dataset 'golden' (id {made.id})" in question
    assert "2 experiments" in question and "'golden-exp0'" in question and "'golden-exp1'" in question

    result = await call(mcp_client, "delete", {"kind": "dataset", "name": "golden", "confirm": True})

    assert result["deleted"] == {"id": made.id, "name": "golden"}
    assert result["also_deleted"][0] == "its examples and their annotations (1 version)"
    assert sorted(result["also_deleted"][1:]) == sorted(
        f"experiment 'golden-exp{i}' ({made.experiment_ids[i]})" for i in range(2)
    )
    assert await names(client, "dataset") == ["other"]
    assert await names(client, "experiment") == ["other-exp0"]
    text = (await mcp_client.call_tool("delete", {"kind": "dataset", "name": "other", "confirm": True})).content
    assert text[0].type == "text" and text[0].text.startswith("Deleted dataset 'other' (id ")


async def test_an_experiment_name_two_datasets_share_is_refused_listing_the_ids_to_pass_instead(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    first = await add_dataset(client, "first", experiments=0)
    second = await add_dataset(client, "second", experiments=0)
    for dataset in (first, second):
        await client.experiments.create(
            "baseline", [{"example_id": e, "output": "a"} for e in dataset.example_ids], dataset=dataset.id
        )

    ambiguous = await call_error(mcp_client, "delete", {"kind": "experiment", "name": "baseline", "confirm": True})
    assert "2 experiments are named 'baseline'" in ambiguous and "pass one of these IDs" in ambiguous
    assert await names(client, "experiment") == ["baseline", "baseline"]
    (second_id,) = [e.id async for e in client.experiments.list(dataset=second.id)]
    assert second_id in ambiguous

    result = await call(mcp_client, "delete", {"kind": "experiment", "name": second_id, "confirm": True})

    assert result["deleted"] == {"id": second_id, "name": "baseline"}
    remaining = [e async for e in client.experiments.list()]
    assert [(e.name, e.dataset_id) for e in remaining] == [("baseline", first.id)]
    assert "runs" in " ".join(result["also_deleted"])


# --- evaluators, annotation configs, AI integrations -------------------------------------------------------------


async def test_an_evaluator_a_task_uses_is_refused_naming_the_task_then_deleted_with_its_versions(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await seeded_task(engine, client, name="nightly")

    refused = await call_error(mcp_client, "delete", {"kind": "evaluator", "name": "json-check", "confirm": True})
    assert "task 'nightly'" in refused and "kind='task'" in refused
    assert await names(client, "evaluator") == ["json-check"]

    await call(mcp_client, "delete", {"kind": "task", "name": "nightly", "confirm": True})
    result = await call(mcp_client, "delete", {"kind": "evaluator", "name": "json-check", "confirm": True})

    assert result["deleted"]["name"] == "json-check"
    assert result["also_deleted"] == ["1 version"]
    assert await names(client, "evaluator") == []


async def test_a_judge_and_its_versions_are_deleted(mcp_client: Client, client: AsyncArizeClient) -> None:
    made = await add_evaluator(client, "helpfulness", versions=3)

    question = await call_error(mcp_client, "delete", {"kind": "evaluator", "name": "helpfulness"})
    assert f"Delete evaluator 'helpfulness' (id {made.id}; TEMPLATE)" in question and "3 versions" in question

    result = await call(mcp_client, "delete", {"kind": "evaluator", "name": made.id, "confirm": True})
    assert result["deleted"] == {"id": made.id, "name": "helpfulness"}
    assert await names(client, "evaluator") == []


async def test_deleting_an_annotation_config_and_an_ai_integration_names_the_judges_that_use_it(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    config = await client.annotation_configs.create_categorical("quality", ["good", "bad"])
    result = await call(mcp_client, "delete", {"kind": "annotation_config", "name": "quality", "confirm": True})
    assert result["deleted"] == {"id": config.id, "name": "quality"}
    assert await names(client, "annotation_config") == []

    integration_id = await add_ai_integration(client, "openai")
    await add_evaluator(client, "helpfulness")
    question = await call_error(mcp_client, "delete", {"kind": "ai_integration", "name": "openai"})
    assert f"Delete AI integration 'openai' (id {integration_id}" in question
    assert "Judges 'helpfulness' use it" in question

    result = await call(mcp_client, "delete", {"kind": "ai_integration", "name": "openai", "confirm": True})
    assert result["deleted"] == {"id": integration_id, "name": "openai"}
    assert "'helpfulness'" in (result["note"] or "")
    assert await names(client, "ai_integration") == []


async def test_an_unknown_name_says_how_to_list_that_kind(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "delete", {"kind": "dataset", "name": "nope", "confirm": True})
    assert "dataset 'nope' not found" in text and "find(kind='dataset'" in text


async def test_delete_is_annotated_destructive(mcp_server: MCPServer[AppState]) -> None:
    async with Client(mcp_server, mode="legacy") as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    hints = tools["delete"].annotations
    assert hints is not None
    assert (hints.read_only_hint, hints.destructive_hint) == (False, True)
    assert set(tools["delete"].input_schema["properties"]["kind"]["enum"]) == {
        "task",
        "dataset",
        "experiment",
        "evaluator",
        "annotation_config",
        "ai_integration",
    }
