"""Names on the engine: every create and update caps them at AX's 255 characters and refuses control characters.

Also: a run of a dataset experiment must answer an example of that dataset.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import BadRequestError

from .records_support import row_counts
from .tasks_setup import add_dataset, add_evaluator, span_task

TOO_LONG = "n" * 256
BAD_NAMES = [(TOO_LONG, "at most 255 characters"), ("\x00", "control characters"), ("tab\there", "control characters")]


async def _creates(client: AsyncArizeClient) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body without name, name field) of every request that names a resource."""
    spaces = await client.request("GET", "/v2/spaces")
    organization_id = spaces["spaces"][0]["organization_id"]
    project = await client.projects.create("chatbot")
    judge = await add_evaluator(client, "correctness")
    data = await add_dataset(client, "questions")
    integrations = await client.request("GET", "/v2/ai-integrations", params={"name": "openai"})
    integration_id = integrations["ai_integrations"][0]["id"]
    task = await client.request("POST", "/v2/tasks", json_body=span_task(project.id, judge.id))
    config = await client.request(
        "POST",
        "/v2/annotation-configs",
        json_body={"space_id": client.space, "name": "quality", "annotation_config_type": "FREEFORM"},
    )
    run = {"example_id": data.example_ids[0], "output": "x"}
    return [
        ("POST", "/v2/organizations", {}, "name"),
        ("PATCH", f"/v2/organizations/{organization_id}", {}, "name"),
        ("POST", "/v2/spaces", {"organization_id": organization_id}, "name"),
        ("PATCH", f"/v2/spaces/{client.space}", {}, "name"),
        ("POST", "/v2/projects", {"space_id": client.space}, "name"),
        ("POST", "/v2/datasets", {"space_id": client.space, "examples": [{"q": "1"}]}, "name"),
        ("PATCH", f"/v2/datasets/{data.id}", {}, "name"),
        ("POST", "/v2/experiments", {"dataset_id": data.id, "experiment_runs": [run]}, "name"),
        ("POST", "/v2/ai-integrations", {"provider": "OPEN_AI"}, "name"),
        ("PATCH", f"/v2/ai-integrations/{integration_id}", {}, "name"),
        ("POST", "/v2/annotation-configs", {"space_id": client.space, "annotation_config_type": "FREEFORM"}, "name"),
        ("PATCH", f"/v2/annotation-configs/{config['id']}", {"annotation_config_type": "FREEFORM"}, "name"),
        ("PATCH", f"/v2/evaluators/{judge.id}", {}, "name"),
        ("POST", "/v2/tasks", {k: v for k, v in span_task(project.id, judge.id).items() if k != "name"}, "name"),
        ("PATCH", f"/v2/tasks/{task['id']}", {}, "name"),
    ]


async def test_a_name_over_255_characters_or_with_a_control_character_is_refused_by_every_create_and_update(
    client: AsyncArizeClient, engine: Engine
) -> None:
    requests = await _creates(client)
    before = await row_counts(engine)
    for method, path, body, field in requests:
        for name, reason in BAD_NAMES:
            with pytest.raises(BadRequestError, match=rf"{field}: .*{re.escape(reason)}"):
                await client.request(method, path, json_body={**body, field: name})
    assert await row_counts(engine) == before


async def test_a_megabyte_task_name_is_refused_and_no_task_is_stored(client: AsyncArizeClient) -> None:
    project = await client.projects.create("chatbot")
    judge = await add_evaluator(client, "correctness")
    with pytest.raises(BadRequestError, match=r"name: String should have at most 255 characters"):
        await client.request("POST", "/v2/tasks", json_body=span_task(project.id, judge.id, name="t" * 1_000_000))
    assert [t.name async for t in client.tasks.list()] == []


async def test_a_dataset_named_only_a_nul_byte_is_refused_naming_the_character(client: AsyncArizeClient) -> None:
    with pytest.raises(
        BadRequestError, match=r"name: must not contain control characters \(found U\+0000 at position 0\)"
    ):
        await client.request(
            "POST", "/v2/datasets", json_body={"name": "\x00", "space_id": client.space, "examples": [{"q": "1"}]}
        )
    assert [d.name async for d in client.datasets.list()] == []


async def test_a_name_of_exactly_255_printable_characters_is_accepted(client: AsyncArizeClient) -> None:
    name = "é" + "n" * 254
    created = await client.request("POST", "/v2/projects", json_body={"name": name, "space_id": client.space})
    assert created["name"] == name


async def test_an_evaluator_named_with_a_newline_is_refused(client: AsyncArizeClient) -> None:
    with pytest.raises(BadRequestError, match="name"):
        await add_evaluator(client, "two\nlines")


async def test_an_experiment_run_whose_example_is_not_in_the_dataset_is_refused_naming_the_row_and_nothing_is_stored(
    client: AsyncArizeClient, engine: Engine
) -> None:
    data = await add_dataset(client, "questions", experiments=0)
    other = await add_dataset(client, "other", experiments=0)
    runs = [{"example_id": e, "output": "x"} for e in data.example_ids]
    runs.insert(2, {"example_id": other.example_ids[0], "output": "from another dataset"})
    before = await row_counts(engine)
    detail = rf"experiment_runs\[2\]\.example_id '{re.escape(other.example_ids[0])}' is not an example of this dataset"
    with pytest.raises(BadRequestError, match=detail):
        await client.request(
            "POST", "/v2/experiments", json_body={"name": "mixed", "dataset_id": data.id, "experiment_runs": runs}
        )
    assert await row_counts(engine) == before
    assert [e.name async for e in client.experiments.list(dataset="questions")] == []


async def test_appending_a_run_for_an_unknown_example_is_refused_naming_the_row_and_nothing_is_stored(
    client: AsyncArizeClient, engine: Engine
) -> None:
    data = await add_dataset(client, "questions")
    path = f"/v2/experiments/{data.experiment_ids[0]}/runs"
    before = await row_counts(engine)
    runs = [{"example_id": data.example_ids[0], "output": "ok"}, {"example_id": "no-such-example", "output": "x"}]
    with pytest.raises(BadRequestError, match=re.escape("experiment_runs[1].example_id 'no-such-example' is not")):
        await client.request("POST", path, json_body={"experiment_runs": runs})
    assert await row_counts(engine) == before
    listed = await client.request("GET", path)
    assert len(listed["experiment_runs"]) == len(data.example_ids)
