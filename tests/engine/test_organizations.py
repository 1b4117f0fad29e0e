"""Organizations on the engine, through the client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import BadRequestError, ConflictError, NameNotFoundError, NotFoundError
from arize_skills.models.ids import decode_id


async def _names(client: AsyncArizeClient, **params: Any) -> list[str]:
    return [o.name async for o in client.organizations.list(**params)]


async def test_a_new_engine_has_the_local_organization_holding_the_default_space(client: AsyncArizeClient) -> None:
    page = await client.organizations.list()
    assert [o.name for o in page.items] == ["local"] and not page.has_more
    local = page.items[0]
    decoded = decode_id(local.id)
    assert decoded is not None and decoded.type_name == "Organization" and len(decoded.suffix) == 4
    assert local.description == "" and local.created_at.tzinfo is not None
    space = await client.spaces.get(client.space or "")
    assert space.organization_id == local.id


async def test_organizations_are_created_read_by_name_or_id_renamed_described_and_deleted(
    client: AsyncArizeClient,
) -> None:
    created = await client.organizations.create(name="research", description="the research team")
    assert created.name == "research" and created.description == "the research team"
    assert (await client.organizations.get("research")).id == created.id
    assert (await client.organizations.get(created.id)).name == "research"

    renamed = await client.organizations.update("research", name="labs")
    assert renamed.id == created.id and renamed.name == "labs" and renamed.description == "the research team"
    described = await client.organizations.update(created.id, description="applied research")
    assert described.name == "labs" and described.description == "applied research"
    cleared = await client.organizations.update("labs", description=None)
    assert cleared.description is None and cleared.name == "labs"
    assert (await client.organizations.get(created.id)).description is None

    await client.organizations.delete("labs")
    assert await _names(client) == ["local"]
    with pytest.raises(NotFoundError, match=created.id):
        await client.organizations.get(created.id)
    with pytest.raises(NameNotFoundError, match="labs"):
        await client.organizations.get("labs")


async def test_an_organization_created_without_a_description_has_an_empty_one(client: AsyncArizeClient) -> None:
    created = await client.organizations.create(name="bare")
    assert created.description == ""
    raw = await client.request("POST", "/v2/organizations", json_body={"name": "explicit-null", "description": None})
    assert raw["description"] == ""


async def test_organization_names_are_unique_on_create_and_rename_and_a_refusal_writes_nothing(
    client: AsyncArizeClient,
) -> None:
    other = await client.organizations.create(name="other")
    with pytest.raises(ConflictError, match="'local' already exists"):
        await client.organizations.create(name="local")
    with pytest.raises(ConflictError, match="'local' already exists"):
        await client.organizations.update(other.id, name="local", description="changed")
    assert await _names(client) == ["local", "other"]
    assert (await client.organizations.get(other.id)).description == ""
    kept = await client.organizations.update(other.id, name="other")
    assert kept.name == "other"


async def test_the_name_filter_is_a_case_insensitive_substring(client: AsyncArizeClient) -> None:
    for name in ("Platform-Eng", "platform-research", "billing"):
        await client.organizations.create(name=name)
    assert await _names(client, name="PLATFORM") == ["Platform-Eng", "platform-research"]
    assert await _names(client, name="nothing-like-this") == []


async def test_listing_pages_through_every_organization_oldest_first_with_opaque_cursors(
    client: AsyncArizeClient,
) -> None:
    for i in range(6):
        await client.organizations.create(name=f"org-{i}")
    first = await client.organizations.list(limit=3)
    assert [o.name for o in first.items] == ["local", "org-0", "org-1"]
    assert first.has_more and first.next_cursor
    assert await _names(client, limit=3) == ["local"] + [f"org-{i}" for i in range(6)]
    last = await client.request("GET", "/v2/organizations", params={"limit": 100})
    assert last["pagination"] == {"has_more": False}


async def test_bad_list_parameters_are_400s_naming_the_parameter(client: AsyncArizeClient) -> None:
    for i in range(3):
        await client.organizations.create(name=f"org-{i}")
    for limit in (0, 101, "ten"):
        with pytest.raises(BadRequestError, match="limit"):
            await client.request("GET", "/v2/organizations", params={"limit": limit})
    page = await client.organizations.list(limit=1)
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request("GET", "/v2/organizations", params={"cursor": page.next_cursor, "name": "org"})
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request("GET", "/v2/organizations", params={"cursor": "not-a-cursor"})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "name: Field required"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"name": "x" * 256}, "name: String should have at most 255 characters"),
        ({"name": "ok", "description": "d" * 1001}, "description: String should have at most 1000 characters"),
        ({"name": "ok", "id": "T3JnYW5pemF0aW9uOjk="}, "id: unknown field"),
        ({"name": "ok", "created_at": "2026-01-01T00:00:00Z"}, "created_at: unknown field"),
        ({"name": 7}, "name: Input should be a valid string"),
    ],
)
async def test_a_malformed_create_body_is_a_400_naming_the_field_and_creates_nothing(
    client: AsyncArizeClient, body: dict[str, Any], detail: str
) -> None:
    with pytest.raises(BadRequestError, match=detail):
        await client.request("POST", "/v2/organizations", json_body=body)
    assert await _names(client) == ["local"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "at least one of name, description is required"),
        ({"name": None}, "name cannot be null"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"id": "x"}, "id: unknown field"),
    ],
)
async def test_a_malformed_update_body_is_a_400_and_changes_nothing(
    client: AsyncArizeClient, body: dict[str, Any], detail: str
) -> None:
    created = await client.organizations.create(name="steady", description="kept")
    with pytest.raises(BadRequestError, match=detail):
        await client.request("PATCH", f"/v2/organizations/{created.id}", json_body=body)
    again = await client.organizations.get(created.id)
    assert (again.name, again.description) == ("steady", "kept")


async def test_the_client_refuses_an_update_with_nothing_to_change(client: AsyncArizeClient) -> None:
    with pytest.raises(ValueError, match="name= or description="):
        await client.organizations.update("local")


async def test_an_unknown_or_wrong_kind_of_id_is_a_404_on_every_route(client: AsyncArizeClient) -> None:
    missing = "T3JnYW5pemF0aW9uOjk5OTk6YUJjRA=="  # Organization:9999:aBcD
    space_id = client.space or ""
    for org_id in (missing, space_id):
        with pytest.raises(NotFoundError, match="organization"):
            await client.request("GET", f"/v2/organizations/{org_id}")
        with pytest.raises(NotFoundError, match="organization"):
            await client.request("PATCH", f"/v2/organizations/{org_id}", json_body={"name": "x"})
        with pytest.raises(NotFoundError, match="organization"):
            await client.request("DELETE", f"/v2/organizations/{org_id}")


async def test_the_default_organization_cannot_be_deleted_while_it_holds_the_default_space(
    client: AsyncArizeClient,
) -> None:
    with pytest.raises(ConflictError) as refused:
        await client.organizations.delete("local")
    detail = refused.value.detail or ""
    assert "default organization 'local'" in detail and f"'default' ({client.space})" in detail
    assert await _names(client) == ["local"]


async def test_an_organization_holding_spaces_is_deleted_only_once_they_are_gone(client: AsyncArizeClient) -> None:
    team = await client.organizations.create(name="team")
    space = await client.spaces.create(name="team-space", organization_id=team.id)
    with pytest.raises(ConflictError, match=r"holds 1 space\(s\): 'team-space'"):
        await client.organizations.delete(team.id)
    assert (await client.spaces.get(space.id)).organization_id == team.id
    await client.spaces.delete(space.id)
    await client.organizations.delete(team.id)
    assert await _names(client) == ["local"]


async def test_an_organization_with_ai_integrations_scoped_to_it_is_not_deleted(client: AsyncArizeClient) -> None:
    team = await client.organizations.create(name="team")
    integration = await client.ai_integrations.create(
        "team-openai", provider="OPEN_AI", scopings=[{"organization_id": team.id}]
    )
    with pytest.raises(ConflictError, match="'team-openai'"):
        await client.organizations.delete("team")
    await client.ai_integrations.delete(integration.id)
    await client.organizations.delete("team")
    assert await _names(client) == ["local"]


async def test_spaces_can_be_listed_for_one_organization(client: AsyncArizeClient) -> None:
    local = (await client.organizations.list()).items[0]
    team = await client.organizations.create(name="team")
    await client.spaces.create(name="team-space", organization_id=team.id)
    assert [s.name async for s in client.spaces.list(org_id=team.id)] == ["team-space"]
    assert [s.name async for s in client.spaces.list(org_id=local.id)] == ["default"]


async def test_organizations_survive_a_restart_and_the_local_one_is_not_created_twice(tmp_path: Path) -> None:
    async with Engine.open(tmp_path) as engine, AsyncArizeClient(transport=engine.transport()) as c:
        created = await c.organizations.create(name="kept", description="across restarts")
    async with Engine.open(tmp_path) as engine, AsyncArizeClient(transport=engine.transport()) as c:
        assert await _names(c) == ["local", "kept"]
        again = await c.organizations.get("kept")
        assert (again.id, again.description) == (created.id, "across restarts")
