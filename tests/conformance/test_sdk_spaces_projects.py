"""The official SDK lists spaces and manages projects on the engine over loopback HTTP."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import ConflictException, NotFoundException
from arize._generated.api_client.models.project_type import ProjectType

from tests.conftest import LiveEngine


def test_the_sdk_lists_the_default_space_with_an_organization_and_a_creation_time(sdk: ArizeClient) -> None:
    page = sdk.spaces.list()
    assert page.spaces is not None and page.pagination is not None
    assert [s.name for s in page.spaces] == ["default"]
    space = page.spaces[0]
    assert space.id is not None and space.organization_id
    assert space.created_at is not None and space.created_at.tzinfo is not None
    assert page.pagination.has_more is False and page.pagination.next_cursor is None
    assert sdk.spaces.get(space=space.id).name == "default"


def test_the_sdk_reaches_the_engine_through_single_host_and_single_port(live_engine: LiveEngine) -> None:
    client = ArizeClient(
        api_key="single-host-key",
        single_host=live_engine.host,
        single_port=live_engine.port,
        api_scheme="http",
        enable_caching=False,
    )
    assert [s.name for s in client.spaces.list().spaces or []] == ["default"]


def test_the_sdk_creates_lists_gets_renames_and_deletes_a_project_by_name(sdk: ArizeClient, space_id: str) -> None:
    created = sdk.projects.create(name="checkout-agent", space=space_id)
    assert created.name == "checkout-agent" and created.space_id == space_id
    assert created.project_type == ProjectType.APPLICATION

    listed = sdk.projects.list(space=space_id)
    assert listed.projects is not None
    assert [p.id for p in listed.projects if p.name == "checkout-agent"] == [created.id]

    # A name, not an ID: the SDK pages GET /v2/projects?space_id=…&name=… and matches exactly.
    assert sdk.projects.get(project="checkout-agent", space=space_id).id == created.id
    assert sdk.projects.get(project="checkout-agent", space="default").id == created.id

    renamed = sdk.projects.update(project=created.id or "", name="checkout")
    assert renamed.name == "checkout" and renamed.id == created.id

    sdk.projects.delete(project="checkout", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.projects.get(project=created.id or "")


def test_a_duplicate_project_name_surfaces_as_the_sdks_conflict_exception(sdk: ArizeClient, space_id: str) -> None:
    sdk.projects.create(name="twice", space=space_id)
    with pytest.raises(ConflictException) as caught:
        sdk.projects.create(name="twice", space=space_id)
    assert caught.value.status == 409
    assert caught.value.data is not None and "already exists" in (caught.value.data.detail or "")


def test_the_sdk_pages_projects_with_the_engines_cursor(sdk: ArizeClient, space_id: str) -> None:
    for i in range(5):
        sdk.projects.create(name=f"paged-{i}", space=space_id)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = sdk.projects.list(space=space_id, name="paged-", limit=2, cursor=cursor)
        assert page.projects is not None and page.pagination is not None
        seen.extend(p.name or "" for p in page.projects)
        cursor = page.pagination.next_cursor
        if not page.pagination.has_more:
            assert cursor is None
            break
    assert sorted(seen) == [f"paged-{i}" for i in range(5)]
