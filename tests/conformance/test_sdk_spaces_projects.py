"""The official SDK lists spaces and manages projects on the engine over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import (
    ConflictException,
    NotFoundException,
    UnauthorizedException,
    UnprocessableEntityException,
)
from arize._generated.api_client.models.project_type import ProjectType
from arize.spaces.types import DefaultAgentRuntime, DefaultLLMIntegration

from tests.conftest import LiveEngine, serve_engine


def test_the_sdk_lists_the_default_space_with_an_organization_and_a_creation_time(sdk: ArizeClient) -> None:
    page = sdk.spaces.list()
    assert page.spaces is not None and page.pagination is not None
    assert [s.name for s in page.spaces] == ["default"]
    space = page.spaces[0]
    assert space.id is not None and space.organization_id
    assert space.created_at is not None and space.created_at.tzinfo is not None
    assert page.pagination.has_more is False and page.pagination.next_cursor is None
    assert sdk.spaces.get(space=space.id).name == "default"


def test_the_sdk_creates_updates_every_patchable_field_of_and_deletes_a_space(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    organization_id = sdk.spaces.get(space=space_id).organization_id or ""
    created = sdk.spaces.create(name="team-b", organization_id=organization_id, description="second team")
    assert created.name == "team-b" and created.organization_id == organization_id and created.is_private is False

    updated = sdk.spaces.update(
        space="team-b",
        description="evals team",
        is_private=True,
        ml_models_enabled=True,
        gradient_start_color="#112233",
        gradient_end_color="#445566",
        default_llm_integration=DefaultLLMIntegration(integration_id=ai_integration_id, model_name="gpt-4o-mini"),
    )
    assert updated.id == created.id and updated.description == "evals team" and updated.is_private is True
    assert updated.ml_models_enabled is True
    assert (updated.gradient_start_color, updated.gradient_end_color) == ("#112233", "#445566")
    assert updated.default_llm_integration is not None
    assert updated.default_llm_integration.integration_id == ai_integration_id
    assert updated.default_llm_integration.model_name == "gpt-4o-mini"

    cleared = sdk.spaces.update(space=created.id or "", description=None, default_llm_integration=None)
    assert cleared.description is None and cleared.default_llm_integration is None and cleared.is_private is True

    sdk.spaces.delete(space=created.id or "")
    assert [s.name for s in sdk.spaces.list().spaces or []] == ["default"]


def test_a_space_default_must_point_at_something_the_engine_has(sdk: ArizeClient, space_id: str) -> None:
    missing = "TGxtSW50ZWdyYXRpb246OTk5OmFCY0Q="  # LlmIntegration:999:aBcD
    with pytest.raises(NotFoundException) as not_found:
        sdk.spaces.update(
            space=space_id, default_llm_integration=DefaultLLMIntegration(integration_id=missing, model_name="m")
        )
    assert missing in (not_found.value.body or "")
    with pytest.raises(UnprocessableEntityException) as unsupported:
        sdk.spaces.update(space=space_id, default_agent_runtime=DefaultAgentRuntime(integration_id=missing))
    assert "default_agent_runtime" in (unsupported.value.body or "")
    assert sdk.spaces.get(space=space_id).default_llm_integration is None


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


def test_an_engine_with_a_token_accepts_the_sdks_bearer_key_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    token = "engine-token-5c1e"
    with serve_engine(tmp_path / "guarded", token=token) as guarded:

        def client(key: str) -> ArizeClient:
            return ArizeClient(
                api_key=key, api_host=guarded.host, api_scheme="http", api_port=guarded.port, enable_caching=False
            )

        assert [s.name for s in client(token).spaces.list().spaces or []] == ["default"]
        with pytest.raises(UnauthorizedException) as caught:
            client("wrong-key").spaces.list()
        assert caught.value.status == 401
        assert token not in (caught.value.body or "") and "wrong-key" not in (caught.value.body or "")
