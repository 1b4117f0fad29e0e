"""``status`` and ``find`` through the MCP protocol (both eras), and the house rules every tool keeps."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from arize_skills import __version__
from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.state import AppState
from arize_skills.settings import Settings
from tests.conftest import LiveEngine
from tests.engine.tasks_setup import add_ai_integration, add_dataset, add_evaluator, span_task
from tests.mcp_server.conftest import FIXED_NOW, call, call_error


async def tool_text(mcp: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    """The text block a model reads of a successful call."""
    result = await mcp.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_status_reports_the_embedded_backend_its_default_space_and_what_it_holds(
    mcp_client: Client, client: AsyncArizeClient, mcp_settings: Settings
) -> None:
    for name in ("alpha", "beta"):
        await client.projects.create(name)
    await client.datasets.create("golden", [{"input": "q", "output": "a"}])
    space = (await client.spaces.list()).items[0]

    result = await call(mcp_client, "status")

    assert result["backend"] == "embedded"
    assert result["base_url"] is None
    assert result["has_api_key"] is False
    assert result["space"] == {"id": space.id, "name": "default"}
    assert result["engine_home"] == str(mcp_settings.home)
    assert result["counts"] == {
        "projects": {"count": 2, "complete": True},
        "datasets": {"count": 1, "complete": True},
        "evaluators": {"count": 0, "complete": True},
        "tasks": {"count": 0, "complete": True},
    }
    assert result["problem"] is None
    assert result["sources"]["home"] == "argument"
    assert result["version"] == __version__
    assert result["today"] == "2026-08-10"


async def test_the_instructions_name_the_backend_the_default_space_and_today(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    space = (await client.spaces.list()).items[0]
    instructions = mcp_client.instructions or ""
    assert "embedded local engine" in instructions
    assert f"'default' (id {space.id})" in instructions
    assert f"Today is {FIXED_NOW.date().isoformat()}" in instructions
    assert "find" in instructions and "status" in instructions


async def test_each_session_gets_the_date_of_the_day_it_opens(mcp_settings: Settings, engine: Engine) -> None:
    from datetime import timedelta

    now = [FIXED_NOW]
    server = build_server(mcp_settings, engine=engine, clock=lambda: now[0])
    for mode in ("legacy", "auto"):
        async with Client(server, mode=mode) as first:
            assert "Today is 2026-08-10" in (first.instructions or "")
        now[0] = FIXED_NOW + timedelta(days=1)
        async with Client(server, mode=mode) as second:
            assert "Today is 2026-08-11" in (second.instructions or "")
        now[0] = FIXED_NOW


async def test_find_lists_resources_by_name_substring_with_names_and_ids(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    made = {name: (await client.projects.create(name)).id for name in ("chat-prod", "chat-dev", "search")}

    result = await call(mcp_client, "find", {"kind": "project", "name": "chat"})

    assert sorted((row["name"], row["id"]) for row in result["items"]) == sorted(
        (name, made[name]) for name in ("chat-prod", "chat-dev")
    )
    assert result["space"]["name"] == "default"
    assert result["has_more"] is False
    assert result["next_cursor"] is None
    assert all(row["about"] == "APPLICATION" for row in result["items"])


async def test_find_pages_through_every_resource_once_with_the_cursor(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    names = {f"set-{i:02d}-" + "long-dataset-name-" * 12 for i in range(40)}
    for name in names:
        await client.datasets.create(name, [{"input": "x"}])

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        arguments: dict[str, Any] = {"kind": "dataset", **({"cursor": cursor} if cursor else {})}
        result = await call(mcp_client, "find", arguments)
        seen += [row["name"] for row in result["items"]]
        pages += 1
        if not result["has_more"]:
            assert result["next_cursor"] is None
            break
        cursor = result["next_cursor"]
        assert pages < 10

    assert pages >= 2
    assert sorted(seen) == sorted(names)


async def test_a_cursor_passed_with_other_arguments_is_refused_with_what_to_do(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    for i in range(40):
        await client.projects.create(f"p{i:02d}-" + "long-project-name-" * 12)
    first = await call(mcp_client, "find", {"kind": "project"})
    assert first["next_cursor"]

    text = await call_error(mcp_client, "find", {"kind": "dataset", "cursor": first["next_cursor"]})
    assert "cursor" in text and "other arguments" in text

    text = await call_error(mcp_client, "find", {"kind": "project", "cursor": "not-a-cursor"})
    assert "next_cursor exactly as returned" in text


async def test_find_lists_spaces_and_the_built_in_judge_templates(mcp_client: Client) -> None:
    spaces = await call(mcp_client, "find", {"kind": "space"})
    assert [row["name"] for row in spaces["items"]] == ["default"]
    assert spaces["space"] is None

    templates = await call(mcp_client, "find", {"kind": "judge_template", "name": "halluc"})
    assert templates["items"], "the catalogue has a hallucination judge"
    assert all("halluc" in (row["id"] + row["name"]).lower() for row in templates["items"])
    assert all(row["about"].startswith("labels: ") for row in templates["items"])


async def test_find_names_a_judge_template_exactly_for_its_whole_prompt_labels_and_variables(
    mcp_client: Client,
) -> None:
    result = await call(mcp_client, "find", {"kind": "judge_template", "name": "Hallucination"})

    template = result["template"]
    assert template["name"] == "hallucination" and template["display_name"] == "Hallucination"
    assert [row["id"] for row in result["items"]] == ["hallucination"]
    assert set(template["scores"]) == set(template["labels"]) and len(template["labels"]) == 2
    assert template["direction"] in ("MAXIMIZE", "MINIMIZE") and template["granularity"] == "SPAN"
    for variable in template["variables"]:
        assert "{" + variable + "}" in template["prompt"]
    for label in template["labels"]:
        assert label in template["prompt"]
    text = await tool_text(mcp_client, "find", {"kind": "judge_template", "name": "hallucination"})
    assert text.startswith("Judge template 'hallucination': labels ")

    listed = await call(mcp_client, "find", {"kind": "judge_template"})
    assert len(listed["items"]) >= 10 and listed["template"] is None
    row = next(r for r in listed["items"] if r["id"] == "hallucination")
    assert "variables: " in row["about"]


async def test_a_find_page_of_long_names_stays_under_8000_chars_and_pages_on(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    for i in range(60):
        await client.projects.create(f"{i:02d}-" + "very-long-project-name-" * 10)

    result = await mcp_client.call_tool("find", {"kind": "project"})

    text = result.content[0].text if result.content and result.content[0].type == "text" else ""
    data = result.structured_content or {}
    assert len(text) <= 8000
    assert data["has_more"] is True and data["next_cursor"]
    assert "more follow" in text.splitlines()[0]


async def test_status_and_find_lead_with_a_one_line_summary(mcp_client: Client, client: AsyncArizeClient) -> None:
    await client.projects.create("alpha")

    status_line = (await tool_text(mcp_client, "status")).splitlines()[0]
    assert "embedded local engine" in status_line and "space 'default'" in status_line
    assert "1 project" in status_line and "0 datasets" in status_line

    found = (await tool_text(mcp_client, "find", {"kind": "project", "name": "alp"})).splitlines()[0]
    assert found.startswith("1 project in space 'default'")
    none = (await tool_text(mcp_client, "find", {"kind": "task", "name": "zzz"})).splitlines()[0]
    assert none.startswith("No task matches in space 'default'")


async def test_find_with_no_match_says_what_to_try_next(mcp_client: Client) -> None:
    result = await call(mcp_client, "find", {"kind": "task", "name": "nothing-like-this"})
    assert result["items"] == []
    assert "try a shorter part of the name" in result["note"]


async def test_switching_to_an_unknown_space_names_the_tool_that_lists_spaces(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "status", {"space": "no-such-space"})
    assert "space 'no-such-space' not found" in text
    assert "find(kind='space'" in text
    assert "Traceback" not in text


async def test_status_with_a_space_makes_it_the_space_every_tool_uses(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    default = (await client.spaces.list()).items[0]
    other = await client.spaces.create(name="research", organization_id=default.organization_id)
    await client.projects.create("lab-app", space=other.id)
    await client.projects.create("prod-app")

    switched = await call(mcp_client, "status", {"space": "Research"})
    found = await call(mcp_client, "find", {"kind": "project"})

    assert switched["space"] == {"id": other.id, "name": "research"}
    assert [item["name"] for item in found["items"]] == ["lab-app"]
    assert found["space"]["name"] == "research"


async def test_a_bad_kind_is_refused_naming_the_argument(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "find", {"kind": "widgets"})
    assert "kind" in text


async def test_status_over_an_ax_backend_shows_that_a_key_is_set_but_never_the_key(live_engine: LiveEngine) -> None:
    secret = "ak-SECRET-status-123456"
    settings = Settings.resolve(
        environ={
            "ARIZE_API_KEY": secret,
            "ARIZE_SINGLE_HOST": "127.0.0.1",
            "ARIZE_SINGLE_PORT": str(live_engine.port),
            "ARIZE_API_SCHEME": "http",
            "ARIZE_SPACE": "default",
        },
        home=live_engine.home,
    )
    assert settings.backend == "ax"
    server = build_server(settings)
    async with Client(server, mode="legacy") as mcp:
        assert "Arize AX at http://127.0.0.1" in (mcp.instructions or "")
        result = await mcp.call_tool("status", {})
        tools = await mcp.list_tools()
    assert not result.is_error
    status = result.structured_content or {}
    assert status["backend"] == "ax"
    assert status["has_api_key"] is True
    assert status["space"]["name"] == "default"
    assert status["sources"]["api_key"] == "env ARIZE_API_KEY"
    assert secret not in str(result) + str(tools)


async def test_every_tool_has_a_description_annotations_an_output_schema_and_described_arguments(
    mcp_server: MCPServer[AppState],
) -> None:
    async with Client(mcp_server, mode="legacy") as mcp:
        tools = (await mcp.list_tools()).tools
    assert {"status", "find"} <= {tool.name for tool in tools}
    for tool in tools:
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.annotations is not None, tool.name
        hints = tool.annotations
        assert tool.annotations.title, tool.name
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
        for name, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"


async def test_find_lists_every_kind_with_a_summary(mcp_client: Client, client: AsyncArizeClient) -> None:
    project = await client.projects.create("chat-app")
    dataset = await add_dataset(client, "qa-set", experiments=1)
    evaluator = await add_evaluator(client, "json-check", kind="CODE")
    task = await client.request(
        "POST", "/v2/tasks", json_body=span_task(project.id, evaluator.id, name="nightly", type="CODE_EVALUATION")
    )
    config = await client.annotation_configs.create_freeform("reviewer-notes")
    integration_id = await add_ai_integration(client, "openai-main")

    expected = {
        "project": ("chat-app", project.id, "APPLICATION"),
        "dataset": ("qa-set", dataset.id, "updated "),
        "experiment": ("qa-set-exp0", dataset.experiment_ids[0], f"dataset {dataset.id}"),
        "evaluator": ("json-check", evaluator.id, "CODE"),
        "task": ("nightly", task["id"], f"CODE_EVALUATION; project {project.id}"),
        "annotation_config": ("reviewer-notes", config.id, "FREEFORM"),
        "ai_integration": ("openai-main", integration_id, "OPEN_AI; no key stored"),
    }
    for kind, (name, resource_id, about) in expected.items():
        result = await call(mcp_client, "find", {"kind": kind, "name": name})
        rows = [row for row in result["items"] if row["name"] == name]
        assert len(rows) == 1, (kind, result)
        assert rows[0]["id"] == resource_id
        assert rows[0]["about"].startswith(about), (kind, rows[0])
