"""Evaluators, their versions and the template catalogue on the engine, through the client."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import (
    BadRequestError,
    ConflictError,
    NameNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from arize_skills.evals.templates import evaluator_templates
from arize_skills.models.ids import decode_id

TEMPLATE = "Question: {input}\nAnswer: {output}\nAnswer with one label: correct or incorrect."


async def _integration(client: AsyncArizeClient, name: str = "openai") -> str:
    return (await client.ai_integrations.create(name, provider="OPEN_AI", api_key="sk-test")).id


def _judge_body(space_id: str, integration_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "space_id": space_id,
        "name": "Correctness",
        "type": "TEMPLATE",
        "version": {
            "commit_message": "v1",
            "template_config": {
                "name": "correctness",
                "template": TEMPLATE,
                "include_explanations": True,
                "use_function_calling": True,
                "classification_choices": {"correct": 1, "incorrect": 0},
                "llm_config": {
                    "ai_integration_id": integration_id,
                    "model_name": "gpt-4o",
                    "invocation_parameters": {"temperature": 0},
                    "provider_parameters": {},
                },
            },
        },
    }
    body.update(overrides)
    return body


def _code_body(space_id: str, **config: Any) -> dict[str, Any]:
    code_config = {"type": "MANAGED", "name": "has_refund", "variables": ["attributes.output.value"], **config}
    return {
        "space_id": space_id,
        "name": "Mentions refund",
        "type": "CODE",
        "version": {"commit_message": "v1", "code_config": code_config},
    }


async def _count_evaluators(client: AsyncArizeClient) -> int:
    return len(await client.evaluators.list().to_list())


async def test_a_judge_is_created_read_listed_renamed_and_deleted_by_name_or_id(client: AsyncArizeClient) -> None:
    await _integration(client)
    created = await client.evaluators.create_judge(
        "Correctness",
        template=TEMPLATE,
        ai_integration="openai",
        model_name="gpt-4o",
        classification_choices={"correct": 1, "incorrect": 0},
        invocation_parameters={"temperature": 0},
        description="grades answers",
    )
    assert decode_id(created.id).type_name == "Evaluator"  # type: ignore[union-attr]
    assert created.type == "TEMPLATE" and created.space_id == client.space
    version = created.version
    assert version is not None and version.type == "TEMPLATE" and version.evaluator_id == created.id
    config = version.template_config
    assert config is not None and config.name == "correctness"
    assert config.direction == "MAXIMIZE" and config.data_granularity == "SPAN" and config.use_structured_output
    assert config.llm_config is not None and config.llm_config.invocation_parameters == {"temperature": 0}

    fetched = await client.evaluators.get("Correctness")
    assert fetched.id == created.id and fetched.version is not None and fetched.version.id == version.id
    assert [e.name async for e in client.evaluators.list()] == ["Correctness"]

    renamed = await client.evaluators.update(created.id, name="Answer correctness", description=None)
    assert renamed.name == "Answer correctness" and renamed.description is None
    assert "version" not in await client.request("PATCH", f"/v2/evaluators/{created.id}", json_body={"name": "x"})

    await client.evaluators.delete("x")
    with pytest.raises(NotFoundError):
        await client.evaluators.get(created.id)
    with pytest.raises(NotFoundError):
        await client.evaluators.get_version(version.id)
    with pytest.raises(NameNotFoundError):
        await client.evaluators.get("x")


async def test_a_version_response_carries_only_the_configuration_of_its_type(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    judge = await client.request("POST", "/v2/evaluators", json_body=_judge_body(client.space or "", integration_id))
    assert "template_config" in judge["version"]
    assert "code_config" not in judge["version"] and "remote_config" not in judge["version"]
    code = await client.request(
        "POST", "/v2/evaluators", json_body=_code_body(client.space or "", managed_evaluator="JSON_PARSEABLE")
    )
    assert set(code["version"]) >= {"id", "evaluator_id", "commit_hash", "commit_message", "created_at", "type"}
    assert "template_config" not in code["version"]
    assert code["version"]["code_config"]["managed_evaluator"] == "JSON_PARSEABLE"
    assert "code" not in code["version"]["code_config"]


async def test_a_new_version_becomes_latest_and_every_version_stays_readable(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    created = await client.evaluators.create(_judge_body(client.space or "", integration_id))
    first = created.version
    assert first is not None
    second_body = copy.deepcopy(_judge_body("", integration_id)["version"])
    second_body["commit_message"] = "stricter"
    second_body["template_config"]["direction"] = "MINIMIZE"
    second = await client.evaluators.create_version("Correctness", second_body)
    assert second.commit_message == "stricter" and second.commit_hash != first.commit_hash

    assert (await client.evaluators.get(created.id)).version.id == second.id  # type: ignore[union-attr]
    pinned = await client.evaluators.get(created.id, version_id=first.id)
    assert pinned.version is not None and pinned.version.template_config.direction == "MAXIMIZE"  # type: ignore[union-attr]
    listed = [v.id async for v in client.evaluators.list_versions("Correctness", limit=1)]
    assert listed == [second.id, first.id]
    assert (await client.evaluators.get_version(first.id)).commit_message == "v1"


async def test_a_version_of_another_evaluator_is_not_found_through_this_one(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    one = await client.evaluators.create(_judge_body(client.space or "", integration_id, name="one"))
    two = await client.evaluators.create(_judge_body(client.space or "", integration_id, name="two"))
    with pytest.raises(NotFoundError, match="not a version of"):
        await client.evaluators.get(one.id, version_id=two.version.id)  # type: ignore[union-attr]


async def test_deleting_versions_reports_each_id_as_deleted_or_not(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    one = await client.evaluators.create(_judge_body(client.space or "", integration_id, name="one"))
    two = await client.evaluators.create(_judge_body(client.space or "", integration_id, name="two"))
    extra = await client.evaluators.create_version(one.id, _judge_body("", integration_id)["version"])
    first_id, other_id = one.version.id, two.version.id  # type: ignore[union-attr]
    unknown = "RXZhbHVhdG9yVmVyc2lvbjo5OTk5OmFiY2Q="
    result = await client.evaluators.delete_versions(one.id, [first_id, first_id, other_id, unknown])
    assert result.completed is True
    assert result.deleted_version_ids == [first_id]
    assert result.not_deleted_version_ids == [other_id, unknown]
    assert [v.id async for v in client.evaluators.list_versions(one.id)] == [extra.id]
    assert (await client.evaluators.get_version(other_id)).id == other_id


async def test_a_managed_code_evaluator_is_checked_against_its_registry_entry(client: AsyncArizeClient) -> None:
    created = await client.evaluators.create_code_evaluator(
        "Mentions refund",
        managed_evaluator="CONTAINS_ANY_KEYWORD",
        variables=["attributes.output.value"],
        static_params=[{"name": "keywords", "type": "STRING_ARRAY", "default_value": ["refund", "money back"]}],
    )
    code = created.version.code_config  # type: ignore[union-attr]
    assert code is not None and code.type == "MANAGED" and code.name == "mentions_refund"
    assert code.static_params is not None and code.static_params[0].default_value == ["refund", "money back"]
    exact = await client.evaluators.create_code_evaluator(
        "Matches reference", managed_evaluator="EXACT_MATCH", variables=["output", "expected"]
    )
    assert exact.version.code_config.variables == ["output", "expected"]  # type: ignore[union-attr]


async def test_a_custom_code_evaluator_is_stored_with_its_code(client: AsyncArizeClient) -> None:
    code = "class Evaluator:\n    def evaluate(self, output):\n        return len(output) < 500\n"
    body = _code_body(client.space or "", type="CUSTOM", code=code, imports="import re")
    created = await client.evaluators.create(body)
    config = created.version.code_config  # type: ignore[union-attr]
    assert config is not None and config.type == "CUSTOM" and config.code == code and config.imports == "import re"
    assert config.managed_evaluator is None


def _param(name: str, kind: str, value: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "default_value": value}


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return body


BAD_JUDGES = [
    ("unknown top-level key", "color", "blue", "color: unknown field"),
    (
        "the spec-prose flag name",
        "version.template_config.use_function_calling_if_available",
        True,
        "use_function_calling_if_available: unknown field",
    ),
    (
        "a response-only invocation parameter",
        "version.template_config.llm_config.invocation_parameters.service_tier",
        "priority",
        "service_tier: unknown field",
    ),
    ("a wrong direction", "version.template_config.direction", "UP", "direction: must be one of"),
    ("a wrong granularity", "version.template_config.data_granularity", "SPANS", "data_granularity"),
    (
        "a wrong reasoning effort",
        "version.template_config.llm_config.invocation_parameters.reasoning_effort",
        "max",
        "reasoning_effort: must be one of",
    ),
    ("a bad eval column name", "version.template_config.name", "answer/score", "not a valid eval column name"),
    ("an empty commit message", "version.commit_message", "", "commit_message"),
    ("a HARNESS evaluator", "type", "HARNESS", "read-only"),
    ("a missing use_function_calling", "version.template_config.use_function_calling", None, "use_function_calling"),
    ("empty classification choices", "version.template_config.classification_choices", {}, "at least one label"),
    (
        "two configurations",
        "version.code_config",
        {"type": "MANAGED", "name": "j", "managed_evaluator": "JSON_PARSEABLE", "variables": ["output"]},
        "exactly one of",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "detail"), BAD_JUDGES, ids=[c[0] for c in BAD_JUDGES])
async def test_a_malformed_judge_is_a_400_naming_the_field_and_writes_nothing(
    client: AsyncArizeClient, case: str, path: str, value: Any, detail: str
) -> None:
    integration_id = await _integration(client)
    body = _set(_judge_body(client.space or "", integration_id), path, value)
    if value is None:
        del body["version"]["template_config"]["use_function_calling"]
    with pytest.raises(BadRequestError) as caught:
        await client.request("POST", "/v2/evaluators", json_body=body)
    assert detail in (caught.value.detail or "")
    assert await _count_evaluators(client) == 0


ONE = ["attributes.output.value"]
BAD_CODE = [
    ("a regex that does not compile", "MATCHES_REGEX", ONE, [_param("pattern", "REGEX", "(a")], "regular expression"),
    ("a missing required param", "MATCHES_REGEX", ONE, None, "needs the REGEX parameter 'pattern'"),
    ("an unknown param", "JSON_PARSEABLE", ONE, [_param("pattern", "REGEX", "a")], "has no parameter 'pattern'"),
    ("a param of the wrong type", "MATCHES_REGEX", ONE, [_param("pattern", "STRING", "a")], "has type REGEX"),
    ("a list for a string", "MATCHES_REGEX", ONE, [_param("pattern", "REGEX", ["a"])], "must be a string"),
    ("a string for a list", "CONTAINS_ALL_KEYWORDS", ONE, [_param("keywords", "STRING_ARRAY", "a")], "must be a list"),
    ("an empty keyword list", "CONTAINS_ANY_KEYWORD", ONE, [_param("keywords", "STRING_ARRAY", [])], "non-empty list"),
    ("a flag outside its choices", "EXACT_MATCH", ["a", "b"], [_param("case_sensitive", "STRING", "yes")], "one of"),
    ("too few variables", "EXACT_MATCH", ONE, None, "takes 2 variables"),
    ("too many variables", "JSON_PARSEABLE", ["a", "b"], None, "takes 1 variable (value), got 2"),
    ("an unknown managed evaluator", "LEVENSHTEIN", ONE, None, "managed_evaluator: must be one of"),
]


@pytest.mark.parametrize(
    ("case", "managed", "variables", "static_params", "detail"), BAD_CODE, ids=[c[0] for c in BAD_CODE]
)
async def test_a_managed_config_that_does_not_fit_the_registry_is_a_400_and_writes_nothing(
    client: AsyncArizeClient, case: str, managed: str, variables: list[str], static_params: Any, detail: str
) -> None:
    config: dict[str, Any] = {"managed_evaluator": managed, "variables": variables}
    if static_params is not None:
        config["static_params"] = static_params
    with pytest.raises(BadRequestError) as caught:
        await client.request("POST", "/v2/evaluators", json_body=_code_body(client.space or "", **config))
    assert detail in (caught.value.detail or "")
    assert await _count_evaluators(client) == 0


async def test_the_registry_error_says_how_many_variables_an_evaluator_takes(client: AsyncArizeClient) -> None:
    body = _code_body(client.space or "", managed_evaluator="EXACT_MATCH")
    with pytest.raises(BadRequestError, match=r"EXACT_MATCH takes 2 variables \(value, expected\), got 1"):
        await client.request("POST", "/v2/evaluators", json_body=body)


async def test_a_code_evaluator_filter_must_compile(client: AsyncArizeClient) -> None:
    bad = _code_body(client.space or "", managed_evaluator="JSON_PARSEABLE", query_filter="span_kind = ")
    with pytest.raises(BadRequestError, match="code_config.query_filter: invalid filter at position"):
        await client.request("POST", "/v2/evaluators", json_body=bad)
    good = _code_body(client.space or "", managed_evaluator="JSON_PARSEABLE", query_filter="span_kind = 'LLM'")
    created = await client.evaluators.create(good)
    assert created.version.code_config.query_filter == "span_kind = 'LLM'"  # type: ignore[union-attr]


async def test_custom_code_that_is_not_python_is_a_400(client: AsyncArizeClient) -> None:
    body = _code_body(client.space or "", type="CUSTOM", code="class Evaluator(:\n")
    with pytest.raises(BadRequestError, match="code_config.code is not valid Python"):
        await client.request("POST", "/v2/evaluators", json_body=body)


async def test_a_configuration_that_does_not_match_the_type_is_a_422(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    body = _judge_body(client.space or "", integration_id, type="CODE")
    with pytest.raises(UnprocessableEntityError, match="template_config does not fit a CODE evaluator"):
        await client.request("POST", "/v2/evaluators", json_body=body)
    created = await client.evaluators.create(_judge_body(client.space or "", integration_id))
    code_version = _code_body("", managed_evaluator="JSON_PARSEABLE")["version"]
    with pytest.raises(UnprocessableEntityError):
        await client.evaluators.create_version(created.id, code_version)
    assert len(await client.evaluators.list_versions(created.id).to_list()) == 1


async def test_remote_evaluators_are_refused_with_a_403_that_says_why(client: AsyncArizeClient) -> None:
    body = {
        "space_id": client.space,
        "name": "remote",
        "type": "REMOTE",
        "version": {"commit_message": "v1", "remote_config": {"integration_id": "SW50ZWdyYXRpb246MTphYmNk"}},
    }
    with pytest.raises(PermissionDeniedError, match="local engine does not have"):
        await client.request("POST", "/v2/evaluators", json_body=body)


async def test_a_judge_needs_an_integration_visible_to_its_space(client: AsyncArizeClient) -> None:
    default_space = await client.spaces.get(client.space or "")
    other_space = await client.spaces.create(name="other", organization_id=default_space.organization_id)
    scoped = await client.ai_integrations.create(
        "elsewhere", provider="OPEN_AI", scopings=[{"space_id": other_space.id}]
    )
    for integration_id in (scoped.id, "TGxtSW50ZWdyYXRpb246OTk5OTphYmNk"):
        with pytest.raises(NotFoundError, match="LLM integration not found or not accessible to this space"):
            await client.request("POST", "/v2/evaluators", json_body=_judge_body(client.space or "", integration_id))
    created = await client.evaluators.create(_judge_body(other_space.id, scoped.id))
    assert created.space_id == other_space.id
    assert await _count_evaluators(client) == 0


async def test_evaluator_names_are_unique_within_a_space(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    await client.evaluators.create(_judge_body(client.space or "", integration_id, name="a"))
    with pytest.raises(ConflictError, match="already exists"):
        await client.evaluators.create(_judge_body(client.space or "", integration_id, name="a"))
    await client.evaluators.create(_judge_body(client.space or "", integration_id, name="b"))
    with pytest.raises(ConflictError):
        await client.evaluators.update("b", name="a")
    assert sorted([e.name async for e in client.evaluators.list()]) == ["a", "b"]


async def test_an_update_needs_a_field_and_cannot_null_the_name(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    created = await client.evaluators.create(_judge_body(client.space or "", integration_id))
    for body in ({}, {"name": None}, {"name": "ok", "type": "CODE"}):
        with pytest.raises(BadRequestError):
            await client.request("PATCH", f"/v2/evaluators/{created.id}", json_body=body)
    assert (await client.evaluators.get(created.id)).name == "Correctness"


async def test_the_list_puts_the_most_recently_updated_first_and_pages_through_all(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    ids = []
    for name in ("a", "b", "c"):
        ids.append((await client.evaluators.create(_judge_body(client.space or "", integration_id, name=name))).id)
    await client.evaluators.update("a", description="touched")
    walked = [e.name async for e in client.evaluators.list(limit=1)]
    assert walked[0] == "a" and sorted(walked) == ["a", "b", "c"]
    assert [e.name async for e in client.evaluators.list(name="B")] == ["b"]


async def _task_using(client: AsyncArizeClient, evaluator_id: str, *, version_id: str | None = None) -> str:
    project = await client.projects.create("shop")
    entry: dict[str, Any] = {"evaluator_id": evaluator_id, "column_mappings": {"input": "attributes.input.value"}}
    if version_id is not None:
        entry["evaluator_version_id"] = version_id
    body = {"name": "nightly", "type": "TEMPLATE_EVALUATION", "project_id": project.id, "evaluators": [entry]}
    task = await client.request("POST", "/v2/tasks", json_body=body)
    return str(task["id"])


async def test_an_evaluator_a_task_uses_cannot_be_deleted_and_the_409_names_the_task(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    created = await client.evaluators.create(_judge_body(client.space or "", integration_id))
    task_id = await _task_using(client, created.id)
    with pytest.raises(ConflictError, match="'nightly'"):
        await client.evaluators.delete(created.id)
    with pytest.raises(ConflictError, match="every version"):
        await client.evaluators.delete_versions(created.id, [created.version.id])  # type: ignore[union-attr]
    assert (await client.evaluators.get(created.id)).version is not None

    await client.request("DELETE", f"/v2/tasks/{task_id}")
    await client.evaluators.delete(created.id)
    assert await _count_evaluators(client) == 0


async def test_deleting_a_pinned_version_unpins_the_task(client: AsyncArizeClient) -> None:
    integration_id = await _integration(client)
    created = await client.evaluators.create(_judge_body(client.space or "", integration_id))
    first = created.version.id  # type: ignore[union-attr]
    await client.evaluators.create_version(created.id, _judge_body("", integration_id)["version"])
    task_id = await _task_using(client, created.id, version_id=first)
    result = await client.evaluators.delete_versions(created.id, [first])
    assert result.deleted_version_ids == [first]
    task = await client.request("GET", f"/v2/tasks/{task_id}")
    assert task["evaluators"][0]["evaluator_version_id"] is None


async def test_the_template_catalogue_is_served_whole(client: AsyncArizeClient) -> None:
    raw = await client.request("GET", "/v2/evaluator-templates")
    assert set(raw) == {"evaluator_templates"}
    served = await client.evaluators.list_templates()
    assert [t.column_name for t in served] == [t.column_name for t in evaluator_templates()]
    assert all(set(item) >= {"column_name", "rails", "classification_choices"} for item in raw["evaluator_templates"])
