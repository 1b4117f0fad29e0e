"""What task tests stand on: a project, datasets with experiments, evaluators and an AI integration.

Everything is made through the API, as a user would make it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arize_skills.client import AsyncArizeClient


@dataclass
class Evaluator:
    """A stored evaluator and its versions (oldest first)."""

    id: str
    name: str
    version_ids: list[str] = field(default_factory=list)


@dataclass
class DatasetInfo:
    """A dataset with its example IDs, its latest version and its experiments."""

    id: str
    name: str
    version_id: str
    example_ids: list[str]
    experiment_ids: list[str]


async def add_ai_integration(client: AsyncArizeClient, name: str = "openai") -> str:
    """An account-wide AI integration (no key: nothing here calls a model); returns its ID."""
    found = await client.request("GET", "/v2/ai-integrations", params={"name": name})
    for item in found["ai_integrations"]:
        if item["name"] == name:
            return str(item["id"])
    body = {"name": name, "provider": "OPEN_AI", "model_names": ["gpt-4o"]}
    created = await client.request("POST", "/v2/ai-integrations", json_body=body)
    return str(created["id"])


def _version(kind: str, name: str, number: int, integration_id: str, granularity: str | None) -> dict[str, Any]:
    column = name.replace("-", "_")
    config: dict[str, Any]
    if kind == "CODE":
        config = {
            "type": "MANAGED",
            "name": column,
            "managed_evaluator": "JSON_PARSEABLE",
            "variables": ["attributes.output.value"],
        }
        if granularity is not None:
            config["data_granularity"] = granularity
        return {"commit_message": f"v{number}", "code_config": config}
    config = {
        "name": column,
        "template": "Is {output} an answer to {input}? Reply correct or incorrect.",
        "include_explanations": True,
        "use_function_calling": True,
        "classification_choices": {"correct": 1, "incorrect": 0},
        "llm_config": {
            "ai_integration_id": integration_id,
            "model_name": "gpt-4o",
            "invocation_parameters": {},
            "provider_parameters": {},
        },
    }
    if granularity is not None:
        config["data_granularity"] = granularity
    return {"commit_message": f"v{number}", "template_config": config}


async def add_evaluator(
    client: AsyncArizeClient,
    name: str,
    *,
    kind: str = "TEMPLATE",
    granularity: str | None = None,
    versions: int = 1,
    space: str | None = None,
) -> Evaluator:
    """An evaluator of ``kind`` (TEMPLATE or CODE) with ``versions`` versions of this data granularity."""
    integration_id = await add_ai_integration(client)
    created = await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": space or client.space,
            "name": name,
            "type": kind,
            "version": _version(kind, name, 1, integration_id, granularity),
        },
    )
    made = Evaluator(created["id"], name, [created["version"]["id"]])
    for number in range(2, versions + 1):
        version = await client.request(
            "POST",
            f"/v2/evaluators/{made.id}/versions",
            json_body=_version(kind, name, number, integration_id, granularity),
        )
        made.version_ids.append(version["id"])
    return made


async def add_dataset(client: AsyncArizeClient, name: str, *, experiments: int = 1) -> DatasetInfo:
    """A dataset of three examples with ``experiments`` experiments over them, through the API."""
    created = await client.request(
        "POST",
        "/v2/datasets",
        json_body={
            "name": name,
            "space_id": client.space,
            "examples": [{"question": f"q{i}", "topic": "math" if i else "art"} for i in range(3)],
        },
    )
    dataset_id = created["id"]
    detail = await client.request("GET", f"/v2/datasets/{dataset_id}")
    examples = await client.request("GET", f"/v2/datasets/{dataset_id}/examples")
    example_ids = [e["id"] for e in examples["examples"]]
    experiment_ids = []
    for number in range(experiments):
        experiment = await client.request(
            "POST",
            "/v2/experiments",
            json_body={
                "name": f"{name}-exp{number}",
                "dataset_id": dataset_id,
                "experiment_runs": [{"example_id": e, "output": "answer"} for e in example_ids],
            },
        )
        experiment_ids.append(experiment["id"])
    return DatasetInfo(dataset_id, name, detail["versions"][0]["id"], example_ids, experiment_ids)


async def add_space(client: AsyncArizeClient, name: str) -> str:
    """A second space in the default organization; returns its ID."""
    spaces = await client.request("GET", "/v2/spaces")
    organization_id = spaces["spaces"][0]["organization_id"]
    created = await client.request("POST", "/v2/spaces", json_body={"name": name, "organization_id": organization_id})
    return str(created["id"])


def span_task(project_id: str, evaluator_id: str, name: str = "hallucination", **extra: Any) -> dict[str, Any]:
    """A valid body for a project (span-shape) template-evaluation task."""
    body: dict[str, Any] = {
        "name": name,
        "type": "TEMPLATE_EVALUATION",
        "project_id": project_id,
        "evaluators": [
            {
                "evaluator_id": evaluator_id,
                "column_mappings": {"input": "attributes.input.value", "output": "attributes.output.value"},
            }
        ],
    }
    body.update(extra)
    return body


def llm_generation(ai_integration_id: str, **extra: Any) -> dict[str, Any]:
    """A valid ``LLM_GENERATION`` run configuration."""
    config: dict[str, Any] = {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": ai_integration_id,
        "model_name": "gpt-4o",
        "messages": [{"role": "USER", "content": "Answer: {question}"}],
        "input_variable_format": "F_STRING",
    }
    config.update(extra)
    return config
