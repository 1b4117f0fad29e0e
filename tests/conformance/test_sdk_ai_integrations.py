"""The official SDK manages AI integrations on the engine, and the provider key never comes back."""

from __future__ import annotations

import json
import urllib.request

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import NotFoundException
from arize.ai_integrations.types import AiIntegrationAuthType, AiIntegrationProvider

from tests.conformance.conftest import PROVIDER_API_KEY, SDK_API_KEY
from tests.conftest import LiveEngine


def _raw_get(live_engine: LiveEngine, path: str) -> str:
    request = urllib.request.Request(f"{live_engine.url}{path}", headers={"Authorization": f"Bearer {SDK_API_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


def test_an_integration_is_created_with_a_key_and_reports_only_has_api_key(
    sdk: ArizeClient, space_id: str, live_engine: LiveEngine
) -> None:
    created = sdk.ai_integrations.create(
        name="local-vllm",
        provider=AiIntegrationProvider.CUSTOM,
        api_key=PROVIDER_API_KEY,
        base_url="http://127.0.0.1:8000/v1",
        model_names=["qwen2.5-7b-instruct"],
        headers={"x-team": "evals"},
    )
    assert created.id and created.name == "local-vllm" and created.provider == AiIntegrationProvider.CUSTOM
    assert created.has_api_key is True
    assert created.base_url == "http://127.0.0.1:8000/v1" and created.model_names == ["qwen2.5-7b-instruct"]
    assert created.headers == {"x-team": "evals"}
    assert created.auth_type in (None, AiIntegrationAuthType.DEFAULT)
    assert PROVIDER_API_KEY not in created.model_dump_json()

    raw_one = _raw_get(live_engine, f"/v2/ai-integrations/{created.id}")
    raw_all = _raw_get(live_engine, "/v2/ai-integrations")
    for raw in (raw_one, raw_all):
        assert PROVIDER_API_KEY not in raw and SDK_API_KEY not in raw
    assert "api_key" not in json.loads(raw_one)
    assert all("api_key" not in item for item in json.loads(raw_all)["ai_integrations"])


def test_integrations_are_listed_and_resolved_by_name_within_a_space(sdk: ArizeClient, space_id: str) -> None:
    created = sdk.ai_integrations.create(name="team-anthropic", provider=AiIntegrationProvider.ANTHROPIC)
    assert created.has_api_key is False

    listed = sdk.ai_integrations.list(space=space_id, name="anthropic")
    assert listed.pagination is not None
    assert [i.id for i in listed.ai_integrations or []] == [created.id]
    assert sdk.ai_integrations.get(integration="team-anthropic", space=space_id).id == created.id


def test_an_integration_key_can_be_cleared_and_the_integration_deleted(sdk: ArizeClient, space_id: str) -> None:
    created = sdk.ai_integrations.create(
        name="rotating", provider=AiIntegrationProvider.OPEN_AI, api_key=PROVIDER_API_KEY
    )
    cleared = sdk.ai_integrations.update(integration=created.id or "", api_key=None, model_names=["gpt-4o"])
    assert cleared.has_api_key is False and cleared.model_names == ["gpt-4o"]

    sdk.ai_integrations.delete(integration="rotating", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.ai_integrations.get(integration=created.id or "")
