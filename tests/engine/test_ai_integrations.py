"""AI integrations on the engine, through the client; the API key is write-only everywhere."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.integrations import integration_secret
from arize_skills.errors import APIStatusError, BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError
from arize_skills.models.ai_integrations import (
    ENGINE_SECRET_HEADER,
    CreateAiIntegrationRequest,
    UpdateAiIntegrationRequest,
)
from arize_skills.models.ids import decode_id
from tests.conftest import LiveEngine

SECRET = "sk-test-SECRET-123"


async def _secret_of(engine: Engine, integration_id: str) -> str | None:
    decoded = decode_id(integration_id)
    assert decoded is not None
    return await engine.store.read(lambda conn: integration_secret(conn, decoded.number))


async def _stored_body(engine: Engine, integration_id: str) -> dict[str, Any]:
    decoded = decode_id(integration_id)
    assert decoded is not None

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        row = conn.execute("SELECT body FROM objects WHERE num = ?", (decoded.number,)).fetchone()
        body: dict[str, Any] = json.loads(row[0])
        return body

    return await engine.store.read(read)


async def test_an_integration_is_created_read_listed_updated_and_deleted(client: AsyncArizeClient) -> None:
    created = await client.ai_integrations.create(
        "vllm",
        provider="CUSTOM",
        api_key=SECRET,
        base_url="http://127.0.0.1:8000/v1",
        model_names=["qwen2.5-7b"],
        headers={"x-team": "evals"},
    )
    assert decode_id(created.id).type_name == "LlmIntegration"  # type: ignore[union-attr]
    assert created.has_api_key is True and created.base_url == "http://127.0.0.1:8000/v1"
    assert created.enable_default_models is False and created.function_calling_enabled is True
    assert created.auth_type == "DEFAULT" and created.scopings == [] and created.headers == {"x-team": "evals"}
    assert (await client.ai_integrations.get("vllm")).id == created.id
    assert [i.name async for i in client.ai_integrations.list()] == ["vllm"]

    updated = await client.ai_integrations.update(
        "vllm", name="vllm-2", model_names=["a", "b"], base_url=None, headers=None, function_calling_enabled=False
    )
    assert updated.name == "vllm-2" and updated.model_names == ["a", "b"] and updated.has_api_key is True
    assert updated.base_url is None and updated.headers is None and updated.function_calling_enabled is False
    assert (await client.ai_integrations.update(created.id, api_key=None)).has_api_key is False

    await client.ai_integrations.delete("vllm-2")
    with pytest.raises(NotFoundError):
        await client.ai_integrations.get(created.id)


async def test_the_key_is_stored_apart_and_read_only_by_the_engine_function(
    client: AsyncArizeClient, engine: Engine
) -> None:
    created = await client.ai_integrations.create("openai", provider="OPEN_AI", api_key=SECRET)
    assert await _secret_of(engine, created.id) == SECRET
    assert SECRET not in json.dumps(await _stored_body(engine, created.id))
    await client.ai_integrations.update(created.id, api_key="sk-rotated")
    assert await _secret_of(engine, created.id) == "sk-rotated"
    await client.ai_integrations.update(created.id, name="renamed")
    assert await _secret_of(engine, created.id) == "sk-rotated"
    await client.ai_integrations.update(created.id, api_key=None)
    assert await _secret_of(engine, created.id) is None
    await client.ai_integrations.update(created.id, api_key=SECRET)
    await client.ai_integrations.delete(created.id)
    assert await _secret_of(engine, created.id) is None


async def test_credential_headers_are_masked_and_a_masked_value_sent_back_keeps_the_stored_one(
    client: AsyncArizeClient, engine: Engine
) -> None:
    created = await client.ai_integrations.create(
        "proxy",
        provider="OPEN_AI",
        auth_type="PROXY_WITH_HEADERS",
        headers={"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET, "x-team": "evals"},
    )
    assert created.headers == {"Authorization": "********", "x-api-key": "********", "x-team": "evals"}
    assert created.headers is not None
    await client.ai_integrations.update(created.id, headers={**created.headers, "x-team": "ml"})
    stored = (await _stored_body(engine, created.id))["headers"]
    assert stored == {"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET, "x-team": "ml"}


async def test_integration_names_are_unique_across_the_account(client: AsyncArizeClient) -> None:
    default_space = await client.spaces.get(client.space or "")
    other = await client.spaces.create(name="other", organization_id=default_space.organization_id)
    await client.ai_integrations.create("shared", provider="OPEN_AI", scopings=[{"space_id": client.space}])
    with pytest.raises(ConflictError, match="unique per account"):
        await client.ai_integrations.create("shared", provider="ANTHROPIC", scopings=[{"space_id": other.id}])
    await client.ai_integrations.create("second", provider="ANTHROPIC")
    with pytest.raises(ConflictError):
        await client.ai_integrations.update("second", name="shared")


async def test_a_space_sees_account_wide_organization_and_its_own_integrations_only(client: AsyncArizeClient) -> None:
    default_space = await client.spaces.get(client.space or "")
    org_id = default_space.organization_id
    other = await client.spaces.create(name="other", organization_id=org_id)
    await client.ai_integrations.create("everyone", provider="OPEN_AI")
    await client.ai_integrations.create("explicit-account", provider="OPEN_AI", scopings=[{}])
    await client.ai_integrations.create("org", provider="OPEN_AI", scopings=[{"organization_id": org_id}])
    await client.ai_integrations.create("mine", provider="OPEN_AI", scopings=[{"space_id": client.space}])
    await client.ai_integrations.create("theirs", provider="OPEN_AI", scopings=[{"space_id": other.id}])

    mine = sorted([i.name async for i in client.ai_integrations.list(space=client.space)])
    assert mine == ["everyone", "explicit-account", "mine", "org"]
    theirs = sorted([i.name async for i in client.ai_integrations.list(space="other")])
    assert theirs == ["everyone", "explicit-account", "org", "theirs"]
    everything = await client.request("GET", "/v2/ai-integrations", params={"limit": 2})
    assert len(everything["ai_integrations"]) == 2 and everything["pagination"]["has_more"] is True

    moved = await client.ai_integrations.update("theirs", scopings=[{"space_id": client.space}], space="other")
    assert moved.scopings[0].space_id == client.space
    assert "theirs" in [i.name async for i in client.ai_integrations.list(space=client.space)]


BAD_CREATES = [
    ("an unknown key", {"name": "x", "provider": "OPEN_AI", "api_base": "http://x"}, BadRequestError, "api_base"),
    ("a wrong provider", {"name": "x", "provider": "OPENAI"}, BadRequestError, "provider: must be one of"),
    ("a wrong auth type", {"name": "x", "provider": "OPEN_AI", "auth_type": "BASIC"}, BadRequestError, "auth_type"),
    (
        "oversize headers",
        {"name": "x", "provider": "OPEN_AI", "headers": {"x-big": "a" * 8200}},
        BadRequestError,
        "at most 8175",
    ),
    (
        "AWS metadata without a role",
        {"name": "x", "provider": "AWS_BEDROCK", "provider_metadata": {"kind": "AWS"}},
        BadRequestError,
        "role_arn",
    ),
    (
        "metadata for another provider",
        {"name": "x", "provider": "OPEN_AI", "provider_metadata": {"kind": "AWS", "role_arn": "arn:aws:iam::1:role/r"}},
        UnprocessableEntityError,
        "configures AWS_BEDROCK",
    ),
    (
        "a scoping to an unknown space",
        {"name": "x", "provider": "OPEN_AI", "scopings": [{"space_id": "U3BhY2U6OTk5OTphYmNk"}]},
        NotFoundError,
        "scopings[0].space_id",
    ),
    (
        "an empty key",
        {"name": "x", "provider": "OPEN_AI", "api_key": " "},
        BadRequestError,
        "api_key must not be empty",
    ),
]


@pytest.mark.parametrize(("case", "body", "error", "detail"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES])
async def test_a_bad_create_names_the_field_and_writes_nothing(
    client: AsyncArizeClient, case: str, body: dict[str, Any], error: type[APIStatusError], detail: str
) -> None:
    with pytest.raises(error) as caught:
        await client.request("POST", "/v2/ai-integrations", json_body=body)
    assert detail in (caught.value.detail or "")
    assert await client.ai_integrations.list().to_list() == []


async def test_a_bad_update_is_refused_and_changes_nothing(client: AsyncArizeClient) -> None:
    created = await client.ai_integrations.create("x", provider="AWS_BEDROCK", model_names=["claude"])
    path = f"/v2/ai-integrations/{created.id}"
    for body, fragment in (
        ({}, "at least one"),
        ({"name": None}, "name cannot be null"),
        ({"model_names": None}, "model_names cannot be null"),
        ({"provider": "VERTEX_AI", "provider_metadata": {"kind": "AWS", "role_arn": "arn"}}, "configures AWS_BEDROCK"),
    ):
        with pytest.raises(APIStatusError) as caught:
            await client.request("PATCH", path, json_body=body)
        assert fragment in (caught.value.detail or "")
    after = await client.ai_integrations.get(created.id)
    assert after.provider == "AWS_BEDROCK" and after.model_names == ["claude"] and after.name == "x"


async def test_the_api_key_appears_in_no_response_log_record_exception_or_repr(
    client: AsyncArizeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def call(method: str, path: str, **kwargs: Any) -> Any:
        data = await client.request(method, path, **kwargs)
        seen.append(json.dumps(data))
        return data

    body = {"name": "openai", "provider": "OPEN_AI", "api_key": SECRET, "headers": {"Authorization": SECRET}}
    created = await call("POST", "/v2/ai-integrations", json_body=body)
    path = f"/v2/ai-integrations/{created['id']}"
    await call("GET", path)
    await call("GET", "/v2/ai-integrations")
    await call("GET", "/v2/ai-integrations", params={"space_id": client.space, "name": "open"})
    await call("PATCH", path, json_body={"api_key": SECRET, "model_names": ["gpt-4o"]})
    model = await client.ai_integrations.create("second", provider="OPEN_AI", api_key=SECRET)
    updated = await client.ai_integrations.update("second", api_key=SECRET, base_url="http://127.0.0.1:1")
    listed = await client.ai_integrations.list().to_list()
    seen += [repr(model), str(model), model.model_dump_json(), repr(updated), repr(listed), repr(client)]

    judge = await client.evaluators.create_judge(
        "judge", template="{input} good or bad", ai_integration="openai", model_name="gpt-4o"
    )
    seen.append(judge.model_dump_json())

    failures: list[BaseException] = []
    for bad in (
        {"name": "openai", "provider": "OPEN_AI", "api_key": SECRET},
        {"name": "big", "provider": "OPEN_AI", "api_key": SECRET, "headers": {"h": "a" * 9000}},
        {"name": "enum", "provider": "NOPE", "api_key": SECRET},
        {"name": "extra", "provider": "OPEN_AI", "api_key": SECRET, "unknown": SECRET[:3]},
    ):
        with pytest.raises(APIStatusError) as caught:
            await client.request("POST", "/v2/ai-integrations", json_body=bad)
        failures.append(caught.value)
    with pytest.raises(APIStatusError) as caught:
        await client.ai_integrations.create("openai", provider="OPEN_AI", api_key=SECRET)
    failures.append(caught.value)
    for failure in failures:
        seen += [str(failure), repr(failure), json.dumps(getattr(failure, "body", {}))]

    with pytest.raises(ValueError) as invalid:
        UpdateAiIntegrationRequest(api_key=SECRET, name=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as invalid_update:
        await client.ai_integrations.update("second", api_key=SECRET, name="")
    seen += [str(invalid.value), repr(invalid.value), str(invalid_update.value)]

    request_models = [
        CreateAiIntegrationRequest(name="m", provider="OPEN_AI", api_key=SECRET),
        UpdateAiIntegrationRequest(api_key=SECRET),
    ]
    seen += [text for m in request_models for text in (repr(m), str(m), m.model_dump_json())]
    assert all(m.to_body()["api_key"] == SECRET for m in request_models)

    assert len(seen) > 20
    for text in seen:
        assert SECRET not in text, text
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


def _as_unknown_route(response: httpx2.Response, method: str, path: str) -> None:
    """``response`` is the engine's answer to a route it does not have."""
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["detail"] == f"no route {method} {path}"
    assert SECRET not in response.text and "sk-" not in response.text


async def _refused_everywhere(http: httpx2.AsyncClient, path: str) -> None:
    for headers in ({}, {ENGINE_SECRET_HEADER: "wrong"}, {ENGINE_SECRET_HEADER: ""}):
        for method in ("GET", "POST", "PATCH", "DELETE"):
            _as_unknown_route(await http.request(method, path, headers=headers), method, path)


async def test_credentials_are_given_only_to_an_in_process_caller_presenting_the_engine_secret(
    client: AsyncArizeClient, engine: Engine
) -> None:
    created = await client.ai_integrations.create(
        "proxy", provider="OPEN_AI", api_key=SECRET, headers={"Authorization": f"Bearer {SECRET}", "x-team": "evals"}
    )
    path = f"/v2/ai-integrations/{created.id}/credentials"
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://127.0.0.1:2999") as http:
        await _refused_everywhere(http, path)
        wrong = engine.credentials_secret[:-1] + ("A" if engine.credentials_secret[-1] != "A" else "B")
        _as_unknown_route(await http.get(path, headers={ENGINE_SECRET_HEADER: wrong}), "GET", path)
        right = await http.get(path, headers={ENGINE_SECRET_HEADER: engine.credentials_secret})
        assert right.status_code == 200
        assert right.json() == {"api_key": SECRET, "headers": {"Authorization": f"Bearer {SECRET}", "x-team": "evals"}}

    with pytest.raises(NotFoundError) as refused:
        await client.ai_integrations.credentials(created.id, engine_secret="wrong-secret-of-some-length")
    assert "wrong-secret-of-some-length" not in str(refused.value)
    credentials = await client.ai_integrations.credentials("proxy", engine_secret=engine.credentials_secret)
    assert credentials.api_key is not None and credentials.api_key.get_secret_value() == SECRET
    assert credentials.headers == {"Authorization": f"Bearer {SECRET}", "x-team": "evals"}
    assert SECRET not in repr(credentials) and SECRET not in str(credentials)

    await client.ai_integrations.update(created.id, api_key=None, headers=None)
    cleared = await client.ai_integrations.credentials(created.id, engine_secret=engine.credentials_secret)
    assert cleared.api_key is None and cleared.headers == {}
    await client.ai_integrations.delete(created.id)
    with pytest.raises(NotFoundError) as missing:
        await client.ai_integrations.credentials(created.id, engine_secret=engine.credentials_secret)
    assert engine.credentials_secret not in str(missing.value) + repr(missing.value)
    assert engine.credentials_secret not in json.dumps(missing.value.body)


async def test_a_served_engine_gives_credentials_to_no_network_client(live_engine: LiveEngine) -> None:
    async with AsyncArizeClient(base_url=live_engine.url) as client:
        created = await client.ai_integrations.create("openai", provider="OPEN_AI", api_key=SECRET)
        path = f"/v2/ai-integrations/{created.id}/credentials"
        async with httpx2.AsyncClient(base_url=live_engine.url) as http:
            await _refused_everywhere(http, path)
        with pytest.raises(NotFoundError):
            await client.ai_integrations.credentials(created.id, engine_secret="a-guess-" + "x" * 40)
