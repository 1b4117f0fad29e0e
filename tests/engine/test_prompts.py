"""Prompts, their versions, labels and tags: the REST contract over the engine's ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.models.ids import decode_id

MESSAGES = [
    {"role": "SYSTEM", "content": "You are a helpful assistant."},
    {"role": "USER", "content": "Hello, {name}!"},
]


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://arize-skills.local") as client:
        yield client


@pytest.fixture
async def space_id(client: AsyncArizeClient) -> str:
    assert client.space is not None
    return client.space


def version_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"commit_message": "v1", "provider": "OPEN_AI", "messages": MESSAGES}
    body.update(overrides)
    return body


def prompt_body(space_id: str, name: str = "greeter", **version: Any) -> dict[str, Any]:
    return {"space_id": space_id, "name": name, "version": version_body(**version)}


def assert_problem(response: httpx2.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"].startswith("https://arize.com/")
    for word in words:
        assert word in problem["detail"]
    return problem


async def create(http: httpx2.AsyncClient, space_id: str, name: str = "greeter", **version: Any) -> dict[str, Any]:
    response = await http.post("/v2/prompts", json=prompt_body(space_id, name, **version))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_version(http: httpx2.AsyncClient, prompt_id: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(f"/v2/prompts/{prompt_id}/versions", json=version_body(**fields))
    assert response.status_code == 201, response.text
    version: dict[str, Any] = response.json()
    return version


async def updated_at(http: httpx2.AsyncClient, prompt_id: str) -> str:
    stamp: str = (await http.get(f"/v2/prompts/{prompt_id}")).json()["updated_at"]
    return stamp


async def test_a_prompt_is_created_with_its_first_version_as_ax_shapes_it(
    http: httpx2.AsyncClient, space_id: str
) -> None:
    created = await create(
        http,
        space_id,
        model="gpt-4o",
        invocation_params={"temperature": 0, "max_tokens": 256},
        provider_params={"region": "us-east-1"},
    )
    assert decode_id(created["id"]).type_name == "Prompt"  # type: ignore[union-attr]
    assert created["name"] == "greeter" and created["space_id"] == space_id and created["description"] is None
    assert created["created_at"] == created["updated_at"]
    version = created["version"]
    assert decode_id(version["id"]).type_name == "PromptVersion"  # type: ignore[union-attr]
    assert version["prompt_id"] == created["id"] and version["commit_message"] == "v1"
    assert len(version["commit_hash"]) == 40 and version["labels"] == []
    assert version["input_variable_format"] == "F_STRING" and version["provider"] == "OPEN_AI"
    assert version["model"] == "gpt-4o"
    assert [(m["role"], m["content"]) for m in version["messages"]] == [(m["role"], m["content"]) for m in MESSAGES]
    assert version["invocation_params"] == {"temperature": 0, "max_tokens": 256}
    assert version["provider_params"] == {"region": "us-east-1"}

    bare = (await create(http, space_id, "bare", input_variable_format="MUSTACHE"))["version"]
    assert bare["input_variable_format"] == "MUSTACHE"
    assert not {"model", "invocation_params", "provider_params"} & set(bare)


async def test_a_version_keeps_tool_calls_and_tool_replies_as_given(http: httpx2.AsyncClient, space_id: str) -> None:
    call = {"id": "call_1", "type": "FUNCTION", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
    conversation = [
        {"role": "USER", "content": "Weather in {city}?"},
        {"role": "ASSISTANT", "tool_calls": [call]},
        {"role": "TOOL", "tool_call_id": "call_1", "content": "sunny"},
    ]
    version = (await create(http, space_id, messages=conversation))["version"]
    assert version["messages"] == conversation
    assert (await http.get(f"/v2/prompt-versions/{version['id']}")).json()["messages"] == conversation


async def test_get_resolves_the_latest_version_a_version_id_or_a_label(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    first = created["version"]
    second = await add_version(http, created["id"], commit_message="v2", provider="ANTHROPIC")
    assert second["prompt_id"] == created["id"] and second["id"] != first["id"]
    assert second["commit_hash"] != first["commit_hash"]

    latest = (await http.get(f"/v2/prompts/{created['id']}")).json()
    assert latest["version"]["id"] == second["id"] and latest["version"]["provider"] == "ANTHROPIC"
    pinned = (await http.get(f"/v2/prompts/{created['id']}", params={"version_id": first["id"]})).json()
    assert pinned["version"]["id"] == first["id"]
    assert (await http.get(f"/v2/prompt-versions/{first['id']}")).json() == pinned["version"]

    await http.put(f"/v2/prompt-versions/{first['id']}/labels", json={"labels": ["production"]})
    labelled = (await http.get(f"/v2/prompts/{created['id']}", params={"label": "production"})).json()
    assert labelled["version"]["id"] == first["id"] and labelled["version"]["labels"] == ["production"]
    by_label = (await http.get(f"/v2/prompts/{created['id']}/labels/production")).json()
    assert by_label == labelled["version"]


async def test_a_label_names_one_version_and_moves_when_set_on_another(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    first = created["version"]["id"]
    second = (await add_version(http, created["id"], commit_message="v2"))["id"]

    response = await http.put(f"/v2/prompt-versions/{first}/labels", json={"labels": ["production", "staging"]})
    assert response.status_code == 200 and response.json()["labels"] == ["production", "staging"]
    moved = await http.put(f"/v2/prompt-versions/{second}/labels", json={"labels": ["production"]})
    assert moved.json()["id"] == second and moved.json()["labels"] == ["production"]

    assert (await http.get(f"/v2/prompt-versions/{first}")).json()["labels"] == ["staging"]
    assert (await http.get(f"/v2/prompts/{created['id']}/labels/production")).json()["id"] == second
    versions = (await http.get(f"/v2/prompts/{created['id']}/versions")).json()["prompt_versions"]
    assert {v["id"]: v["labels"] for v in versions} == {first: ["staging"], second: ["production"]}

    replaced = await http.put(f"/v2/prompt-versions/{first}/labels", json={"labels": []})
    assert replaced.json()["labels"] == []
    assert_problem(await http.get(f"/v2/prompts/{created['id']}/labels/staging"), 404, "staging")
    assert (await http.get(f"/v2/prompts/{created['id']}/labels/production")).json()["id"] == second


async def test_labels_are_case_sensitive_and_free_text_in_the_path(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    version = created["version"]["id"]
    await http.put(f"/v2/prompt-versions/{version}/labels", json={"labels": ["Production", "canary 10%"]})
    assert_problem(await http.get(f"/v2/prompts/{created['id']}/labels/production"), 404, "case-sensitive")
    found = await http.get(f"/v2/prompts/{created['id']}/labels/canary%2010%25")
    assert found.status_code == 200 and found.json()["id"] == version


async def test_deleting_a_label_frees_it_and_only_the_version_it_names_can_drop_it(
    http: httpx2.AsyncClient, space_id: str
) -> None:
    created = await create(http, space_id)
    first = created["version"]["id"]
    second = (await add_version(http, created["id"]))["id"]
    await http.put(f"/v2/prompt-versions/{first}/labels", json={"labels": ["production"]})

    assert_problem(await http.delete(f"/v2/prompt-versions/{second}/labels/production"), 404, "production")
    response = await http.delete(f"/v2/prompt-versions/{first}/labels/production")
    assert response.status_code == 204 and response.content == b""
    assert (await http.get(f"/v2/prompt-versions/{first}")).json()["labels"] == []
    assert_problem(await http.get(f"/v2/prompts/{created['id']}", params={"label": "production"}), 404, "production")
    assert_problem(await http.delete(f"/v2/prompt-versions/{first}/labels/production"), 404)


async def test_tags_of_the_space_are_attached_listed_and_detached(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    path = f"/v2/prompts/{created['id']}/tags"
    assert (await http.get(path)).json() == {"tags": [], "pagination": {"has_more": False}}
    team = (await http.post("/v2/tags", json={"name": "team-a", "space_id": space_id, "color": "GREEN"})).json()
    prod = (await http.post("/v2/tags", json={"name": "prod", "space_id": space_id})).json()
    assert team["color"] == "GREEN" and prod["color"] is None and prod["description"] is None

    attached = await http.post(path, json={"tag_ids": [team["id"], prod["id"], team["id"]]})
    assert attached.status_code == 200
    assert {t["id"] for t in attached.json()["tags"]} == {team["id"], prod["id"]}
    again = await http.post(path, json={"tag_ids": [team["id"]]})
    assert len(again.json()["tags"]) == 2 and again.json()["pagination"] == {"has_more": False}

    removed = (await http.request("DELETE", path, json={"tag_ids": [team["id"], "VGFnOjk5OTk="]})).json()
    assert removed == {"completed": False, "deleted": [team["id"]], "not_deleted": ["VGFnOjk5OTk="]}
    assert [t["id"] for t in (await http.get(path)).json()["tags"]] == [prod["id"]]

    assert (await http.delete(f"/v2/tags/{prod['id']}")).status_code == 204
    assert (await http.get(path)).json()["tags"] == []


async def test_a_tag_must_exist_and_belong_to_the_prompts_space(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    path = f"/v2/prompts/{created['id']}/tags"
    other_space = (await http.post("/v2/spaces", json={"name": "other", "organization_id": await _org(http)})).json()
    foreign = (await http.post("/v2/tags", json={"name": "team-a", "space_id": other_space["id"]})).json()

    assert_problem(await http.post(path, json={"tag_ids": [foreign["id"]]}), 422, "another space")
    assert_problem(await http.post(path, json={"tag_ids": ["VGFnOjk5OTk="]}), 404, "tag")
    assert_problem(await http.post(path, json={"tag_ids": []}), 400, "tag_ids")
    assert (await http.get(path)).json()["tags"] == []
    taken = await http.post("/v2/tags", json={"name": "TEAM-A", "space_id": other_space["id"]})
    assert_problem(taken, 409, "team-a")


async def _org(http: httpx2.AsyncClient) -> str:
    organization_id: str = (await http.get("/v2/organizations")).json()["organizations"][0]["id"]
    return organization_id


async def test_the_list_pages_most_recently_updated_first_and_filters_by_name_and_space(
    http: httpx2.AsyncClient, space_id: str
) -> None:
    ids = [(await create(http, space_id, f"prompt-{n}"))["id"] for n in range(5)]
    await create(http, space_id, "other")
    await add_version(http, ids[0])  # moves prompt-0 to the front

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"space_id": space_id, "name": "PROMPT-", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/v2/prompts", params=params)).json()
        seen += [p["id"] for p in page["prompts"]]
        assert "version" not in (page["prompts"] or [{}])[0]
        if not page["pagination"]["has_more"]:
            assert "next_cursor" not in page["pagination"]
            break
        cursor = page["pagination"]["next_cursor"]
    assert seen == [ids[0], ids[4], ids[3], ids[2], ids[1]]

    by_space_name = (await http.get("/v2/prompts", params={"space_name": "DEFAU", "name": "other"})).json()
    assert [p["name"] for p in by_space_name["prompts"]] == ["other"]
    assert (await http.get("/v2/prompts", params={"space_name": "no such space"})).json()["prompts"] == []
    assert_problem(await http.get("/v2/prompts", params={"limit": 101}), 400, "limit")
    assert_problem(await http.get("/v2/prompts", params={"name": "other", "cursor": cursor or "x"}), 400, "cursor")
    assert_problem(await http.get("/v2/prompts", params={"space_id": "U3BhY2U6OTk5"}), 404, "space")


async def test_versions_page_newest_first(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    ids = [created["version"]["id"]] + [(await add_version(http, created["id"]))["id"] for _ in range(4)]
    path = f"/v2/prompts/{created['id']}/versions"
    first = (await http.get(path, params={"limit": 3})).json()
    assert [v["id"] for v in first["prompt_versions"]] == ids[:1:-1]
    rest = (await http.get(path, params={"limit": 3, "cursor": first["pagination"]["next_cursor"]})).json()
    assert [v["id"] for v in rest["prompt_versions"]] == ids[1::-1]
    assert rest["pagination"] == {"has_more": False}


async def test_every_write_moves_updated_at(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    prompt_id, version_id = created["id"], created["version"]["id"]
    tag_id = (await http.post("/v2/tags", json={"name": "t", "space_id": space_id})).json()["id"]
    writes = [
        ("PATCH", f"/v2/prompts/{prompt_id}", {"description": "greets people"}),
        ("POST", f"/v2/prompts/{prompt_id}/versions", version_body(commit_message="v2")),
        ("PUT", f"/v2/prompt-versions/{version_id}/labels", {"labels": ["production"]}),
        ("DELETE", f"/v2/prompt-versions/{version_id}/labels/production", None),
        ("POST", f"/v2/prompts/{prompt_id}/tags", {"tag_ids": [tag_id]}),
        ("DELETE", f"/v2/prompts/{prompt_id}/tags", {"tag_ids": [tag_id]}),
    ]
    before = created["updated_at"]
    for method, path, body in writes:
        response = await http.request(method, path, json=body) if body is not None else await http.request(method, path)
        assert response.is_success, (method, path, response.text)
        after = await updated_at(http, prompt_id)
        assert after > before, (method, path)
        before = after
    assert (await http.get(f"/v2/prompts/{prompt_id}")).json()["created_at"] == created["created_at"]


async def test_update_changes_only_the_description_and_null_clears_it(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    path = f"/v2/prompts/{created['id']}"
    described = await http.patch(path, json={"description": "greets people"})
    assert described.status_code == 200 and described.json()["description"] == "greets people"
    assert "version" not in described.json()
    assert (await http.patch(path, json={"description": None})).json()["description"] is None
    assert_problem(await http.patch(path, json={"name": "renamed"}), 400, "name", "unknown field")
    assert_problem(await http.patch(path, json={}), 400, "description")
    assert (await http.get(path)).json()["name"] == "greeter"


async def test_deleting_a_prompt_deletes_its_versions(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    second = await add_version(http, created["id"])
    response = await http.delete(f"/v2/prompts/{created['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_problem(await http.get(f"/v2/prompts/{created['id']}"), 404, "prompt")
    for version_id in (created["version"]["id"], second["id"]):
        assert_problem(await http.get(f"/v2/prompt-versions/{version_id}"), 404, "prompt version")
    assert_problem(await http.delete(f"/v2/prompts/{created['id']}"), 404)
    recreated = await create(http, space_id)
    assert recreated["id"] != created["id"]


async def test_a_name_is_unique_in_its_space_only(http: httpx2.AsyncClient, space_id: str) -> None:
    await create(http, space_id)
    assert_problem(await http.post("/v2/prompts", json=prompt_body(space_id)), 409, "greeter", "already exists")
    other = (await http.post("/v2/spaces", json={"name": "other", "organization_id": await _org(http)})).json()
    assert (await http.post("/v2/prompts", json=prompt_body(other["id"]))).status_code == 201
    assert len((await http.get("/v2/prompts", params={"name": "greeter"})).json()["prompts"]) == 2


async def test_unknown_ids_are_404_problems(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    other = await create(http, space_id, "other")
    missing_prompt, missing_version = "UHJvbXB0Ojk5OTk=", "UHJvbXB0VmVyc2lvbjo5OTk5"
    assert_problem(await http.get(f"/v2/prompts/{missing_prompt}"), 404, missing_prompt)
    assert_problem(await http.get(f"/v2/prompts/{created['version']['id']}"), 404)
    assert_problem(await http.post(f"/v2/prompts/{missing_prompt}/versions", json=version_body()), 404)
    assert_problem(await http.get(f"/v2/prompts/{missing_prompt}/versions"), 404)
    assert_problem(await http.get(f"/v2/prompt-versions/{missing_version}"), 404, missing_version)
    assert_problem(await http.put(f"/v2/prompt-versions/{missing_version}/labels", json={"labels": []}), 404)
    assert_problem(await http.get(f"/v2/prompts/{missing_prompt}/tags"), 404)
    assert_problem(await http.post("/v2/prompts", json=prompt_body("U3BhY2U6OTk5")), 404, "space")
    foreign_version = other["version"]["id"]
    pinned = await http.get(f"/v2/prompts/{created['id']}", params={"version_id": foreign_version})
    assert_problem(pinned, 404, "is not a version of prompt 'greeter'")


BAD_TOOL_CALL = {
    "role": "ASSISTANT",
    "tool_calls": [{"type": "FUNCTION", "function": {"name": "f", "arguments": "{x"}}],
}
BAD_BODIES = [
    ("no messages", {"messages": []}, "messages"),
    ("no provider", {"provider": None}, "provider"),
    ("an unknown provider", {"provider": "OPENAI"}, "provider: must be one of"),
    ("an unknown role", {"messages": [{"role": "BOT", "content": "hi"}]}, "role"),
    ("an unknown format", {"input_variable_format": "JINJA"}, "input_variable_format"),
    ("an empty commit message", {"commit_message": ""}, "commit_message"),
    ("a system-managed field", {"commit_hash": "abc"}, "commit_hash: unknown field"),
    ("a response-only parameter", {"invocation_params": {"service_tier": "priority"}}, "service_tier"),
    ("tool call arguments that are not JSON", {"messages": [BAD_TOOL_CALL]}, "arguments"),
]


@pytest.mark.parametrize(("case", "change", "detail"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_a_malformed_version_is_a_400_naming_the_field_and_writes_nothing(
    http: httpx2.AsyncClient, space_id: str, case: str, change: dict[str, Any], detail: str
) -> None:
    fields = {k: v for k, v in change.items() if v is not None}
    body = prompt_body(space_id, **fields)
    for key in (k for k, v in change.items() if v is None):
        del body["version"][key]
    assert_problem(await http.post("/v2/prompts", json=body), 400, detail)
    assert (await http.get("/v2/prompts")).json()["prompts"] == []

    created = await create(http, space_id)
    version = {**version_body(**fields)}
    for key in (k for k, v in change.items() if v is None):
        del version[key]
    assert_problem(await http.post(f"/v2/prompts/{created['id']}/versions", json=version), 400, detail)
    assert len((await http.get(f"/v2/prompts/{created['id']}/versions")).json()["prompt_versions"]) == 1


async def test_bad_label_and_get_requests_are_400_problems(http: httpx2.AsyncClient, space_id: str) -> None:
    created = await create(http, space_id)
    version = created["version"]["id"]
    path = f"/v2/prompt-versions/{version}/labels"
    assert_problem(await http.put(path, json={"labels": ["a", "a"]}), 400, "repeated: a")
    assert_problem(await http.put(path, json={"labels": [""]}), 400, "labels[0]")
    assert_problem(await http.put(path, json={}), 400, "labels")
    both = await http.get(f"/v2/prompts/{created['id']}", params={"version_id": version, "label": "production"})
    assert_problem(both, 400, "not both")
    assert (await http.get(f"/v2/prompt-versions/{version}")).json()["labels"] == []
