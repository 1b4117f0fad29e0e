"""Spaces and projects on the engine, through the client."""

from __future__ import annotations

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import BadRequestError, ConflictError, NameNotFoundError, NotFoundError
from arize_skills.models.ids import decode_id


async def test_a_new_engine_has_one_default_space_with_an_ax_style_id(client: AsyncArizeClient) -> None:
    page = await client.spaces.list()
    assert [s.name for s in page.items] == ["default"]
    decoded = decode_id(page.items[0].id)
    assert decoded is not None and decoded.type_name == "Space" and len(decoded.suffix) == 4


async def test_projects_are_created_listed_renamed_and_deleted_by_name_or_id(client: AsyncArizeClient) -> None:
    created = await client.projects.create("checkout-agent")
    assert decode_id(created.id) is not None and decode_id(created.id).type_name == "Model"  # type: ignore[union-attr]
    assert created.project_type == "APPLICATION"
    assert (await client.projects.get("checkout-agent")).id == created.id
    renamed = await client.projects.update(created.id, name="checkout")
    assert renamed.name == "checkout"
    await client.projects.delete("checkout")
    with pytest.raises(NameNotFoundError, match="checkout"):
        await client.projects.get("checkout")
    with pytest.raises(NotFoundError):
        await client.projects.get(created.id)


async def test_a_duplicate_project_name_is_a_409_and_writes_nothing(client: AsyncArizeClient) -> None:
    await client.projects.create("one")
    with pytest.raises(ConflictError, match="already exists"):
        await client.projects.create("one")
    assert [p.name async for p in client.projects.list()] == ["one"]


async def test_listing_pages_through_every_project_with_opaque_cursors(client: AsyncArizeClient) -> None:
    for i in range(7):
        await client.projects.create(f"p{i}")
    first = await client.projects.list(limit=3)
    assert len(first.items) == 3 and first.has_more and first.next_cursor
    names = [p.name async for p in client.projects.list(limit=3)]
    assert sorted(names) == [f"p{i}" for i in range(7)]
    assert len(names) == 7


async def test_name_filter_is_a_case_insensitive_substring(client: AsyncArizeClient) -> None:
    for name in ("Support-Bot", "support-eval", "billing"):
        await client.projects.create(name)
    found = [p.name async for p in client.projects.list(name="SUPPORT")]
    assert sorted(found) == ["Support-Bot", "support-eval"]


async def test_a_cursor_from_another_query_is_rejected(client: AsyncArizeClient) -> None:
    for i in range(3):
        await client.projects.create(f"p{i}")
    page = await client.projects.list(limit=1)
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request("GET", "/v2/projects", params={"cursor": page.next_cursor, "name": "p"})


async def test_limit_above_the_maximum_is_a_400_naming_the_bound(client: AsyncArizeClient) -> None:
    with pytest.raises(BadRequestError, match="between 1 and 100"):
        await client.request("GET", "/v2/projects", params={"limit": 101})


async def test_state_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with Engine.open(tmp_path) as engine, AsyncArizeClient(transport=engine.transport()) as c:
        c.space = (await c.spaces.list()).items[0].id
        created = await c.projects.create("kept")
        space_id = c.space
    async with Engine.open(tmp_path) as engine, AsyncArizeClient(transport=engine.transport()) as c:
        assert (await c.spaces.list()).items[0].id == space_id
        assert (await c.projects.get(created.id)).name == "kept"
