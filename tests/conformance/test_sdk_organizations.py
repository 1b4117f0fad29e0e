"""The official SDK manages organizations on the engine over loopback HTTP."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import BadRequestException, ConflictException, NotFoundException
from arize.utils.resolve import NotFoundError as SdkNameNotFoundError


def test_the_sdk_lists_and_gets_the_local_organization_that_holds_the_default_space(
    sdk: ArizeClient, space_id: str
) -> None:
    page = sdk.organizations.list()
    assert page.organizations is not None and page.pagination is not None
    assert [o.name for o in page.organizations] == ["local"]
    local = page.organizations[0]
    assert local.id is not None and local.description == ""
    assert local.created_at is not None and local.created_at.tzinfo is not None
    assert page.pagination.has_more is False and page.pagination.next_cursor is None
    assert sdk.organizations.get(organization="local").id == local.id
    assert sdk.organizations.get(organization=local.id).name == "local"
    assert sdk.spaces.get(space=space_id).organization_id == local.id


def test_the_sdk_creates_updates_and_deletes_an_organization_by_name(sdk: ArizeClient) -> None:
    created = sdk.organizations.create(name="agent-team", description="agents")
    assert created.id is not None and created.name == "agent-team" and created.description == "agents"

    renamed = sdk.organizations.update(organization="agent-team", name="platform-team")
    assert renamed.id == created.id and renamed.name == "platform-team" and renamed.description == "agents"
    described = sdk.organizations.update(organization=created.id, description="platform and agents")
    assert described.name == "platform-team" and described.description == "platform and agents"
    cleared = sdk.organizations.update(organization="platform-team", description=None)
    assert cleared.description is None and cleared.name == "platform-team"

    sdk.organizations.delete(organization="platform-team")
    assert [o.name for o in sdk.organizations.list().organizations or []] == ["local"]
    with pytest.raises(NotFoundException):
        sdk.organizations.get(organization=created.id)
    with pytest.raises(SdkNameNotFoundError):
        sdk.organizations.get(organization="platform-team")


def test_the_sdk_pages_and_filters_organizations_by_name(sdk: ArizeClient) -> None:
    for name in ("Eval-One", "eval-two", "billing"):
        sdk.organizations.create(name=name)
    first = sdk.organizations.list(name="EVAL", limit=1)
    assert [o.name for o in first.organizations or []] == ["Eval-One"]
    assert first.pagination is not None and first.pagination.has_more and first.pagination.next_cursor
    second = sdk.organizations.list(name="EVAL", limit=1, cursor=first.pagination.next_cursor)
    assert [o.name for o in second.organizations or []] == ["eval-two"]
    assert second.pagination is not None and second.pagination.has_more is False
    with pytest.raises(BadRequestException):
        sdk.organizations.list(name="billing", cursor=first.pagination.next_cursor)


def test_a_space_created_in_a_new_organization_is_listed_under_it_and_blocks_its_deletion(sdk: ArizeClient) -> None:
    team = sdk.organizations.create(name="team")
    assert team.id is not None
    space = sdk.spaces.create(name="team-space", organization_id=team.id)
    assert space.organization_id == team.id
    listed = sdk.spaces.list(organization_id=team.id)
    assert [s.name for s in listed.spaces or []] == ["team-space"]

    with pytest.raises(ConflictException) as refused:
        sdk.organizations.delete(organization="team")
    assert "team-space" in (refused.value.body or "")
    sdk.spaces.delete(space=space.id or "")
    sdk.organizations.delete(organization=team.id)
    assert [o.name for o in sdk.organizations.list().organizations or []] == ["local"]


def test_the_sdk_gets_409s_for_a_duplicate_name_and_for_deleting_the_default_organization(sdk: ArizeClient) -> None:
    with pytest.raises(ConflictException) as duplicate:
        sdk.organizations.create(name="local")
    assert "already exists" in (duplicate.value.body or "")
    with pytest.raises(ConflictException) as default:
        sdk.organizations.delete(organization="local")
    assert "default organization" in (default.value.body or "")
    assert [o.name for o in sdk.organizations.list().organizations or []] == ["local"]
