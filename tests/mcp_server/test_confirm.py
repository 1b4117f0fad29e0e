"""Destructive actions are confirmed: by ``confirm=true``, by asking the user (elicitation), or not at all."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import Field

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import NotFoundError
from arize_skills.mcp_server.confirm import Confirmed, confirmation
from arize_skills.mcp_server.errors import tool_errors
from arize_skills.mcp_server.state import AppState, app_state
from arize_skills.mcp_server.tools import register_tool
from arize_skills.mcp_server.types import Confirm, ProjectRef, Ref, ToolContext, ToolResult
from tests.mcp_server.conftest import call, call_error

MODES = ["legacy", "auto"]


async def _delete_question(project: str, ctx: ToolContext) -> str:
    found = await app_state(ctx).client.projects.get(project)
    return f"Delete project '{found.name}' (id {found.id}) and all its spans? This cannot be undone."


ConfirmDelete = Annotated[Confirmed, confirmation(_delete_question)]


class Deleted(ToolResult):
    project: Ref = Field(description="The project deleted.")
    confirmed_by: Literal["argument", "elicitation"] = Field(description="How the user confirmed.")


@tool_errors
async def delete_project(
    project: ProjectRef, confirmed: ConfirmDelete, ctx: ToolContext, confirm: Confirm = False
) -> Deleted:
    """Delete a project and all its spans, after the user confirmed. Use only when the user asked for it."""
    client = app_state(ctx).client
    found = await client.projects.get(project)
    await client.projects.delete(found.id)
    return Deleted(project=Ref(id=found.id, name=found.name), confirmed_by=confirmed.how)


@pytest.fixture
def server(mcp_server: MCPServer[AppState]) -> MCPServer[AppState]:
    register_tool(mcp_server, delete_project, title="Delete a project", kind="delete")
    return mcp_server


class User:
    """Answers every elicitation the same way and remembers the questions."""

    def __init__(self, action: Literal["accept", "decline", "cancel"], content: dict[str, Any] | None = None) -> None:
        self.action = action
        self.content = content
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        return ElicitResult(action=self.action, content=self.content)


async def exists(client: AsyncArizeClient, project_id: str) -> bool:
    try:
        await client.projects.get(project_id)
    except NotFoundError:
        return False
    return True


@pytest.mark.parametrize("mode", MODES)
async def test_a_user_who_accepts_the_question_gets_the_action_done(
    server: MCPServer[AppState], client: AsyncArizeClient, mode: str
) -> None:
    project = await client.projects.create("old-traces")
    user = User("accept", {"confirm": True})
    async with Client(server, mode=mode, elicitation_callback=user) as mcp:
        result = await call(mcp, "delete_project", {"project": "old-traces"})
    assert result == {"project": {"id": project.id, "name": "old-traces"}, "confirmed_by": "elicitation"}
    assert user.questions == [
        f"Delete project 'old-traces' (id {project.id}) and all its spans? This cannot be undone."
    ]
    assert not await exists(client, project.id)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "action,content,expected",
    [
        ("decline", None, "did not confirm: nothing was changed"),
        ("accept", {"confirm": False}, "did not confirm: nothing was changed"),
        ("cancel", None, "dismissed the confirmation: nothing was changed"),
    ],
)
async def test_a_user_who_declines_or_dismisses_the_question_changes_nothing(
    server: MCPServer[AppState],
    client: AsyncArizeClient,
    mode: str,
    action: Literal["accept", "decline", "cancel"],
    content: dict[str, Any] | None,
    expected: str,
) -> None:
    project = await client.projects.create("keep-me")
    answer = User(action, content)
    async with Client(server, mode=mode, elicitation_callback=answer) as mcp:
        text = await call_error(mcp, "delete_project", {"project": "keep-me"})
    assert expected in text
    assert answer.questions, "the user was asked"
    assert await exists(client, project.id)


async def test_without_elicitation_the_agent_is_told_to_ask_the_user_and_nothing_changes(
    server: MCPServer[AppState], client: AsyncArizeClient, mcp_client_mode: str
) -> None:
    project = await client.projects.create("needs-a-yes")
    async with Client(server, mode=mcp_client_mode) as mcp:
        text = await call_error(mcp, "delete_project", {"project": "needs-a-yes"})
    assert f"Confirmation required: Delete project 'needs-a-yes' (id {project.id})" in text
    assert "Ask the user, then call again with confirm=true" in text
    assert await exists(client, project.id)


async def test_confirm_true_goes_ahead_without_asking(
    server: MCPServer[AppState], client: AsyncArizeClient, mcp_client_mode: str
) -> None:
    project = await client.projects.create("agreed")
    user = User("decline")
    async with Client(server, mode=mcp_client_mode, elicitation_callback=user) as mcp:
        result = await call(mcp, "delete_project", {"project": "agreed", "confirm": True})
    assert result["confirmed_by"] == "argument"
    assert user.questions == []
    assert not await exists(client, project.id)


async def test_a_question_about_a_missing_resource_is_an_actionable_error(
    server: MCPServer[AppState], mcp_client_mode: str
) -> None:
    async with Client(server, mode=mcp_client_mode) as mcp:
        text = await call_error(mcp, "delete_project", {"project": "never-made", "confirm": True})
    assert "project 'never-made' not found" in text
    assert "find(kind='project', name='never-made')" in text


async def test_the_confirmation_parameter_stays_out_of_the_input_schema(server: MCPServer[AppState]) -> None:
    async with Client(server, mode="legacy") as mcp:
        tool = next(t for t in (await mcp.list_tools()).tools if t.name == "delete_project")
    assert set(tool.input_schema["properties"]) == {"project", "confirm"}
    assert tool.input_schema["properties"]["confirm"]["type"] == "boolean"
    assert "confirm" not in tool.input_schema.get("required", [])
    assert tool.annotations is not None and tool.annotations.destructive_hint is True
